"""fixture save (CLI and Scrapy command), the nightly report, the validation pipeline, rendering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, product_page, run_cli, write_fixtures

from crawler.compiler import compile_template

T = "shop.test/product"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    compile_template(
        write_fixtures(tmp_path / "fx", T, range(1, 4)),
        "product",
        tmp_path / "reg",
        generator="induce",
        progress=None,
    )
    return tmp_path / "reg"


def test_fixture_save_records_the_current_item_for_review(registry: Path, tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(product_page(9))
    proc = run_cli(
        "fixture",
        "save",
        str(page),
        "--template",
        T,
        "--url",
        "http://shop.test/p/9.html",
        "--registry",
        str(registry),
        "--fixtures",
        str(tmp_path / "fx"),
        "--case",
        "new",
    )
    assert proc.returncode == 0, proc.stderr
    case = tmp_path / "fx" / T / "new"
    assert json.loads((case / "expected.json").read_text())["name"] == "Widget 9 Deluxe"
    assert json.loads((case / "meta.json").read_text())["url"] == "http://shop.test/p/9.html"
    again = run_cli(
        "fixture",
        "save",
        str(page),
        "--template",
        T,
        "--registry",
        str(registry),
        "--fixtures",
        str(tmp_path / "fx"),
        "--case",
        "new",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "savefixture",
            str(page),
            "--template",
            T,
            "--case",
            "via-scrapy",
            "--url",
            "http://shop.test/p/9.html",
            "-s",
            f"SCRAPEC_REGISTRY={registry}",
            "-s",
            f"SCRAPEC_FIXTURES={tmp_path / 'fx'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "fx" / T / "via-scrapy" / "expected.json").exists()


def test_report(registry: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "report",
        "--registry",
        str(registry),
        "--out",
        str(tmp_path / "rep"),
        "--fixtures",
        str(tmp_path / "fx"),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    entry = report["templates"][0]
    assert entry["template"] == T and entry["active"] == 1 and entry["fixtures"]["passed"] == 3
    assert entry["status"] == "healthy" and report["summary"]["llm"]["calls"] == 0
    summary = (tmp_path / "rep" / "summary.md").read_text()
    assert "1 healthy" in summary and (tmp_path / "rep" / "report.html").is_file()
    proc = run_cli("report", "--registry", str(tmp_path / "none"), "--out", str(tmp_path / "rep2"))
    assert proc.returncode == 2 and "registry folder not found" in proc.stderr


def test_validation_pipeline_drops_invalid_items_with_the_reason() -> None:
    from scrapy.exceptions import DropItem, NotConfigured
    from scrapy.utils.test import get_crawler

    from crawler.crawl.pipeline import ScrapecValidationPipeline

    crawler = get_crawler(settings_dict={"SCRAPEC_SCHEMA": "product"})
    pipeline = ScrapecValidationPipeline.from_crawler(crawler)
    assert pipeline.process_item({"name": "x", "price": 1.5, "_url": "u"}) == {
        "name": "x",
        "price": 1.5,
        "_url": "u",
    }
    with pytest.raises(DropItem, match=r"price: 'cheap' is not of type 'number'"):
        pipeline.process_item({"name": "x", "price": "cheap"})
    with pytest.raises(NotConfigured):
        ScrapecValidationPipeline.from_crawler(get_crawler(settings_dict={}))
    with pytest.raises(NotConfigured):
        ScrapecValidationPipeline.from_crawler(
            get_crawler(settings_dict={"SCRAPEC_SCHEMA": "product", "SCRAPEC_ENABLED": False})
        )


@pytest.mark.browser
def test_extract_renders_a_javascript_page(tmp_path: Path) -> None:
    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium is not installed (make test installs it)")
    from crawler.demo.export import export_fixtures
    from crawler.demo.server import DemoServer
    from crawler.demo.site import DemoSite

    os.environ.setdefault("HOME", str(tmp_path))
    with DemoServer(DemoSite()) as server:
        export_fixtures(
            tmp_path / "fx",
            per_template=3,
            base_url=server.base_url,
            rendered=True,
            templates=["jobs.demo/job"],
        )
        compile_template(
            tmp_path / "fx", "job_posting", tmp_path / "reg", generator="induce", progress=None
        )
        from crawler.registry import Registry

        Registry(tmp_path / "reg").update("jobs.demo/job", render=True)
        path = DemoSite().detail_paths("jobs.demo/job")[10]
        proc = run_cli(
            "extract", server.base_url + path, "--registry", str(tmp_path / "reg"), "--json"
        )
        truth = DemoSite(base_url=server.base_url).truth(server.base_url + path)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert truth is not None and row["valid"] and row["item"] == truth[1]
