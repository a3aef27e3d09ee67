"""`scrapec report`: statuses with evidence, the run history it learns from and adds to, the
HTML page in real Chromium, exit codes, --notify, --regenerate, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import product_item, product_page, run_cli, write_fixtures

from crawler.compiler import compile_template
from crawler.runs import RunHistory, record_run, runs_path
from crawler.runtime import Runtime

GOOD, HEALED, BROKEN = "good.test/product", "healed.test/product", "broken.test/product"
SCHEMA = json.loads((Path(__file__).parent.parent / "crawler" / "report_schema.json").read_text())


def url(template: str, i: int) -> str:
    return f"http://{template.split('/')[0]}/p/{i}.html"


def fixtures_for(root: Path, templates: tuple[str, ...]) -> Path:
    for template in templates:
        write_fixtures(root, template, range(1, 4))
        host = template.split("/")[0]
        for case in (root / template).iterdir():
            for name in ("meta.json", "expected.json"):
                path = case / name
                path.write_text(path.read_text().replace("http://shop.test", f"http://{host}"))
    return root


def heal(reg: Path, fx: Path, template: str, pages: range = range(40, 46)) -> None:
    """A run that sees the site redesigned (layout a, then b): repaired from history, recorded
    in the run history through the public API."""
    started = time.time()
    rt = Runtime(reg, fixtures_dir=fx)
    outcomes = []
    try:
        for i in pages:
            outcomes.append(rt.process(product_page(i), url(template, i), template=template))
        for i in pages:
            outcomes.append(rt.process(product_page(i, "b"), url(template, i), template=template))
        outcomes += rt.flush()
    finally:
        rt.close()
    assert rt.stats["regenerated/repair"] == 1, dict(rt.stats)
    record_run(reg, "extract", started=started, outcomes=outcomes, stats=rt.stats)


def layout_c(i: int) -> str:
    """A third redesign: nothing of the data where either parser looks."""
    return (
        f"<html><body><article><p>Item number {i}</p><em>costs {i}.00</em></article></body></html>"
    )


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry of one healthy, one healed and one broken template, built through the
    compiler and the runtime; sample pages of the broken one in a third layout."""
    root = tmp_path_factory.mktemp("three")
    fx = fixtures_for(root / "fx", (GOOD, HEALED, BROKEN))
    compile_template(fx, "product", root / "reg", generator="induce", progress=None)
    heal(root / "reg", fx, HEALED)
    heal(root / "reg", fx, BROKEN)
    samples = root / "samples" / BROKEN
    samples.mkdir(parents=True)
    for i in range(70, 75):
        (samples / f"p{i}.html").write_text(layout_c(i))
        (samples / f"p{i}.json").write_text(json.dumps({"url": url(BROKEN, i)}))
    good = root / "samples" / GOOD
    good.mkdir(parents=True)
    for i in range(80, 84):
        (good / f"p{i}.html").write_text(product_page(i))
        (good / f"p{i}.json").write_text(json.dumps({"url": url(GOOD, i)}))
    return root


def copy_of(three: Path, tmp_path: Path) -> Path:
    shutil.copytree(three, tmp_path / "w")
    return tmp_path / "w"


def report(root: Path, out: str = "out", *extra: str) -> tuple[Any, dict[str, Any]]:
    proc = run_cli(
        "report",
        "--registry",
        str(root / "reg"),
        "--out",
        str(root / out),
        "--fixtures",
        str(root / "fx"),
        "--samples",
        str(root / "samples"),
        *extra,
    )
    path = root / out / "report.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return proc, data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["template"]: t for t in data["templates"]}


def test_healthy_healed_broken_exit_1_and_the_next_report_compares(
    three: Path, tmp_path: Path
) -> None:
    root = copy_of(three, tmp_path)
    proc, data = report(root)
    assert proc.returncode == 1, proc.stderr
    jsonschema.validate(data, SCHEMA)
    t = by_name(data)
    assert {n: e["status"] for n, e in t.items()} == {
        GOOD: "healthy",
        HEALED: "healed",
        BROKEN: "broken",
    }
    assert data["summary"]["by_status"] == {"healthy": 1, "healed": 1, "drifting": 0, "broken": 1}
    assert data["summary"]["regenerations_by_tier"] == {"repair": 2}
    assert data["exit_code"] == 1
    # evidence: the broken template's pages fail, its fixtures pass, its versions differ
    broken = t[BROKEN]
    assert broken["evidence"][0] == "sample pages: 0/5 give a valid item"
    assert broken["fixtures"]["passed"] == broken["fixtures"]["total"] == 3
    assert broken["diff"]["from"] == 1 and broken["diff"]["to"] == 2
    assert any(line.startswith("+") for line in broken["diff"]["lines"][2:])
    assert broken["samples"]["failures"][0].startswith(url(BROKEN, 70))
    assert t[HEALED]["evidence"][0].startswith("healed: v2 by repair")
    assert t[GOOD]["samples"] == {**t[GOOD]["samples"], "checked": 4, "valid": 4}
    # the crawl figures recorded by the heal runs
    latest = t[HEALED]["history"]["latest"]
    assert latest["kind"] == "extract" and latest["regenerations"] == {"repair": 1}
    assert latest["items"] == 12 and latest["released"] == 3 and latest["held"] == 3
    assert latest["drift"]["failure"] == 1 and latest["fill"]["sku"] == 1.0
    assert data["summary"]["changes"] == ["first report: nothing to compare with"]
    summary = (root / "out" / "summary.md").read_text()
    assert 5 <= len(summary.splitlines()) <= 12 and "ALERT" in summary and BROKEN in summary
    html = (root / "out" / "report.html").read_text()
    assert "<script src" not in html and "http://" not in html.split("<body>")[0]

    # the next report reads this one from the history: statuses compared, layout learnt
    proc, again = report(root, "out2")
    assert proc.returncode == 1
    t2 = by_name(again)
    assert {n: e["previous_status"] for n, e in t2.items()} == {
        GOOD: "healthy",
        HEALED: "healed",
        BROKEN: "broken",
    }
    assert again["summary"]["changes"] == [
        f"no status changed since the last report ({again['summary']['last_report']})"
    ]
    assert len(t2[GOOD]["history"]["layout_series"]) == 2
    history = RunHistory(runs_path(root / "reg"))
    try:
        kinds = [r.kind for r in history.runs()]
    finally:
        history.close()
    assert kinds == ["extract", "extract", "report", "report"]


def test_fill_rate_bands_are_learnt_from_past_runs(three: Path, tmp_path: Path) -> None:
    """A field whose fill rate falls below mean - 3·stddev of its past runs makes the template
    drifting; the same rate in a history where it always wobbled does not."""
    root = copy_of(three, tmp_path)
    reg = root / "reg"

    def crawl_run(brand_every: int, count: int = 10, at: float | None = None) -> None:
        items = []
        for i in range(count):
            item = {**product_item(i), "_template": GOOD}
            if i % brand_every:
                item["brand"] = None
            items.append(item)
        start = at if at is not None else time.time()
        record_run(reg, "crawl", started=start, finished=start + 1, items=items)

    now = time.time()
    for night in range(6):
        crawl_run(1, at=now - (7 - night) * 3600)  # brand always filled
    crawl_run(5)  # brand on 2 items of 10
    proc, data = report(root)
    good = by_name(data)[GOOD]
    assert good["status"] == "drifting", good
    assert good["evidence"][0].startswith("fill rate of 'brand': 20% in the latest crawl")
    assert good["history"]["bands"]["brand"]["n"] == 7
    assert good["history"]["latest"]["fill"]["brand"] == 0.2

    noisy = copy_of(three, tmp_path / "noisy")
    reg = noisy / "reg"
    for night in range(6):
        crawl_run(1 if night % 2 else 5, at=now - (7 - night) * 3600)
    crawl_run(5)
    proc, data = report(noisy)
    assert by_name(data)[GOOD]["status"] == "healthy", by_name(data)[GOOD]["evidence"]


def test_regenerate_heals_what_a_crawl_left_held(tmp_path: Path) -> None:
    fx = fixtures_for(tmp_path / "fx", (GOOD,))
    reg = tmp_path / "reg"
    compile_template(fx, "product", reg, generator="induce", progress=None)
    rt = Runtime(reg, fixtures_dir=fx)
    try:
        for i in range(40, 44):
            assert rt.process(product_page(i), url(GOOD, i), template=GOOD).status == "ok"
        for i in (40, 41):  # the redesign, two pages: fewer than a regeneration waits for
            assert rt.process(product_page(i, "b"), url(GOOD, i), template=GOOD).status == "held"
    finally:
        rt.close()
    (tmp_path / "samples").mkdir()
    proc, data = report(tmp_path)
    assert proc.returncode == 1
    entry = by_name(data)[GOOD]
    assert entry["status"] == "broken" and entry["held"] == 2
    assert entry["evidence"][0] == "sample pages: 0/2 give a valid item"
    assert "2 pages held, waiting for a regeneration" in entry["evidence"]
    assert any(e.startswith("layout similarity of the sample pages: ") for e in entry["evidence"])
    proc, data = report(tmp_path, "out2", "--regenerate", "--budget-usd", "0")
    assert proc.returncode == 0, (proc.stderr, by_name(data)[GOOD]["evidence"])
    entry = by_name(data)[GOOD]
    assert entry["status"] == "healed" and entry["held"] == 0 and entry["active"] == 2
    assert entry["regeneration"]["published"] == 2 and entry["regeneration"]["tier"] == "repair"
    assert entry["regeneration"]["cost"] == 0.0
    assert entry["samples"]["valid"] == entry["samples"]["checked"] == 2
    assert data["summary"]["regenerations_by_tier"] == {"repair": 1}
    assert data["summary"]["changes"] == [
        f"{GOOD}: broken → healed",
        f"{GOOD}: v2 published by repair",
    ]
    jsonschema.validate(data, SCHEMA)


class Hook:
    """A webhook on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(self.rfile.read(size).decode())
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_notify_gets_the_summary_on_exit_1_only(three: Path, tmp_path: Path) -> None:
    root = copy_of(three, tmp_path)
    got = tmp_path / "got.md"
    command = f"{sys.executable} -c \"import sys; open({str(got)!r}, 'w').write(sys.stdin.read())\""
    proc, _ = report(root, "out", "--notify", command)
    assert proc.returncode == 1
    assert got.read_text() == (root / "out" / "summary.md").read_text()
    hook = Hook()
    try:
        proc, _ = report(root, "out2", "--notify", hook.url)
        assert proc.returncode == 1 and len(hook.bodies) == 1
        assert hook.bodies[0] == (root / "out2" / "summary.md").read_text()
        shutil.rmtree(root / "samples" / BROKEN)  # nothing broken any more
        proc, data = report(root, "out3", "--notify", hook.url)
        assert proc.returncode == 0, by_name(data)
        assert len(hook.bodies) == 1
    finally:
        hook.close()
    proc, _ = report(root, "out4", "--notify", "/nonexistent/notifier")
    assert proc.returncode == 0


def test_bad_input_each_template_its_error_the_others_reported(three: Path, tmp_path: Path) -> None:
    proc = run_cli("report", "--registry", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and f"{tmp_path / 'none'}: registry folder not found" in proc.stderr
    proc = run_cli("report", "--registry", str(three / "reg"), "--out", "o", "--since", "soon")
    assert proc.returncode == 2 and "--since 'soon'" in proc.stderr

    root = copy_of(three, tmp_path)
    (root / "reg" / HEALED / "parser.json").write_text("{not json")
    (root / "samples" / GOOD / "folder.html").mkdir()  # not a file: unreadable
    (root / "samples" / GOOD / "p80.json").write_text("[1]")
    runs_path(root / "reg").write_bytes(b"this is not a database" * 100)
    proc, data = report(root)
    assert proc.returncode == 1
    jsonschema.validate(data, SCHEMA)
    t = by_name(data)
    assert t[HEALED]["status"] == "broken"
    assert "parser.json" in t[HEALED]["errors"][0] and "cannot load" in t[HEALED]["evidence"][0]
    assert t[GOOD]["status"] == "healthy" and t[GOOD]["samples"]["checked"] == 3
    errors = t[GOOD]["errors"]
    assert any("folder.html: unreadable" in e for e in errors), errors
    assert any("p80.json" in e and "'url'" in e for e in errors), errors
    assert t[BROKEN]["status"] == "broken"
    (problem,) = data["errors"]
    assert str(runs_path(root / "reg")) in problem and "run history unusable" in problem
    assert f"{HEALED}: " in proc.stderr and "run history unusable" in proc.stderr


def test_a_crawl_records_its_run_and_publishes_per_template_stats(tmp_path: Path) -> None:
    from conftest import setup_registry
    from shop_server import ShopServer
    from test_crawl import T, crawl, stats

    with ShopServer(12) as shop:
        setup_registry(tmp_path, shop.url)
        first = crawl(tmp_path, shop.url, "a.jsonl")
        shop.redesign_after = 0
        second = crawl(tmp_path, shop.url, "b.jsonl")
    s = stats(first.stderr)
    assert s[f"scrapec/items/{T}"] == 12 and s[f"scrapec/pages/{T}"] == 12
    assert s[f"scrapec/field_fill/{T}/brand"] == 1.0 and s["scrapec/run_id"] == 1
    s = stats(second.stderr)
    assert s[f"scrapec/items/{T}"] == 12 and s[f"scrapec/regenerated/{T}/repair"] == 1
    history = RunHistory(runs_path(tmp_path / "reg"))
    try:
        runs = history.runs()
    finally:
        history.close()
    assert [r.kind for r in runs] == ["crawl", "crawl"]
    one, two = runs[0].templates[T], runs[1].templates[T]
    assert one.items == 12 and one.fill["sku"] == 1.0 and one.regenerations == {}
    assert two.items == 12 and two.regenerations == {"repair": 1} and two.held >= 3
    assert (
        two.released == two.held and two.drift.get("failure", 0) + two.drift.get("layout", 0) >= 1
    )
    assert runs[1].totals["regenerated/repair"] == 1 and runs[1].wall > 0
    proc = run_cli(
        "report",
        "--registry",
        str(tmp_path / "reg"),
        "--out",
        str(tmp_path / "rep"),
        "--fixtures",
        str(tmp_path / "fx"),
    )
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert proc.returncode == 0, data
    (entry,) = data["templates"]
    assert entry["status"] == "healed" and entry["history"]["latest"]["kind"] == "crawl"


def test_a_corrupt_history_is_named(tmp_path: Path) -> None:
    from crawler.runs import RunHistoryError

    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"\0garbage" * 1000)
    with pytest.raises(RunHistoryError, match=str(path)):
        RunHistory(path)
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '99')")
    db.commit()
    db.close()
    with pytest.raises(RunHistoryError, match="schema version '99'"):
        RunHistory(other)


@pytest.mark.browser
def test_the_html_report_in_chromium(three: Path, tmp_path: Path) -> None:
    chromium = os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        pytest.skip("chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    from crawler.fetch import launch_options

    root = copy_of(three, tmp_path)
    proc, data = report(root)
    assert proc.returncode == 1
    page_url = (root / "out" / "report.html").resolve().as_uri()
    console: list[str] = []
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.update({"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": os.environ.get("PATH", "")})
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(**{**launch_options(), "executable_path": chromium}, env=env)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.on(
                "console",
                lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_url, wait_until="load")
            assert page.locator("#summary").is_visible()
            assert "broken" in page.locator("#summary").inner_text()
            row = page.locator("#templates tbody tr", has_text=BROKEN)
            assert row.is_visible() and "broken" in row.inner_text()
            assert page.locator("#templates tbody tr").first.get_attribute("data-status") == (
                "broken"
            )
            diff = page.locator("pre.diff").first
            diff.scroll_into_view_if_needed()
            assert diff.is_visible() and "v1.py" in diff.inner_text()
            assert page.locator("svg").count() >= 3
            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            # sorting: by template name, then back by status
            page.locator("#templates th", has_text="template").click()
            first = page.locator("#templates tbody tr").first.inner_text()
            assert first.startswith(BROKEN)  # broken.test < good.test < healed.test
            page.locator("#templates th", has_text="template").click()
            assert page.locator("#templates tbody tr").first.inner_text().startswith(HEALED)
        finally:
            browser.close()
    shutil.copy(shot, "/tmp/scrapec-report.png")
    assert console == [], console
    assert requests == [page_url], requests  # nothing fetched but the file itself


def test_the_extension_logs_a_history_it_cannot_write_and_the_crawl_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.crawl.middleware import OUTCOME_KEY, items_of
    from crawler.crawl.runs_ext import ScrapecRunsExtension

    fx = fixtures_for(tmp_path / "fx", (GOOD,))
    reg = tmp_path / "reg"
    compile_template(fx, "product", reg, generator="induce", progress=None)

    def one_crawl() -> Any:
        crawler = get_crawler(settings_dict={"SCRAPEC_REGISTRY": str(reg)})
        assert crawler.stats is not None
        crawler.stats.open_spider()
        ext = ScrapecRunsExtension.from_crawler(crawler)
        ext.spider_opened(None)  # type: ignore[arg-type]
        for i in range(5):
            page = product_page(i) if i else "<html><body><p>gone</p></body></html>"
            outcome = ext.runtime.process(page, url(GOOD, i), template=GOOD)
            request = Request(url(GOOD, i), meta={OUTCOME_KEY: outcome})
            response = HtmlResponse(url(GOOD, i), body=page.encode(), request=request)
            ext.response_received(response, request, None)  # type: ignore[arg-type]
            for item in items_of(outcome):
                ext.item_scraped(item)
        ext.spider_closed(None)  # type: ignore[arg-type]
        ext.runtime.close()
        return crawler.stats

    stats = one_crawl()
    assert stats.get_value(f"scrapec/pages/{GOOD}") == 5
    assert stats.get_value(f"scrapec/items/{GOOD}") == 4
    assert stats.get_value(f"scrapec/held/{GOOD}") == 1
    assert stats.get_value(f"scrapec/field_fill/{GOOD}/sku") == 1.0
    assert stats.get_value(f"scrapec/field_fill/{GOOD}/rating") == 0.0  # in the schema, unfilled
    assert stats.get_value(f"scrapec/drift/{GOOD}/failure") == 1
    assert stats.get_value("scrapec/run_id") == 1

    runs_path(reg).write_bytes(b"not a database" * 200)
    with caplog.at_level("ERROR", logger="scrapec"):
        stats = one_crawl()
    assert stats.get_value(f"scrapec/items/{GOOD}") == 4 and not stats.get_value("scrapec/run_id")
    (record,) = [r for r in caplog.records if "run was not recorded" in r.getMessage()]
    assert str(runs_path(reg)) in record.getMessage()
