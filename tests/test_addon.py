"""crawler.crawl.Addon: the components from one ADDONS line, their settings read once, and a
Scrapy project outside this repository crawling a real shop on 127.0.0.1 through scrapec."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_item, setup_registry
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler
from shop_server import ShopServer

from crawler.crawl import Addon
from crawler.crawl.addon import PLAYWRIGHT_HANDLER, playwright_installed
from crawler.crawl.extension import ScrapecExtension
from crawler.crawl.middleware import ScrapecDownloaderMiddleware, ScrapecSpiderMiddleware
from crawler.demo.run import scrapy_command
from crawler.exceptions import BadInput

T = "shop.test/product"
ADDONS = {"ADDONS": {"crawler.crawl.Addon": 100}}


def components(settings: Any, name: str) -> dict[Any, Any]:
    """A component priority dict with every key as the class it names."""
    return {
        load_object(k) if isinstance(k, str) else k: v for k, v in settings.getdict(name).items()
    }


def test_the_addon_installs_the_components_at_their_priorities() -> None:
    settings = get_crawler(Spider, ADDONS).settings
    assert components(settings, "SPIDER_MIDDLEWARES")[ScrapecSpiderMiddleware] == 900
    assert components(settings, "DOWNLOADER_MIDDLEWARES")[ScrapecDownloaderMiddleware] == 50
    assert components(settings, "EXTENSIONS")[ScrapecExtension] == 500
    assert "ScrapecValidationPipeline" not in str(settings.getdict("ITEM_PIPELINES"))


def test_the_addon_turns_the_remote_control_off_and_renders_through_playwright(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCRAPEC_CHROMIUM", "/opt/chromium/chrome")
    settings = ScrapySettings()
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is True  # Scrapy's default
    Addon().update_settings(settings)
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert playwright_installed()  # a dependency of scrapec
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == PLAYWRIGHT_HANDLER
    assert settings["PLAYWRIGHT_BROWSER_TYPE"] == "chromium"
    assert settings["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/opt/chromium/chrome"
    assert settings["TWISTED_REACTOR"] == "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def test_what_the_project_says_wins_over_the_addon() -> None:
    crawler = get_crawler(
        Spider,
        {
            **ADDONS,
            "SPIDER_MIDDLEWARES": {"crawler.crawl.middleware.ScrapecSpiderMiddleware": None},
            "EXTENSIONS": {ScrapecExtension: 10},
            "DOWNLOAD_HANDLERS": {
                "http": "scrapy.core.downloader.handlers.http.HTTPDownloadHandler"
            },
            "REMOTE_CONTROL_ENABLED": True,
        },
    )
    settings = crawler.settings
    assert components(settings, "SPIDER_MIDDLEWARES")[ScrapecSpiderMiddleware] is None
    assert components(settings, "EXTENSIONS")[ScrapecExtension] == 10
    assert components(settings, "DOWNLOADER_MIDDLEWARES")[ScrapecDownloaderMiddleware] == 50
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"].endswith("HTTPDownloadHandler")
    assert handlers["https"] == PLAYWRIGHT_HANDLER
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is True


def test_the_project_settings_module_is_the_addon() -> None:
    module = ScrapySettings()
    module.setmodule("crawler.crawl.settings", priority="project")
    assert module.getdict("ADDONS") == {"crawler.crawl.Addon": 100}
    for name in ("SPIDER_MIDDLEWARES", "DOWNLOADER_MIDDLEWARES", "EXTENSIONS", "COMMANDS_MODULE"):
        assert not module.get(name), f"{name}: the add-on and the entry point say it"
    values = {k: module[k] for k in ("ADDONS", "BOT_NAME", "SPIDER_MODULES")}
    settings = get_crawler(Spider, values).settings
    assert components(settings, "SPIDER_MIDDLEWARES")[ScrapecSpiderMiddleware] == 900
    # (get_crawler sets download handlers of its own when no reactor is installed)
    Addon().update_settings(module)
    assert module.getdict("DOWNLOAD_HANDLERS")["https"] == PLAYWRIGHT_HANDLER
    assert components(module, "DOWNLOADER_MIDDLEWARES")[ScrapecDownloaderMiddleware] == 50


def test_savefixture_is_registered_by_entry_point() -> None:
    found = {e.name: e for e in entry_points(group="scrapy.commands")}
    assert "savefixture" in found
    command = found["savefixture"].load()
    assert command.__module__ == "crawler.crawl.commands.savefixture"


def test_components_share_one_runtime_built_from_the_settings(tmp_path: Path) -> None:
    crawler = get_crawler(
        Spider,
        {
            **ADDONS,
            "SCRAPEC_REGISTRY": str(tmp_path / "reg"),
            "SCRAPEC_FIXTURES": str(tmp_path / "fx"),
            "SCRAPEC_EXTRACT_ALL": "True",
            "SCRAPEC_RENDER_PROBE": False,
            "SCRAPEC_REGEN_SAMPLES": "5",
            "SCRAPEC_MAX_HELD": 7,
            "SCRAPEC_REGEN_LEASE": 30,
            "SCRAPEC_GENERATOR": "induce",
            "SCRAPEC_PROGRESS_INTERVAL": "0",
            "SCRAPEC_STATS_FILE": str(tmp_path / "stats.json"),
        },
    )
    spidermw = ScrapecSpiderMiddleware.from_crawler(crawler)
    downloadermw = ScrapecDownloaderMiddleware.from_crawler(crawler)
    extension = ScrapecExtension.from_crawler(crawler)
    runtime = spidermw.runtime
    try:
        assert downloadermw.runtime is runtime and extension.runtime is runtime
        assert spidermw.extract_all and downloadermw.extract_all and not spidermw.render_probe
        assert extension.interval == 0
        assert runtime.registry.root == tmp_path / "reg"
        knobs = runtime.settings
        assert (knobs.regen_samples, knobs.max_held, knobs.lease_ttl, knobs.generator) == (
            5,
            7,
            30.0,
            "induce",
        )
    finally:
        runtime.close()
        extension.ledger.close()


def test_components_are_off_when_disabled_and_refuse_bad_values() -> None:
    for component in (ScrapecSpiderMiddleware, ScrapecDownloaderMiddleware, ScrapecExtension):
        off = get_crawler(Spider, {"SCRAPEC_ENABLED": "False"})
        with pytest.raises(NotConfigured, match="SCRAPEC_ENABLED is off"):
            component.from_crawler(off)
        bad = get_crawler(Spider, {"SCRAPEC_REGEN_SAMPLES": "x"})
        with pytest.raises(BadInput, match=r"SCRAPEC_REGEN_SAMPLES='x': not an integer"):
            component.from_crawler(bad)
    # with the add-on, the crawler is not made at all: the extension is built with it
    with pytest.raises(BadInput, match=r"SCRAPEC_LAYOUT_THRESHOLD='2': must be at most 1"):
        get_crawler(Spider, {**ADDONS, "SCRAPEC_LAYOUT_THRESHOLD": "2"})
    # and disabled, the components are left out, with Scrapy's warning
    off = get_crawler(Spider, {**ADDONS, "SCRAPEC_ENABLED": False})
    assert off.get_extension(ScrapecExtension) is None


SPIDER = '''
"""A spider of the outside project: its own callbacks, scrapec for the product pages."""

import scrapy


class ShopSpider(scrapy.Spider):
    name = "shop"

    async def start(self):
        yield scrapy.Request(self.start_url)

    def parse(self, response):
        for href in response.css("ul.listing a::attr(href)").getall():
            yield response.follow(href, callback=self.product, meta={"scrapec": True})

    def product(self, response):
        self.logger.info(f"own callback saw {response.url}")
        return []
'''


@pytest.mark.slow
def test_a_project_outside_the_repository_crawls_through_the_addon(tmp_path: Path) -> None:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    with ShopServer(12) as shop:
        setup_registry(tmp_path, shop.url)
        settings = {"SCRAPEC_REGISTRY": tmp_path / "reg", "SCRAPEC_FIXTURES": tmp_path / "fx"}
        proc = subprocess.run(
            scrapy_command(
                f"{shop.url}/",
                settings,
                "-O",
                str(tmp_path / "items.jsonl"),
                command=("crawl", "shop"),
            ),
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "crawler.crawl.addon.Addon" in proc.stderr  # Scrapy's "Enabled addons" line
    assert "RemoteControl" not in proc.stderr
    assert proc.stderr.count("own callback saw") == 12
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert len(items) == 12 and len({i["_url"] for i in items}) == 12
    for item in items:
        assert item["_template"] == T and item["_parser_version"] == 1
        index = int(item["_url"].rsplit("/", 1)[1].split(".")[0])
        truth = {
            k: v.replace("http://shop.test", shop.url) if isinstance(v, str) else v
            for k, v in product_item(index).items()
        }
        assert {k: v for k, v in item.items() if not k.startswith("_")} == truth
    assert "'scrapec/items': 12" in proc.stderr
