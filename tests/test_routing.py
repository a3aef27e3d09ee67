from __future__ import annotations

from pathlib import Path

import pytest

from crawler.exceptions import RoutingError
from crawler.extract import read_html_file
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.routing import fingerprint, learn_url_pattern, reference_fingerprint, similarity

PARSER = '"""t"""\nfrom crawler.parsing import Page, text\n\n\ndef parse(page: Page) -> dict:\n    return {"title": text(page.css("title"))}\n'


def test_learn_url_pattern() -> None:
    import re

    pattern = learn_url_pattern(["http://a.test/p/1.html", "http://a.test/p/22.html"])
    assert pattern is not None
    assert re.match(pattern, "a.test/p/333.html")
    assert not re.match(pattern, "a.test/list/3.html")
    varied = learn_url_pattern(
        ["http://www.c.test/x-y/z/978/pd/1", "http://www.c.test/q/978/pd/22"]
    )
    assert varied is not None and re.match(varied, "c.test/a/b/c/1/pd/5")


def _pages(site_dir: Path, count: int) -> list[Page]:
    return [Page(*read_html_file(f)) for f in sorted(site_dir.glob("*.htm"))[:count]]


def test_swde_sites_route_by_layout_alone(swde: Path, tmp_path: Path) -> None:
    """With no URL patterns, every page of a site lands on its own template, never the other's."""
    reg = Registry(tmp_path)
    sites = sorted(p for p in (swde / "book").iterdir() if p.is_dir())
    pages = {site.name: _pages(site, 40) for site in sites}
    for name, site_pages in pages.items():
        reg.publish(
            f"{name}/book",
            PARSER,
            schema="book",
            generator="manual",
            reason="t",
            layout=reference_fingerprint(fingerprint(p) for p in site_pages[:3]),
        )
    for name, site_pages in pages.items():
        for page in site_pages[3:]:
            route = reg.route("", None, page)
            assert route.template == f"{name}/book", page.url
            assert route.by == "layout" and route.similarity is not None and route.similarity > 0.7
    a, b = (pages[s.name][5] for s in sites)
    assert similarity(fingerprint(a), fingerprint(b)) < 0.2


def test_unknown_page_is_not_routed(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.publish(
        "a.test/x",
        PARSER,
        schema="book",
        generator="manual",
        reason="t",
        layout=frozenset({".nav", ".product", "#main"}),
        url_pattern=r"^a\.test/p/\d+$",
    )
    assert reg.route("http://a.test/p/12", None).template == "a.test/x"
    with pytest.raises(RoutingError, match="no template fits"):
        reg.route("http://b.test/other", None, Page('<div class="zzz"></div>'))
