"""`scrapy crawl site` against a real shop on 127.0.0.1: items, drift, repair, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_item, run_cli, setup_registry
from shop_server import ShopServer

from crawler.demo.run import scrapy_command

T = "shop.test/product"
pytestmark = pytest.mark.slow


def crawl(
    tmp_path: Path, base_url: str, out: str, *extra: str, wait: bool = True, expect: int = 0
) -> Any:
    settings = {
        "SCRAPEC_REGISTRY": tmp_path / "reg",
        "SCRAPEC_FIXTURES": tmp_path / "fx",
        "LOG_LEVEL": "INFO",
    }
    cmd = scrapy_command(
        f"{base_url}/", settings, "-O", str(tmp_path / out), *extra, schema="product"
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    if not wait:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == expect, proc.stderr[-3000:]
    return proc


def read_items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def stats(stderr: str) -> dict[str, Any]:
    found = {}
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("'scrapec/"):
            key, _, value = line.partition(":")
            found[key.strip("'")] = float(value.strip().rstrip(",}"))
    return found


def check_items(items: list[dict[str, Any]], base_url: str) -> None:
    for item in items:
        index = int(item["_url"].rsplit("/", 1)[1].split(".")[0])
        truth = {
            k: v.replace("http://shop.test", base_url) if isinstance(v, str) else v
            for k, v in product_item(index).items()
        }
        assert {k: v for k, v in item.items() if not k.startswith("_")} == truth


def test_crawl_yields_validated_items(tmp_path: Path) -> None:
    with ShopServer(30) as shop:
        setup_registry(tmp_path, shop.url)
        proc = crawl(tmp_path, shop.url, "items.jsonl")
    items = read_items(tmp_path / "items.jsonl")
    assert len(items) == 30 and len({i["_url"] for i in items}) == 30
    check_items(items, shop.url)
    s = stats(proc.stderr)
    assert s["scrapec/items"] == 30 and s["scrapec/pages"] == 31 and "scrapec/quarantined" not in s


def test_recrawl_after_redesign_is_repaired_without_llm(tmp_path: Path) -> None:
    with ShopServer(30) as shop:
        setup_registry(tmp_path, shop.url)
        crawl(tmp_path, shop.url, "first.jsonl")
        shop.redesign_after = 0  # the site changed its markup; the data stayed
        proc = crawl(tmp_path, shop.url, "second.jsonl")
    items = read_items(tmp_path / "second.jsonl")
    assert len(items) == 30 and len({i["_url"] for i in items}) == 30, "nothing lost"
    check_items(items, shop.url)
    s = stats(proc.stderr)
    assert s["scrapec/regenerated/repair"] == 1
    assert s.get("scrapec/llm_calls", 0) == 0
    # regeneration runs in the background: the redesigned pages that arrive meanwhile wait held,
    # and every one of them comes out by the new version (none from the old parser)
    assert all(item["_parser_version"] == 2 for item in items), "no item from the broken parser"
    assert s["scrapec/released"] == s["scrapec/held"] >= 3
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    assert info["active"] == 2 and info["versions"]["2"]["generator"] == "repair"
    # the old layout's fixtures are retired with v1, the repaired pages wait for review, and
    # the gate of the active version is green
    metas = {
        c.name: json.loads((c / "meta.json").read_text()) for c in (tmp_path / "fx" / T).iterdir()
    }
    assert {n: m["review"] for n, m in metas.items() if n.startswith("case-")} == {
        "case-01": "retired",
        "case-02": "retired",
        "case-03": "retired",
    }
    regen = {n for n, m in metas.items() if m.get("review") == "unreviewed"}
    assert regen and all(n.startswith("regen-") for n in regen)
    assert sorted(info["versions"]["2"]["fixtures_passed"]) == sorted(f"{T}/{n}" for n in regen)
    test = run_cli("test", "--registry", str(tmp_path / "reg"), "--fixtures", str(tmp_path / "fx"))
    assert test.returncode == 0 and "3 retired with v1" in test.stdout, test.stdout + test.stderr


def test_mid_crawl_redesign_without_labels_quarantines_not_loses(tmp_path: Path) -> None:
    with ShopServer(30, redesign_after=15) as shop:
        setup_registry(tmp_path, shop.url)
        # no render probe: this server redesigns by the count of pages served, so a probe's
        # second fetch of a URL good in the old layout would give repair the labels it lacks
        # pages were quarantined: the crawl says so in one WARNING line and exits 1
        proc = crawl(
            tmp_path, shop.url, "items.jsonl", "-s", "SCRAPEC_RENDER_PROBE=False", expect=1
        )
    items = read_items(tmp_path / "items.jsonl")
    check_items(items, shop.url)
    s = stats(proc.stderr)
    assert s["scrapec/items"] == 15 and s["scrapec/quarantined"] == 15
    said = [line for line in proc.stderr.splitlines() if "pages quarantined" in line]
    assert (
        len(said) == 1
        and "WARNING: scrapec: 15 pages quarantined — shop.test/product: 15" in (said[0])
    )
    assert "the crawl failed (quarantine): exit code 1" in proc.stderr
    listing = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "quarantine",
            "list",
            "--registry",
            str(tmp_path / "reg"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 15


def test_two_crawls_one_registry_one_regeneration(tmp_path: Path) -> None:
    with ShopServer(40) as shop:
        setup_registry(tmp_path, shop.url)
        crawl(tmp_path, shop.url, "first.jsonl")
        shop.redesign_after = 0
        procs = [crawl(tmp_path, shop.url, f"run{i}.jsonl", wait=False) for i in range(2)]
        errors = [p.communicate(timeout=300)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    assert sorted(info["versions"]) == ["1", "2"], "exactly one regeneration"
    for i in range(2):
        items = read_items(tmp_path / f"run{i}.jsonl")
        assert len({it["_url"] for it in items}) == 40, f"run {i} lost pages"
        check_items(items, shop.url)


@pytest.mark.browser
def test_javascript_template_is_rendered_automatically(tmp_path: Path) -> None:
    """A template whose static HTML lacks the fields its rendered page has is fetched through
    chromium from then on, decided by the crawl itself and remembered in parser.json."""
    from crawler.demo.export import export_fixtures
    from crawler.demo.server import DemoServer
    from crawler.demo.site import DemoSite

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("chromium not installed (make chromium)")
    site = DemoSite(products=0, jobs=12, articles=0)
    template = "jobs.demo/job"
    with DemoServer(site) as server:
        export_fixtures(
            tmp_path / "fx",
            per_template=3,
            base_url=server.base_url,
            rendered=True,
            templates=[template],
        )
        proc = crawl(
            tmp_path,
            server.base_url,
            "items.jsonl",
            "-a",
            "schema=job_posting",
            "-a",
            "follow=/jobs/",
        )
    items = read_items(tmp_path / "items.jsonl")
    details = {site.url(p) for p in site.detail_paths(template)}
    assert {i["_url"] for i in items} == details and len(items) == len(details)
    for item in items:
        truth = site.truth(item["_url"])
        assert truth is not None
        assert {k: v for k, v in item.items() if not k.startswith("_")} == truth[1]
    info = json.loads((tmp_path / "reg" / template / "parser.json").read_text())
    assert info["render"] is True
    s = stats(proc.stderr)
    assert s["scrapec/render_enabled"] == 1 and "scrapec/quarantined" not in s
