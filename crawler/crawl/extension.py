"""The extension: progress in the log, stats at the end, no held page left behind, items
acknowledged only once the feed holds them, and a crawl that failed says so by its exit code.

``scrapy crawl`` sets a non-zero exit code only for a crawler left without a spider
(``CrawlerProcess.bootstrap_failed``, read by the ``crawl``, ``runspider`` and ``fetch``
commands): at ``engine_stopped``, once everything is closed, the extension drops the crawler's
spider when the crawl failed, so ``scrapy crawl`` exits 1 in any project that has the add-on.
A crawl fails on a write that did not happen (a full disk), and on the causes of
``SCRAPEC_FAIL_ON`` (default all; ``none`` for none), each said in one WARNING line:

- ``quarantine``: pages were quarantined (per template, with the last reason);
- ``no_items``: the spider marked pages as item pages and no item came out of them;
- ``llm_down``: the LLM tier was configured and could not be reached (its circuit breaker).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from twisted.internet import task

from crawler.crawl.glue import Ledger, ledger_for, publish_stats, runtime_for, settings_for
from crawler.crawl.middleware import one_line
from crawler.history import StorageError
from crawler.registry import atomic_write
from crawler.runtime import Runtime

FLUSH_URL = "data:,scrapec-flush"
logger = logging.getLogger("scrapec")


class ScrapecExtension:
    """When the spider runs out of requests while pages are still held, schedule one last
    request whose callback regenerates their templates and yields the released items; log
    progress every ``SCRAPEC_PROGRESS_INTERVAL`` seconds (default 10); write the crawl's stats
    as JSON to ``SCRAPEC_STATS_FILE`` when set.

    An item is *acknowledged* — its released page forgotten, its request marked done in the
    journal — only once the feed holds it: Scrapy's feed exporter writes an item into a buffered
    file on ``item_scraped`` and, with ``FEED_EXPORT_BATCH_ITEM_COUNT``, closes the full batch in
    a task that runs later, so a SIGKILL right after ``item_scraped`` loses the line. Here the
    open feed files are flushed and fsynced, and while a batch is closing the acknowledgements
    wait for its ``feed_slot_closed``. A feed that cannot be written (a full disk) stops the
    crawl with exit code 1, and its items are not acknowledged."""

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.ledger: Ledger = ledger_for(crawler)
        self.flushed = False
        self.interval = settings_for(crawler).progress_interval
        self.task: task.LoopingCall | None = None
        self._unacked: list[tuple[str, str]] = []  # (template, URL) of items written, not synced
        self._slots: set[int] = set()  # ids of the feed slots open at the last look
        self._closing: set[int] = set()  # ids of feed slots (full batches) being closed
        self.failures: dict[str, str] = {}  # cause -> the WARNING line that said it

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecExtension:
        ext = cls(crawler, runtime_for(crawler))
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        if crawler.settings.get("JOBDIR"):
            for uri, options in crawler.settings.getdict("FEEDS").items():
                if (options or {}).get("overwrite"):
                    logger.warning(
                        f"scrapec: feed {uri} is overwritten (-O) in a job that may resume "
                        "(JOBDIR): the items of its earlier runs are lost; use -o"
                    )
        return ext

    # -- acknowledging items ---------------------------------------------------------------

    def _feed_slots(self) -> list[Any]:
        from scrapy.extensions.feedexport import FeedExporter

        try:
            exporter = self.crawler.get_extension(FeedExporter)
        except RuntimeError:  # the extension manager is not built yet: no feed is open
            return []
        return list(exporter.slots) if exporter is not None else []

    def item_scraped(self, item: object) -> None:
        """The feed exporter has just written the item (it is connected before us)."""
        if isinstance(item, dict) and item.get("_url"):
            self._unacked.append((str(item.get("_template") or ""), str(item["_url"])))
            self._acknowledge()

    def item_dropped(self, item: object) -> None:
        """A pipeline dropped the item, with its reason in the log: its page is settled."""
        self.item_scraped(item)

    def feed_slot_closed(self, slot: Any) -> None:
        """A batch file is closed: fsync it, then acknowledge what waited for it."""
        path = getattr(getattr(slot, "storage", None), "path", None)
        if isinstance(path, str) and os.path.isfile(path):
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self._failed(StorageError(path, exc.strerror or str(exc)))
                return
        self._closing.discard(id(slot))
        self._acknowledge()

    def _acknowledge(self) -> None:
        """Forget the pages of items the feeds hold: flush and fsync the open feed files; wait
        while a batch that may hold some of them is being closed."""
        if self.ledger.failure is not None:
            return  # the crawl stops: what is not acknowledged is done again at resume
        slots = self._feed_slots()
        current = {id(s) for s in slots}
        # a slot gone since the last look is a full batch the exporter is closing now
        self._closing |= self._slots - current
        self._slots = current
        if self._closing:
            return
        for slot in slots:
            file = getattr(slot, "file", None)
            if file is None or getattr(file, "closed", True):
                continue
            try:
                file.flush()
                os.fsync(file.fileno())
            except OSError as exc:
                where = getattr(getattr(slot, "storage", None), "path", None) or slot.uri
                self._failed(StorageError(where, exc.strerror or str(exc)))
                return
            except (ValueError, AttributeError):
                pass  # not a plain file (a post-processing wrapper): whole when it is closed
        unacked, self._unacked = self._unacked, []
        try:
            for template, url in unacked:
                self.runtime.confirm(template, url)
                self.ledger.item_written(url)
        except StorageError as exc:
            self._failed(exc)

    def _failed(self, exc: StorageError) -> None:
        from crawler.crawl.middleware import storage_failed

        storage_failed(self.crawler, self.ledger, exc)

    def engine_stopped(self) -> None:
        """A durable write failed during the crawl: make ``scrapy crawl`` exit with 1. Scrapy
        sets a non-zero exit code only for a crawler left without a spider (its
        ``bootstrap_failed``), so the crawler drops its spider here, once everything is closed."""
        self._closing.clear()  # the exporter has closed every batch before the engine stops
        self._acknowledge()  # what waited for the feeds is written now
        self.runtime.close()
        self.ledger.close()
        failure = self.ledger.failure or self.runtime.failure
        if failure is not None:
            logger.error(
                f"scrapec: the crawl stopped because a write failed: {failure} "
                f"({self.ledger.stats['unwritten']} pages not acknowledged)"
            )
            self.crawler.spider = None  # type: ignore[assignment]
            return
        enabled = settings_for(self.crawler).failures()
        failing = sorted(cause for cause in self.failures if cause in enabled)
        if failing:
            logger.error(
                f"scrapec: the crawl failed ({', '.join(failing)}): exit code 1 "
                "(SCRAPEC_FAIL_ON chooses what fails a crawl; none: nothing)"
            )
            self.crawler.spider = None  # type: ignore[assignment]

    def check_failures(self) -> dict[str, str]:
        """The causes of a failed crawl seen now (quarantined pages, no item of the item pages,
        the LLM unreachable), each said once at WARNING and counted in the stats as
        ``scrapec/failed/<cause>``; whether they change the exit code is ``SCRAPEC_FAIL_ON``'s."""
        runtime, s = self.runtime, self.runtime.stats
        found: dict[str, str] = {}
        if s["quarantined"]:
            where = "; ".join(
                f"{template}: {count} (last: {one_line(runtime.quarantine_reason.get(template, ''))[:300]})"
                for template, count in runtime.quarantined.most_common(5)
            )
            found["quarantine"] = (
                f"scrapec: {s['quarantined']} pages quarantined — {where} "
                f"(scrapec quarantine list --registry {runtime.registry.root} shows them; "
                "replay sends them through regeneration again)"
            )
        if s["item_pages"] and not s["items"]:
            found["no_items"] = (
                f"scrapec: no item came out of the {s['item_pages']} pages the spider marked as "
                "item pages"
            )
        if runtime.llm_unreachable:  # said at WARNING when the circuit breaker tripped
            found["llm_down"] = f"scrapec: {runtime.llm_unreachable}"
        for cause, line in found.items():
            if cause not in self.failures:
                if cause != "llm_down":
                    logger.warning(line)
                if self.crawler.stats is not None:
                    self.crawler.stats.set_value(f"scrapec/failed/{cause}", 1)
        self.failures.update(found)
        return found

    # -- progress, the end of the crawl ----------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        self._slots = {id(s) for s in self._feed_slots()}  # the exporter opened them before us
        if self.interval > 0:
            self.task = task.LoopingCall(self.progress, spider)
            self.task.start(self.interval, now=False)

    def progress(self, spider: Spider) -> None:
        s = self.runtime.stats
        # ``held`` counts every page held since the start; the store has those that wait now
        try:
            waiting: int | str = len(self.runtime.store.pages("held"))
        except (OSError, StorageError):
            waiting = "?"
        spider.logger.info(
            f"scrapec: {s['pages']} pages, {s['items']} items, {waiting} held now "
            f"({s['held']} held so far), {s['quarantined']} quarantined, "
            f"{s['drift_events']} drift events"
        )

    def spider_idle(self, spider: Spider) -> None:
        if self.ledger.failure is not None:
            return
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

        from crawler.crawl.middleware import ScrapecSpiderMiddleware, items_of

        spidermw = self.crawler.get_spider_middleware(ScrapecSpiderMiddleware)
        try:
            outcomes = await maybe_deferred_to_future(deferToThread(self.runtime.flush))
        except StorageError as exc:
            self._failed(exc)
            return
        if spidermw is not None:
            items = spidermw.items(outcomes)
        else:
            items = [i for outcome in outcomes for i in items_of(outcome, self.ledger.emitted)]
        publish_stats(self.crawler, self.runtime)
        for item in items:
            yield item

    def spider_closed(self, spider: Spider) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        publish_stats(self.crawler, self.runtime)
        if self.crawler.stats is not None:
            for key, value in self.ledger.stats.items():
                self.crawler.stats.set_value(f"scrapec/ledger/{key}", value)
        self.progress(spider)
        self.check_failures()
        path = settings_for(self.crawler).stats_file
        if path and self.crawler.stats is not None:
            values = {
                k: v
                for k, v in self.crawler.stats.get_stats().items()
                if isinstance(v, int | float | str)
            }
            data = (json.dumps(values, indent=2, sort_keys=True) + "\n").encode()
            try:
                atomic_write(Path(path), data)
            except OSError as exc:
                logger.error(f"scrapec: cannot write the stats file {path}: {exc}")
        # the runtime and the journal close at engine_stopped: the feed exporter closes its
        # last batches on this same signal, and their items are acknowledged after
