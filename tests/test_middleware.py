"""The render probe's judgement: did the browser bring data the static page lacked?"""

from __future__ import annotations

from crawler.crawl.middleware import ScrapecSpiderMiddleware
from crawler.runtime import PageOutcome

ITEM = {"title": "Senior Data Engineer", "company": "Acme", "location": "London"}
SHELL = (
    b"<html><body><header>Acme Careers</header><nav><a>London</a> <a>Leeds</a> "
    b"<a>Full-time</a></nav><div id='app'>Loading\xe2\x80\xa6</div>"
    b"<script>render({title: 'Senior Data Engineer'})</script></body></html>"
)
OLD_LAYOUT = (
    b"<html><body><div class='job'><h1>Senior Data Engineer</h1><p>Acme</p><p>London</p>"
    b"</div></body></html>"
)


def outcome() -> PageOutcome:
    return PageOutcome("http://jobs.test/1", "jobs.test/job", "ok", dict(ITEM), 1)


def test_a_javascript_shell_whose_menu_names_a_city_still_needs_the_browser() -> None:
    static = (SHELL, "utf-8", None)
    assert not ScrapecSpiderMiddleware._static_shows(static, outcome())


def test_a_static_page_that_shows_the_data_does_not_need_the_browser() -> None:
    # parsed with a parser for another layout (the site changed between the two fetches)
    static = (OLD_LAYOUT, "utf-8", {"title": None, "company": None})
    assert ScrapecSpiderMiddleware._static_shows(static, outcome())
    # the static parse already had everything: the browser added nothing
    assert ScrapecSpiderMiddleware._static_shows((SHELL, "utf-8", dict(ITEM)), outcome())


def test_a_probe_held_to_wait_for_a_regeneration_is_no_evidence_against_rendering() -> None:
    """The render probe counts a rendered page against rendering only when a parser judged it:
    a page held because its template is being regenerated (or is new) was not parsed."""
    from crawler.crawl.middleware import _waiting
    from crawler.pages import PageStatus
    from crawler.runtime import PageOutcome

    def held(reason: str) -> PageOutcome:
        return PageOutcome("http://a.test/1", "a.test/x", PageStatus.HELD, errors=[reason])

    assert _waiting(held("template is being regenerated"))
    assert _waiting(held("template is being regenerated after value drift"))
    assert _waiting(held("new template: waiting for enough pages to compile it"))
    assert not _waiting(held("name: 'name' is a required property ($)"))
    ok = PageOutcome("http://a.test/1", "a.test/x", PageStatus.OK, errors=[])
    assert not _waiting(ok)
