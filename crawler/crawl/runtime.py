"""One Runtime per crawler, shared by the scrapec components of that crawler."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.runtime import Runtime, RuntimeSettings

_KEY = "_scrapec_runtime"


def runtime_for(crawler: Crawler) -> Runtime:
    """The crawler's Runtime, built from its settings on first use; NotConfigured when disabled."""
    settings = crawler.settings
    if not settings.getbool("SCRAPEC_ENABLED", True):
        raise NotConfigured("SCRAPEC_ENABLED is off")
    runtime: Runtime | None = getattr(crawler, _KEY, None)
    if runtime is None:
        registry = settings.get("SCRAPEC_REGISTRY", "generated_parsers")
        spider_schema: Any = None
        runtime = Runtime(
            registry,
            state_dir=settings.get("SCRAPEC_STATE_DIR") or None,
            fixtures_dir=settings.get("SCRAPEC_FIXTURES", "fixtures"),
            schema=settings.get("SCRAPEC_SCHEMA") or spider_schema,
            settings=RuntimeSettings(
                regen_samples=settings.getint("SCRAPEC_REGEN_SAMPLES", 3),
                layout_threshold=settings.getfloat("SCRAPEC_LAYOUT_THRESHOLD", 0.5),
                generator=settings.get("SCRAPEC_GENERATOR", "auto"),
            ),
            log=lambda message: crawler.spider.logger.info(message) if crawler.spider else None,
            confirm_items=True,
            background=settings.getbool("SCRAPEC_BACKGROUND_REGENERATION", True),
        )
        setattr(crawler, _KEY, runtime)
    return runtime


def publish_stats(crawler: Crawler, runtime: Runtime) -> None:
    """Copy the runtime's counters into Scrapy stats under ``scrapec/``."""
    stats = crawler.stats
    if stats is None:
        return
    for key, value in runtime.stats.items():
        if key == "llm_cost_micro":
            stats.set_value("scrapec/llm_cost", value / 1e6)
        else:
            stats.set_value(f"scrapec/{key}", value)
