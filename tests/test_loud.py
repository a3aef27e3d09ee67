"""Loud failures: ``scrapy crawl`` exits 1 when pages were quarantined, when no item came out of
the item pages, or when the LLM tier was configured and unreachable (``SCRAPEC_FAIL_ON``), with
one WARNING line per cause; the LLM's circuit breaker; litellm's logging kept at WARNING; the
messages that said the wrong thing."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_page
from shop_server import ShopServer

from crawler.compiler.llm import LITELLM_LOGGERS, LLMConfig, LLMGenerator, _quiet_litellm_logging
from crawler.demo.run import crawl_env, scrapy_command
from crawler.exceptions import BadInput, CompileError
from crawler.pages import PageStatus
from crawler.parsing import Page
from crawler.runtime import Runtime, RuntimeSettings
from crawler.schemas import load_schema
from crawler.settings import FAIL_CAUSES, Settings


def dead_endpoint() -> str:
    """The URL of a port on 127.0.0.1 nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def dead_llm(breaker: int = 3) -> LLMGenerator:
    config = LLMConfig(
        "openai/scripted",
        api_base=dead_endpoint(),
        api_key="test",
        retries=5,
        backoff=0,
        cache_dir="off",
        breaker=breaker,
    )
    return LLMGenerator(config)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "WARNING" in line and "scrapec" in line]


# -- settings -------------------------------------------------------------------------------------


def test_fail_on_names_the_causes_all_or_none() -> None:
    assert Settings().failures() == frozenset(FAIL_CAUSES)  # all by default
    assert Settings.from_env({"SCRAPEC_FAIL_ON": "none"}).failures() == frozenset()
    assert Settings.from_env({"SCRAPEC_FAIL_ON": "all"}).failures() == frozenset(FAIL_CAUSES)
    chosen = Settings.from_env({"SCRAPEC_FAIL_ON": " Quarantine , llm_down "})
    assert chosen.failures() == {"quarantine", "llm_down"}
    with pytest.raises(BadInput, match=r"SCRAPEC_FAIL_ON='quarantine,items': 'items' is not one"):
        Settings.from_env({"SCRAPEC_FAIL_ON": "quarantine,items"})


def test_the_breaker_threshold_is_read_from_the_environment() -> None:
    assert LLMConfig("m").breaker == 3
    config = LLMConfig.from_env({"SCRAPEC_LLM_MODEL": "openai/x", "SCRAPEC_LLM_BREAKER": "5"})
    assert config is not None and config.breaker == 5
    with pytest.raises(BadInput, match=r"SCRAPEC_LLM_BREAKER='-1': must not be negative"):
        LLMConfig.from_env({"SCRAPEC_LLM_MODEL": "openai/x", "SCRAPEC_LLM_BREAKER": "-1"})


# -- the LLM's circuit breaker, litellm's logging --------------------------------------------------


def test_the_circuit_breaker_turns_the_llm_off_after_n_connection_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gen = dead_llm(breaker=3)
    page = Page("<html><body><h1>Chair</h1></body></html>", "http://a.test/1")
    schema = load_schema("product")
    with caplog.at_level(logging.WARNING, logger="scrapec"):
        with pytest.raises(CompileError, match=r"LLM unreachable: 3 connection failures in a row"):
            gen.label(page, schema)
        # the tier is off: no more tries (5 retries were allowed), the same reason at once
        with pytest.raises(CompileError, match="the LLM tier is off for this run"):
            gen.label(page, schema)
        outcome = gen.generate("a.test/product", schema, [])
    assert gen.connection_failures == 3 and gen.run_usage.errors == 3
    assert gen.run_usage.calls == 0 and outcome.source is None
    assert gen.unreachable is not None and gen.config.api_base in gen.unreachable
    said = [r for r in caplog.records if "LLM unreachable" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING, "said once, at WARNING"


def test_litellm_logging_is_kept_at_warning_unless_asked() -> None:
    loggers = [logging.getLogger(name) for name in LITELLM_LOGGERS]
    before = [one.level for one in loggers]
    try:
        for one in loggers:
            one.setLevel(logging.NOTSET)
        _quiet_litellm_logging({"LITELLM_LOG": "DEBUG"})  # asked for: left as it is
        assert [one.level for one in loggers] == [logging.NOTSET] * len(loggers)
        loggers[1].setLevel(logging.INFO)  # an application that set a level keeps it
        _quiet_litellm_logging({})
        assert [one.level for one in loggers] == [logging.WARNING, logging.INFO, logging.WARNING]
    finally:
        for one, level in zip(loggers, before, strict=True):
            one.setLevel(level)


# -- the runtime ------------------------------------------------------------------------------------


def test_a_new_template_the_llm_cannot_reach_is_quarantined_saying_so(tmp_path: Path) -> None:
    """Item pages of a site with no template, an LLM configured and dead: the pages wait held,
    the breaker turns the tier off, and at the end they are quarantined because the LLM is
    unreachable — not "drift [failure]", not "no such template in registry"."""
    said: list[str] = []
    rt = Runtime(
        tmp_path / "reg",
        schema="product",
        llm=dead_llm(),
        settings=RuntimeSettings(regen_samples=3),
        log=said.append,
    )
    try:
        urls = [f"http://new.test/p/{i}.html" for i in range(1, 5)]
        outcomes = [rt.process(product_page(i), u, item_page=True) for i, u in enumerate(urls, 1)]
        assert [o.status for o in outcomes] == [PageStatus.HELD] * 4
        flushed = rt.flush()
    finally:
        rt.close()
    assert sorted(o.url for o in flushed) == urls
    assert {o.status for o in flushed} == {PageStatus.QUARANTINED}
    for outcome in flushed:
        assert outcome.template == "new.test/product"
        assert (
            "no parser could be made: LLM unreachable: 3 connection failures" in (outcome.errors[0])
        )
        assert "no such template" not in outcome.errors[0]
    assert rt.llm_unreachable is not None and rt.stats["item_pages"] == 4
    assert not [line for line in said if "drift [" in line], said
    assert not [line for line in said if "published" in line]


# -- scrapy crawl ---------------------------------------------------------------------------------


def run_crawl(cmd: list[str], cwd: Path, env: dict[str, str]) -> Any:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_scrapy_crawl_exits_1_when_the_llm_is_down(tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home")
    env.update(
        SCRAPEC_LLM_MODEL="openai/scripted",
        SCRAPEC_LLM_API_BASE=dead_endpoint(),
        SCRAPEC_LLM_API_KEY="test",
        SCRAPEC_LLM_BACKOFF="0",
        SCRAPEC_LLM_CACHE="off",
    )
    env.pop("LITELLM_LOG", None)
    with ShopServer(8) as shop:
        settings = {
            "SCRAPEC_REGISTRY": tmp_path / "reg",
            "SCRAPEC_FIXTURES": tmp_path / "fx",
            "SCRAPEC_RENDER_PROBE": False,
            "LOG_LEVEL": "INFO",
        }
        cmd = scrapy_command(
            f"{shop.url}/",
            settings,
            "-O",
            str(tmp_path / "items.jsonl"),
            schema="product",
            items=r"/p/\d+\.html",
        )
        proc = run_crawl(cmd, ROOT, env)
    err = proc.stderr
    assert proc.returncode == 1, err[-3000:]
    lines = warnings_of(err)
    llm = [line for line in lines if "WARNING: scrapec: LLM unreachable" in line]
    assert len(llm) == 1 and "the LLM tier is off for this run" in llm[0], lines
    assert len([line for line in lines if "pages quarantined" in line]) == 1, lines
    assert len([line for line in lines if "no item came out of the 8 pages" in line]) == 1
    assert "8 pages quarantined" in err and "no parser could be made: LLM unreachable" in err
    assert "no such template in registry" not in err and "drift [failure]" not in err
    assert "the crawl failed (llm_down, no_items, quarantine): exit code 1" in err
    # litellm's own logging stays at WARNING in an INFO crawl
    assert not [line for line in err.splitlines() if "DEBUG" in line], "no DEBUG line"
    assert "'scrapec/failed/quarantine': 1" in err and "'scrapec/failed/no_items': 1" in err


SPIDER = '''
"""A spider of a project that is not scrapec's: it marks its product pages as item pages."""

import scrapy


class ShopSpider(scrapy.Spider):
    name = "shop"

    async def start(self):
        yield scrapy.Request(self.start_url)

    def parse(self, response):
        for href in response.css("ul.listing a::attr(href)").getall():
            meta = {"scrapec": True, "scrapec_item_page": True}
            yield response.follow(href, callback=self.product, meta=meta)

    def product(self, response):
        return []
'''


@pytest.mark.slow
def test_a_project_outside_the_repository_gets_the_exit_code_through_the_addon(
    tmp_path: Path,
) -> None:
    """No template and no fixtures for the shop: its item pages are quarantined and no item
    comes out — ``scrapy crawl`` of a project that only has the add-on exits 1, unless
    ``SCRAPEC_FAIL_ON`` leaves those causes out."""
    project = tmp_path / "outside"
    (project / "outside" / "spiders").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = outside.settings\n")
    (project / "outside" / "__init__.py").write_text("")
    (project / "outside" / "spiders" / "__init__.py").write_text("")
    (project / "outside" / "settings.py").write_text(
        textwrap.dedent(
            """\
            BOT_NAME = "outside"
            SPIDER_MODULES = ["outside.spiders"]
            ADDONS = {"crawler.crawl.Addon": 100}
            """
        )
    )
    (project / "outside" / "spiders" / "shop.py").write_text(SPIDER)
    env = {k: v for k, v in crawl_env(tmp_path / "home").items() if not k.startswith("SCRAPY_")}
    env.pop("SCRAPEC_LLM_MODEL", None)
    with ShopServer(6) as shop:
        settings: dict[str, object] = {
            "SCRAPEC_REGISTRY": tmp_path / "reg",
            "SCRAPEC_FIXTURES": tmp_path / "fx",
            "SCRAPEC_SCHEMA": "product",
        }
        cmd = scrapy_command(f"{shop.url}/", settings, command=("crawl", "shop"))
        failed = run_crawl(cmd, project, env)
        settings["SCRAPEC_FAIL_ON"] = "llm_down"
        cmd = scrapy_command(f"{shop.url}/", settings, command=("crawl", "shop"))
        told = run_crawl(cmd, project, env)
    assert failed.returncode == 1, failed.stderr[-3000:]
    lines = warnings_of(failed.stderr)
    assert len([line for line in lines if "6 pages quarantined" in line]) == 1, lines
    assert "scrapec quarantine list --registry" in failed.stderr
    assert len([line for line in lines if "no item came out of the 6 pages" in line]) == 1
    assert "the crawl failed (no_items, quarantine): exit code 1" in failed.stderr
    # SCRAPEC_FAIL_ON without those causes: said all the same, and the exit code is 0
    assert told.returncode == 0, told.stderr[-3000:]
    assert len([line for line in warnings_of(told.stderr) if "no item came out" in line]) == 1
    assert "the crawl failed" not in told.stderr


def test_the_demo_hint_runs_the_project_interpreter_with_the_demo_fixtures() -> None:
    from crawler.demo.run import _cli

    line = _cli("report", "--registry", Path("/d/registry"), "--fixtures", Path("/d/fixtures"))
    assert line.startswith(f"{sys.executable} -m crawler.cli report")
    assert line.endswith("--registry /d/registry --fixtures /d/fixtures")
    assert os.path.isabs(sys.executable)
