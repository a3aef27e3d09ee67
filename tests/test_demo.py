from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from jsonschema import Draft202012Validator

from crawler.demo.export import export_fixtures
from crawler.demo.server import DemoServer
from crawler.demo.site import DEFAULT_BASE_URL, JS_RENDERED, REDESIGNED, TEMPLATES, DemoSite
from crawler.fixtures import load_fixtures

ROOT = Path(__file__).resolve().parent.parent
SHOP, JOBS, NEWS = "shop.demo/product", "jobs.demo/job", "news.demo/article"


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return DemoSite(seed=7)


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    return {
        name: json.loads((ROOT / "schemas" / f"{name}.json").read_text("utf-8"))
        for name in set(TEMPLATES.values())
    }


def fold(value: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(value)).strip()


def tree(body: bytes | str) -> Any:
    """The lxml tree of a page (typed Any: lxml-stubs type xpath results too widely for tests)."""
    return lxml.html.fromstring(body)


def visible_text(body: bytes | str) -> str:
    """The text a reader sees: body text without scripts, styles and noscript, folded."""
    root = tree(body)
    parts = root.xpath(
        "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"
    )
    return fold(" ".join(str(p) for p in parts))


def classes(body: bytes) -> set[str]:
    root = tree(body)
    return {c for value in root.xpath("//@class") for c in str(value).split()}


def links(body: bytes, base: str) -> tuple[set[str], set[str]]:
    """(paths of a[href], paths of img[src]) on a page, same-site only, fragments dropped."""
    root = tree(body)
    found: tuple[set[str], set[str]] = (set(), set())
    for bucket, query in ((0, "//a/@href"), (1, "//img/@src")):
        for value in root.xpath(query):
            absolute = urljoin(base, str(value))
            if absolute.startswith(DEFAULT_BASE_URL + "/"):
                found[bucket].add(urlsplit(absolute).path)
    return found


def body_of(site: DemoSite, path: str) -> bytes:
    status, ctype, body = site.render(path)
    assert status == 200, path
    assert ctype.startswith("text/html"), path
    return body


# ---------------------------------------------------------------------------------- the site


def test_templates_and_page_counts(site: DemoSite) -> None:
    assert site.templates() == {SHOP: "product", JOBS: "job_posting", NEWS: "article"}
    counts = {t: len(site.detail_paths(t)) for t in TEMPLATES}
    assert counts == {SHOP: 120, JOBS: 90, NEWS: 90}
    paths = site.all_paths()
    assert len(paths) == len(set(paths)) > 300
    assert paths[0] == "/"
    assert {p.split("/")[1] for p in paths if p != "/"} == {"shop", "jobs", "news"}
    with pytest.raises(ValueError, match="unknown demo template 'shop.demo/nope'"):
        site.detail_paths("shop.demo/nope")


def test_truth_validates_against_the_schemas(
    site: DemoSite, schemas: dict[str, dict[str, Any]]
) -> None:
    for template, schema_name in TEMPLATES.items():
        validator = Draft202012Validator(schemas[schema_name])
        for path in site.detail_paths(template):
            truth = site.truth(path)
            assert truth is not None
            assert truth[0] == template
            errors = [e.message for e in validator.iter_errors(truth[1])]
            assert not errors, (path, errors)
            assert site.truth(DEFAULT_BASE_URL + path + "?utm=x#top") == truth
    assert site.truth("/") is None
    assert site.truth("/shop/page/1.html") is None
    assert site.truth("/shop/product/999.html") is None


def test_items_vary_like_real_data(site: DemoSite) -> None:
    products = [site.truth(p)[1] for p in site.detail_paths(SHOP)]  # type: ignore[index]
    jobs = [site.truth(p)[1] for p in site.detail_paths(JOBS)]  # type: ignore[index]
    articles = [site.truth(p)[1] for p in site.detail_paths(NEWS)]  # type: ignore[index]
    assert len({p["name"] for p in products}) == len({p["sku"] for p in products}) == 120
    assert any("rating" not in p for p in products) and any("rating" in p for p in products)
    assert any(p["price"] >= 1000 for p in products)
    assert len({p["availability"] for p in products}) >= 4
    assert any("salary_min" not in j for j in jobs)
    assert len({j["employment_type"] for j in jobs}) >= 4
    assert any(len(a["author"]) == 2 for a in articles)
    assert len({a["headline"] for a in articles}) == 90
    assert all(a["image"].startswith(DEFAULT_BASE_URL + "/news/img/") for a in articles)
    assert all(p["image"].startswith(DEFAULT_BASE_URL + "/shop/img/") for p in products)


@pytest.mark.parametrize("redesign", [False, True], ids=["classic", "redesign"])
def test_values_occur_in_the_visible_text(
    redesign: bool, schemas: dict[str, dict[str, Any]]
) -> None:
    site = DemoSite(seed=7, redesign=redesign)
    for template in (SHOP, NEWS):
        schema = schemas[TEMPLATES[template]]
        for path in site.detail_paths(template):
            text = visible_text(body_of(site, path))
            truth = site.truth(path)
            assert truth is not None
            for name, value in truth[1].items():
                if schema["properties"][name].get("x-derived"):
                    continue
                for one in value if isinstance(value, list) else [value]:
                    if isinstance(one, str):
                        assert fold(one) in text, (path, name, one)
            if template == SHOP:
                assert f"£{truth[1]['price']:,.2f}" in text, path
                if "rating" in truth[1]:
                    rating = re.escape(str(truth[1]["rating"]))
                    assert re.search(rf"{rating} ?(/5|out of 5)", text), path


def test_job_pages_are_built_by_javascript(site: DemoSite) -> None:
    for path in site.detail_paths(JOBS):
        truth = site.truth(path)
        assert truth is not None
        item = truth[1]
        static = body_of(site, path)
        source = static.decode("utf-8")
        shown = visible_text(static)
        for name in ("title", "company", "location", "description"):
            assert fold(item[name]) not in shown, (path, name)
        for tag in ("<h1", "<dl", "<dt", "<dd", 'job-description">'):
            assert tag not in source, (path, tag)
        assert 'id="job-root"' in source and "document.createElement" in source
        assert "innerHTML" in source and f'"title": {json.dumps(item["title"])}' in source

        status, _, dom = site.render_dom(path)
        assert status == 200
        text = visible_text(dom)
        for name in ("title", "company", "location", "employment_type", "description"):
            assert fold(item[name]) in text, (path, name)
        day = int(item["date_posted"][-2:])
        assert re.search(rf"Posted {day} [A-Z][a-z]+ {item['date_posted'][:4]}", text), path
        if "salary_min" in item:
            low = item["salary_min"]
            shown_low = f"£{low:,.2f}" if isinstance(low, float) else f"£{low:,}"
            assert shown_low in text, path
        assert "Location:" in text and "Salary:" in text


def test_structured_data(site: DemoSite) -> None:
    with_ld = 0
    for path in site.detail_paths(SHOP):
        root = tree(body_of(site, path))
        scripts = root.xpath('//script[@type="application/ld+json"]/text()')
        if not scripts:
            continue
        with_ld += 1
        data = json.loads(scripts[0])
        truth = site.truth(path)
        assert truth is not None
        item = truth[1]
        assert (data["@type"], data["name"], data["sku"]) == ("Product", item["name"], item["sku"])
        assert float(data["offers"]["price"]) == item["price"]
        assert data["offers"]["priceCurrency"] == item["currency"]
        assert data["image"] == item["image"]
    assert 0.35 * 120 <= with_ld <= 0.65 * 120
    for path in site.detail_paths(NEWS):
        root = tree(body_of(site, path))
        (raw,) = root.xpath('//script[@type="application/ld+json"]/text()')
        data = json.loads(raw)
        truth = site.truth(path)
        assert truth is not None
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == truth[1]["headline"]
        assert [a["name"] for a in data["author"]] == truth[1]["author"]
        assert data["datePublished"] == truth[1]["date_published"]
        assert root.xpath("//time/@datetime")[0] == truth[1]["date_published"]
        assert root.xpath('//*[@itemprop="headline"]')
    for path in site.detail_paths(JOBS):
        assert b"application/ld+json" not in body_of(site, path)


def test_redesign_changes_markup_but_not_data() -> None:
    site = DemoSite(seed=7)
    paths = site.detail_paths(SHOP)
    before = {p: (body_of(site, p), site.truth(p)) for p in paths}
    listing_before = body_of(site, "/shop/page/1.html")
    other_before = {p: body_of(site, p) for p in (site.detail_paths(NEWS)[0], "/jobs/page/1.html")}
    site.redesign = True
    assert site.detail_paths(SHOP) == paths
    for path in paths:
        old_body, old_truth = before[path]
        new_body = body_of(site, path)
        assert site.truth(path) == old_truth
        old, new = classes(old_body), classes(new_body)
        assert len(old & new) / len(old | new) < 0.2, (path, old & new)
        old_ids = set(tree(old_body).xpath("//@id"))
        assert not old_ids & set(tree(new_body).xpath("//@id"))
    new_listing = body_of(site, "/shop/page/1.html")
    assert len(classes(listing_before) & classes(new_listing)) <= 2
    for path, body in other_before.items():
        assert body_of(site, path) == body  # only the shop is redesigned
    assert REDESIGNED == {SHOP}
    site.redesign = False
    assert body_of(site, paths[0]) == before[paths[0]][0]


@pytest.mark.parametrize("redesign", [False, True], ids=["classic", "redesign"])
def test_every_page_is_reachable_from_home_and_no_link_is_broken(redesign: bool) -> None:
    site = DemoSite(seed=7, redesign=redesign)
    seen = {"/"}
    queue = deque(["/"])
    images: set[str] = set()
    while queue:
        path = queue.popleft()
        hrefs, srcs = links(body_of(site, path), DEFAULT_BASE_URL + path)
        images |= srcs
        for href in hrefs - seen:
            seen.add(href)
            queue.append(href)
    assert seen == set(site.all_paths())
    for src in images:
        status, ctype, body = site.render(src)
        assert (status, ctype) == (200, "image/png") and body.startswith(b"\x89PNG"), src
    # listings alone link every detail page (not only via "related" blocks)
    from_listings: set[str] = set()
    for path in site.listing_paths():
        from_listings |= links(body_of(site, path), DEFAULT_BASE_URL + path)[0]
    for template in TEMPLATES:
        assert set(site.detail_paths(template)) <= from_listings


def test_generation_is_deterministic(site: DemoSite) -> None:
    again = DemoSite(seed=7)
    sample = site.all_paths()[::9]
    assert [site.render(p) for p in sample] == [again.render(p) for p in sample]
    other = DemoSite(seed=8)
    assert other.render("/shop/product/1.html") != site.render("/shop/product/1.html")


def test_unknown_paths_are_404(site: DemoSite) -> None:
    for path in ("/nope", "/shop/product/0.html", "/shop/page/99.html", "/jobs/job/1.html"):
        status, ctype, body = site.render(path)
        assert status == 404 and ctype.startswith("text/html") and b"Page not found" in body


# -------------------------------------------------------------------------------- the server


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def post(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def test_server_serves_over_http_and_flips_the_redesign() -> None:
    site = DemoSite(seed=7)
    with DemoServer(site) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        assert site.base_url == server.base_url
        status, ctype, body = get(server.base_url + "/")
        assert status == 200 and ctype.startswith("text/html") and b"/shop/page/1.html" in body
        path = site.detail_paths(SHOP)[0]
        assert get(server.url(path))[2] == site.render(path)[2]
        truth = site.truth(server.url(path))
        assert truth is not None and truth[1]["image"].startswith(server.base_url + "/")
        assert get(server.url("/shop/img/1.png"))[1] == "image/png"
        with pytest.raises(HTTPError) as info:
            get(server.url("/missing.html"))
        assert info.value.code == 404
        info.value.close()

        assert post(server.url("/admin/redesign?on=1"))["redesign"] is True
        assert site.redesign is True
        assert b'class="pdp-name"' in get(server.url(path))[2]
        assert json.loads(get(server.url("/admin/redesign"))[2])["redesign"] is True
        assert post(server.url("/admin/redesign?on=0"))["redesign"] is False
        assert b'<div class="product-main">' in get(server.url(path))[2]
        with pytest.raises(HTTPError) as info:
            post(server.url("/admin/redesign?on=maybe"))
        assert info.value.code == 400
        info.value.close()
        base = server.base_url
    with pytest.raises(URLError):
        get(base + "/")
    with pytest.raises(ValueError, match="only binds 127.0.0.1"):
        DemoServer(site, host="0.0.0.0")


def test_server_command_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo.server", "--port", str(port), "--redesign"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line
        assert b'class="pdp-name"' in get(f"http://127.0.0.1:{port}/shop/product/1.html")[2]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert err == ""  # quiet: no log line per request


# -------------------------------------------------------------------------------- the export


def test_export_writes_valid_fixtures(tmp_path: Path, schemas: dict[str, dict[str, Any]]) -> None:
    site = DemoSite(seed=7)
    cases = export_fixtures(tmp_path / "v1", per_template=2)
    assert [c.relative_to(tmp_path / "v1").as_posix() for c in cases] == [
        f"{t}/case-0{n}" for t in TEMPLATES for n in (1, 2)
    ]
    fixtures = load_fixtures(tmp_path / "v1")
    assert len(fixtures) == 6
    for fixture in fixtures:
        path = urlsplit(fixture.url).path
        assert fixture.url == DEFAULT_BASE_URL + path
        assert fixture.schema == TEMPLATES[fixture.template]
        assert site.truth(path) == (fixture.template, fixture.expected)
        assert (fixture.path / "page.html").read_bytes() == site.render(path)[2]
        assert not list(Draft202012Validator(schemas[fixture.schema]).iter_errors(fixture.expected))
        raw = (fixture.path / "expected.json").read_text("utf-8")
        assert (
            raw == json.dumps(fixture.expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )

    redesigned = export_fixtures(tmp_path / "v2", per_template=2, redesign=True)
    assert [c.relative_to(tmp_path / "v2").as_posix() for c in redesigned] == [
        f"{SHOP}/case-01",
        f"{SHOP}/case-02",
    ]
    for case in redesigned:
        twin = tmp_path / "v1" / case.relative_to(tmp_path / "v2")
        assert (case / "expected.json").read_bytes() == (twin / "expected.json").read_bytes()
        assert (case / "meta.json").read_bytes() == (twin / "meta.json").read_bytes()
        assert b'class="pdp-name"' in (case / "page.html").read_bytes()

    rendered = export_fixtures(tmp_path / "dom", per_template=1, templates=[JOBS], rendered=True)
    assert JOBS in JS_RENDERED
    assert b'<h1 class="job-title">' in (rendered[0] / "page.html").read_bytes()
    with pytest.raises(ValueError, match="unknown demo templates"):
        export_fixtures(tmp_path / "x", templates=["nope/nope"])


def test_committed_fixtures_match_the_generator(tmp_path: Path) -> None:
    # the JavaScript site's fixtures are its pages as a browser shows them (what parsers read)
    export_fixtures(tmp_path, per_template=3, rendered=True)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(fresh) == 3 * 3 * len(TEMPLATES)
    for rel in fresh:
        committed = ROOT / "fixtures" / rel
        assert committed.is_file(), (
            f"{committed} missing: run python -m crawler.demo.export fixtures --rendered"
        )
        assert committed.read_bytes() == (tmp_path / rel).read_bytes(), (
            f"{committed} is stale: run python -m crawler.demo.export fixtures --rendered"
        )


# ------------------------------------------------------------------------------- the browser


@pytest.mark.browser
def test_browser_builds_the_job_page_like_render_dom() -> None:
    chromium = os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.exists(chromium) or shutil.which("chromium")):
        pytest.skip("chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    site = DemoSite(seed=7)
    paths = site.detail_paths(JOBS)[:2]
    with DemoServer(site) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            headless=True, executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            for path in paths:
                page.goto(server.url(path), wait_until="load")
                page.wait_for_selector('#job-root[data-state="ready"]', timeout=10_000)
                got = fold(page.inner_text("#job-root"))
                title = page.title()
                dom = tree(site.render_dom(path)[2])
                (root,) = dom.xpath('//*[@id="job-root"]')
                want = fold(" ".join(root.itertext()))
                assert fold(got.replace("\n", " ")) == want
                assert title == fold(dom.findtext(".//title") or "")
                truth = site.truth(path)
                assert truth is not None and fold(truth[1]["description"]) in want
        finally:
            browser.close()
