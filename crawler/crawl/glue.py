"""The Scrapy glue: one Settings, one Runtime and one Ledger per crawler, shared by the scrapec
components of that crawler."""

from __future__ import annotations

import json
import os
import pickle
import re
import sqlite3
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.history import StorageError
from crawler.runtime import Runtime, RuntimeSettings
from crawler.settings import Settings

_KEY = "_scrapec_runtime"
_LEDGER = "_scrapec_ledger"
_SETTINGS = "_scrapec_settings"
KEY_META = "scrapec_key"  # the journal key of a request (its URL before redirects)


class Ledger:
    """What one crawl has settled, so that a SIGKILL at any moment loses no page and emits no
    item twice (with ``JOBDIR``).

    Scrapy's JOBDIR alone is at-most-once: it records a request as seen when it is scheduled,
    takes it off its disk queue before downloading it, and writes the queue's index only on a
    clean shutdown — a crawl killed at the wrong moment resumes with nothing to do. The ledger
    adds a journal, ``JOBDIR/scrapec-journal.sqlite`` (synchronous=FULL: fsynced per commit):

    - every request the spider yields (start requests too) is written *before* Scrapy sees it;
    - a request is marked done only when its response is settled: its item written to the feed
      (flushed: :meth:`ScrapecExtension._acknowledge`), or its page held or quarantined on disk
      (fsynced), and the requests it yielded journaled;
    - at resume every request not done is scheduled again (``dont_filter``): at-least-once.

    Exactly-once comes from the output itself: the URLs of the items already in the crawl's
    local feed files (JSON lines or JSON; every batch of ``FEEDS``) are read at start, and an
    item of one of those URLs is not emitted again (its page is acknowledged at once). Without
    JOBDIR nothing is journaled and only this run's own items count.

    A journal write that fails is a :class:`StorageError` (the crawl stops, exit code 1).
    """

    def __init__(self, jobdir: str | None, feeds: dict[str, Any] | None = None) -> None:
        self.emitted: set[str] = set()  # URLs whose item is out (earlier runs' feeds included)
        self.awaiting: dict[str, str] = {}  # item URL -> key of the request it came from
        self._refs: Counter[str] = Counter()  # key -> things to settle before it is done
        self.failure: StorageError | None = None
        self.stats: Counter[str] = Counter()
        self.path: Path | None = Path(jobdir) / "scrapec-journal.sqlite" if jobdir else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS requests (key TEXT PRIMARY KEY, "
                    "request BLOB NOT NULL, done INTEGER NOT NULL DEFAULT 0)"
                )
                # the feeds of every run of the job: a resumed run may write to other files
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS feeds (uri TEXT PRIMARY KEY, format TEXT)"
                )
                earlier = {
                    uri: {"format": fmt}
                    for uri, fmt in self._db.execute("SELECT uri, format FROM feeds")
                }
                mine = {_local(str(uri)): dict(o or {}) for uri, o in (feeds or {}).items()}
                with self._db:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO feeds(uri, format) VALUES (?, ?)",
                        [(u, o.get("format", "")) for u, o in mine.items() if u],
                    )
            except (sqlite3.Error, OSError) as exc:
                raise StorageError(self.path, str(exc)) from exc
            self.emitted |= feed_urls({**earlier, **{u: o for u, o in mine.items() if u}})
            self.stats["feed_urls_at_start"] = len(self.emitted)

    @property
    def journaled(self) -> bool:
        return self._db is not None

    @staticmethod
    def key(request: Request) -> str:
        return str(request.meta.get(KEY_META) or request.url)

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        assert self._db is not None and self.path is not None
        try:
            with self._db:  # one transaction, one fsync
                self._db.executemany(sql, rows)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(self.path, str(exc)) from exc

    def add(self, requests: list[Request], spider: Spider | None) -> None:
        """Journal requests before they are scheduled (a key already known keeps its state)."""
        if self._db is None or not requests:
            return
        rows = []
        for request in requests:
            request.meta.setdefault(KEY_META, request.url)
            data = pickle.dumps(request.to_dict(spider=spider), protocol=4)
            rows.append((self.key(request), data))
        self._write("INSERT OR IGNORE INTO requests(key, request) VALUES (?, ?)", rows)
        self.stats["journaled"] += len(rows)

    def known(self, request: Request) -> bool:
        if self._db is None:
            return False
        row = self._db.execute("SELECT 1 FROM requests WHERE key = ?", (self.key(request),))
        return row.fetchone() is not None

    def pending(self, spider: Spider | None) -> list[Request]:
        """Requests journaled by earlier runs of this job whose responses were never settled."""
        if self._db is None:
            return []
        from scrapy.utils.request import request_from_dict

        out = []
        for (data,) in self._db.execute("SELECT request FROM requests WHERE done = 0"):
            request = request_from_dict(pickle.loads(data), spider=spider)
            out.append(request.replace(dont_filter=True))
        self.stats["resumed"] += len(out)
        return out

    def begin(self, key: str) -> None:
        self._refs[key] += 1

    def wait_for_item(self, key: str, url: str) -> None:
        """The response of ``key`` emitted the item of ``url``: done once the item is written."""
        self._refs[key] += 1
        self.awaiting[url] = key

    def release(self, key: str) -> None:
        self._refs[key] -= 1
        if self._refs[key] <= 0:
            del self._refs[key]
            if self._db is not None:
                self._write("UPDATE requests SET done = 1 WHERE key = ?", [(key,)])
                self.stats["settled"] += 1

    def item_written(self, url: str) -> None:
        key = self.awaiting.pop(url, None)
        if key is not None:
            self.release(key)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_FORMAT_FIELD = re.compile(r"%\(\w+\)[-#0 +]*\d*[a-z]")


def _local(uri: str) -> str:
    """The absolute path of a local feed URI ('' for another scheme)."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif re.match(r"^[a-z][a-z0-9+.-]*://", uri):
        return ""
    return str(Path(uri).absolute())


def feed_urls(feeds: dict[str, Any]) -> set[str]:
    """The ``_url`` of every item in the local JSON-lines or JSON feed files of ``FEEDS``
    (URI templates such as ``items-%(batch_id)05d.jsonl`` match all their batches); a line that
    is not a whole JSON object (a write cut short) counts for nothing."""
    urls: set[str] = set()
    for uri, options in feeds.items():
        fmt = (options or {}).get("format", "")
        uri = str(uri)
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        elif re.match(r"^[a-z][a-z0-9+.-]*://", uri):
            continue  # not a local file: nothing to read back
        if fmt not in ("jsonlines", "jl", "json") or (options or {}).get("overwrite"):
            continue  # -O empties the file at start: the items of earlier runs are gone anyway
        pattern = Path(_FORMAT_FIELD.sub("*", uri))
        parent = pattern.parent
        if not parent.is_dir():
            continue
        for path in sorted(parent.glob(pattern.name)):
            try:
                text = path.read_text("utf-8", "replace")
            except OSError:
                continue
            for line in text.splitlines():
                line = line.strip().lstrip("[").rstrip(",").rstrip("]").strip().rstrip(",")
                if not line.startswith("{"):
                    continue
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and isinstance(item.get("_url"), str):
                    urls.add(item["_url"])
    return urls


def ledger_for(crawler: Crawler) -> Ledger:
    """The crawler's Ledger (a journal in JOBDIR when there is one)."""
    ledger: Ledger | None = getattr(crawler, _LEDGER, None)
    if ledger is None:
        settings = crawler.settings
        ledger = Ledger(settings.get("JOBDIR") or None, settings.getdict("FEEDS"))
        setattr(crawler, _LEDGER, ledger)
    return ledger


def settings_for(crawler: Crawler) -> Settings:
    """The crawler's scrapec :class:`Settings`, read from its Scrapy settings on first use
    (:class:`~crawler.exceptions.BadInput` for a value that cannot be used)."""
    found: Settings | None = getattr(crawler, _SETTINGS, None)
    if found is None:
        found = Settings.from_scrapy(crawler.settings)
        setattr(crawler, _SETTINGS, found)
    return found


def runtime_settings(settings: Settings) -> RuntimeSettings:
    """The runtime's knobs from the scrapec settings."""
    return RuntimeSettings(
        regen_samples=settings.regen_samples,
        max_held=settings.max_held,
        layout_threshold=settings.layout_threshold,
        layout_every=settings.layout_every,
        wait_for_other=settings.wait_for_other,
        lease_ttl=settings.regen_lease,
        generator=settings.generator,
    )


def runtime_for(crawler: Crawler) -> Runtime:
    """The crawler's Runtime, built from its settings on first use; NotConfigured when disabled."""
    settings = settings_for(crawler)
    if not settings.enabled:
        raise NotConfigured("SCRAPEC_ENABLED is off")
    runtime: Runtime | None = getattr(crawler, _KEY, None)
    if runtime is None:
        jobdir = crawler.settings.get("JOBDIR")
        # the crawl's own held and released pages: one name across the resumes of a job, a
        # fresh one for a crawl without JOBDIR (its pages are adopted by the next crawl if it dies)
        owner = (
            f"job:{Path(jobdir).resolve()}"
            if jobdir
            else f"run:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        )
        runtime = Runtime(
            settings.registry,
            state_dir=settings.state_dir,
            fixtures_dir=settings.fixtures,
            schema=settings.schema,
            settings=runtime_settings(settings),
            log=lambda message: crawler.spider.logger.info(message) if crawler.spider else None,
            confirm_items=True,
            background=settings.background_regeneration,
            owner=owner,
        )
        setattr(crawler, _KEY, runtime)
    return runtime


def publish_stats(crawler: Crawler, runtime: Runtime) -> None:
    """Copy the runtime's counters into Scrapy stats under ``scrapec/``."""
    stats = crawler.stats
    if stats is None:
        return
    for key, value in list(runtime.stats.items()):  # a copy: pages are counted in a thread
        if key == "llm_cost_micro":
            stats.set_value("scrapec/llm_cost", value / 1e6)
        else:
            stats.set_value(f"scrapec/{key}", value)
