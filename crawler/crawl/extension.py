"""The extension: progress in the log, stats at the end, and no held page left behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from twisted.internet import task

from crawler.crawl.runtime import publish_stats, runtime_for
from crawler.registry import atomic_write
from crawler.runtime import Runtime

FLUSH_URL = "data:,scrapec-flush"


class ScrapecExtension:
    """When the spider runs out of requests while pages are still held, schedule one last
    request whose callback regenerates their templates and yields the released items; log
    progress every ``SCRAPEC_PROGRESS_INTERVAL`` seconds (default 10); write the crawl's stats
    as JSON to ``SCRAPEC_STATS_FILE`` when set."""

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.flushed = False
        self.interval = crawler.settings.getfloat("SCRAPEC_PROGRESS_INTERVAL", 10.0)
        self.task: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecExtension:
        ext = cls(crawler, runtime_for(crawler))
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        return ext

    def item_scraped(self, item: object) -> None:
        """The item is out (feeds write on this same signal, before us): its held page is done."""
        if isinstance(item, dict) and item.get("_url") and item.get("_template"):
            self.runtime.confirm(str(item["_template"]), str(item["_url"]))

    def spider_opened(self, spider: Spider) -> None:
        if self.interval > 0:
            self.task = task.LoopingCall(self.progress, spider)
            self.task.start(self.interval, now=False)

    def progress(self, spider: Spider) -> None:
        s = self.runtime.stats
        spider.logger.info(
            f"scrapec: {s['pages']} pages, {s['items']} items, {s['held']} held, "
            f"{s['quarantined']} quarantined, {s['drift_events']} drift events"
        )

    def spider_idle(self, spider: Spider) -> None:
        waiting = self.runtime.regenerating() or self.runtime.released
        if self.flushed or not (waiting or self.runtime.store.templates("held")):
            return
        self.flushed = True
        request = Request(FLUSH_URL, callback=self.flush, dont_filter=True, meta={"scrapec": False})
        engine = self.crawler.engine
        assert engine is not None
        engine.crawl(request)
        raise DontCloseSpider

    async def flush(self, response: object) -> AsyncIterator[dict[str, object]]:
        """Wait (in a thread, not the reactor) for background regenerations, regenerate what is
        still held, and yield the items of every released page."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        from crawler.crawl.middleware import items_of

        emitted: set[str] | None = None
        engine = self.crawler.engine
        for mw in getattr(
            getattr(getattr(engine, "scraper", None), "spidermw", None), "middlewares", ()
        ):
            if hasattr(mw, "emitted"):
                emitted = mw.emitted
        outcomes = await maybe_deferred_to_future(deferToThread(self.runtime.flush))
        items = []
        for outcome in outcomes:
            items += items_of(outcome, emitted)
        publish_stats(self.crawler, self.runtime)
        for item in items:
            yield item

    def spider_closed(self, spider: Spider) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        publish_stats(self.crawler, self.runtime)
        self.progress(spider)
        path = self.crawler.settings.get("SCRAPEC_STATS_FILE")
        if path and self.crawler.stats is not None:
            stats = {
                k: v
                for k, v in self.crawler.stats.get_stats().items()
                if isinstance(v, int | float | str)
            }
            atomic_write(Path(path), (json.dumps(stats, indent=2, sort_keys=True) + "\n").encode())
        self.runtime.close()
