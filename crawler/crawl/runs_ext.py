"""The run-history extension: every crawl records its run in ``<registry>/runs.sqlite``
(:mod:`crawler.runs`) and publishes the same figures as Scrapy stats, for Spidermon and the like.

Per template, under documented keys (``<template>`` is ``site/name``, so keys have slashes):

* ``scrapec/pages/<template>``, ``scrapec/items/<template>`` — pages parsed, items written;
* ``scrapec/field_fill/<template>/<field>`` — share (0..1) of the template's items that fill the
  field, every field of its schema included (a field never filled is 0.0); a field-coverage
  figure Spidermon's expression monitors and ``self.data.stats`` read as they are;
* ``scrapec/drift/<template>/<kind>`` — drift events by kind (``failure``, ``layout``, …);
* ``scrapec/held/<template>``, ``scrapec/released/<template>``,
  ``scrapec/quarantined/<template>`` — pages held, released after a regeneration, quarantined;
* ``scrapec/regenerated/<template>/<tier>`` — versions published by ``repair``, ``induce``,
  ``llm``;
* ``scrapec/run_id`` — the run's id in the history.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.crawl.glue import runtime_for, settings_for
from crawler.pages import QUARANTINE
from crawler.runs import RunHistoryError, RunRecorder
from crawler.runtime import PageOutcome, Runtime

logger = logging.getLogger("scrapec")


class ScrapecRunsExtension:
    """Records the crawl's run at ``spider_closed``: pages and drift events from each page's
    outcome (``response_received``: the downloader middleware has put it in the request's
    meta), items and fill rates from the items written (``item_scraped``), held pages that came
    out as items (released), pages quarantined in this run (the page store), regenerations and
    LLM usage from the versions the registry published meanwhile, run totals from the runtime's
    counters. A history that cannot be written is logged at ERROR; the crawl is not failed."""

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.recorder = RunRecorder("crawl", items_from_outcomes=False)
        self._held: dict[str, set[str]] = {}  # template -> URLs held during this run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecRunsExtension:
        ext = cls(crawler, runtime_for(crawler))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.recorder = RunRecorder("crawl", time.time(), items_from_outcomes=False)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        from crawler.crawl.middleware import OUTCOME_KEY

        outcome = request.meta.get(OUTCOME_KEY)
        if not isinstance(outcome, PageOutcome):
            return  # not a page scrapec parsed (the flush request, a non-HTML response)
        self.recorder.outcome(outcome)
        for one in [outcome, *outcome.released]:
            if one.template and one.status == "held":
                self._held.setdefault(one.template, set()).add(one.url)

    def item_scraped(self, item: Any) -> None:
        if not isinstance(item, dict):
            return
        self.recorder.item(item)
        template, url = item.get("_template"), item.get("_url")
        if isinstance(template, str) and url in self._held.get(template, ()):
            self.recorder.run.template(template).released += 1
            self._held[template].discard(str(url))

    def spider_closed(self, spider: Spider) -> None:
        registry = settings_for(self.crawler).registry
        recorder = self.recorder
        started = recorder.run.started
        for template, t in recorder.run.templates.items():
            try:
                kept = self.runtime.store.pages(QUARANTINE, template)
            except OSError:
                continue
            t.quarantined = sum(1 for p in kept if p.time >= started)
        run = recorder.finish(registry, dict(self.runtime.stats))
        self._publish(run)
        try:
            from crawler.fleet.runs import open_history

            history = open_history(registry)
            try:
                run_id = history.record(run)
            finally:
                history.close()
        except RunHistoryError as exc:
            logger.error(f"scrapec: the run was not recorded: {exc}")
            return
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("scrapec/run_id", run_id)

    def _publish(self, run: Any) -> None:
        stats = self.crawler.stats
        if stats is None:
            return
        for name, t in run.templates.items():
            stats.set_value(f"scrapec/pages/{name}", t.pages)
            stats.set_value(f"scrapec/items/{name}", t.items)
            for field_name, rate in t.fill.items():
                stats.set_value(f"scrapec/field_fill/{name}/{field_name}", round(rate, 4))
            for kind, count in t.drift.items():
                stats.set_value(f"scrapec/drift/{name}/{kind}", count)
            stats.set_value(f"scrapec/held/{name}", t.held)
            stats.set_value(f"scrapec/released/{name}", t.released)
            stats.set_value(f"scrapec/quarantined/{name}", t.quarantined)
            for tier, count in t.regenerations.items():
                stats.set_value(f"scrapec/regenerated/{name}/{tier}", count)
