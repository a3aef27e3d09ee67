"""Figures of the whole fleet, summed in Redis hashes.

- ``scrapec:stats`` — every run counter of every crawl process (``pages``, ``items``, ``held``,
  ``released``, ``quarantined``, ``drift/<kind>``, ``regenerated/<tier>``, ``llm_calls``, …),
  the sum over the fleet since the fleet was started (:func:`reset` clears it);
- ``scrapec:drift:<template>`` — drift events of each template by kind, from every machine's
  pages.

A process keeps its own counters as before (its Scrapy stats) and adds what changed to the
fleet's hash at most once a second, and when its page store closes (:meth:`Fleet.flush`), so the
counters cost about one Redis round trip a second, not one a page.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from crawler.drift import DriftEvent, DriftMonitor
from crawler.fleet import Fleet, text

__all__ = ["FLUSH_SECONDS", "FleetCounter", "FleetDriftMonitor", "drift_counts", "figures"]

FLUSH_SECONDS = 1.0


class FleetCounter(Counter[str]):
    """A :class:`Counter` whose changes are also added to ``scrapec:stats`` (batched)."""

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._flushed = time.monotonic()
        fleet.flushers.append(self.flush)

    def __setitem__(self, key: str, value: int) -> None:
        delta = value - self.get(key, 0)
        super().__setitem__(key, value)
        if not delta:
            return
        with self._lock:
            self._pending[key] += delta
            due = time.monotonic() - self._flushed >= FLUSH_SECONDS
        if due:
            self.flush()

    def __reduce__(self) -> Any:  # a plain Counter when pickled: no connection travels
        return (Counter, (dict(self),))

    def flush(self) -> None:
        """Add what changed since the last flush to the fleet's hash (one round trip)."""
        import redis

        with self._lock:
            pending = {k: v for k, v in self._pending.items() if v}
            self._pending.clear()
            self._flushed = time.monotonic()
        if not pending:
            return
        try:
            with self.fleet.redis.pipeline(transaction=False) as pipe:
                for key, delta in pending.items():
                    pipe.hincrby(self.fleet.key("stats"), key, delta)
                pipe.execute()
        except redis.RedisError:
            with self._lock:  # tried again at the next flush: figures are late, never lost
                self._pending.update(pending)


class FleetDriftMonitor(DriftMonitor):
    """The drift monitor of one process that also counts its events per template in Redis
    (batched like :class:`FleetCounter`)."""

    def __init__(self, fleet: Fleet, **options: Any) -> None:
        super().__init__(**options)
        self.fleet = fleet
        self._pending: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._flushed = time.monotonic()
        fleet.flushers.append(self.flush)

    def observe(
        self,
        template: str,
        url: str,
        item: dict[str, Any] | None,
        errors: Sequence[str],
        similarity: float | None = None,
    ) -> list[DriftEvent]:
        events = super().observe(template, url, item, errors, similarity)
        with self._lock:
            for event in events:
                self._pending[(template, event.kind)] += 1
            due = bool(self._pending) and time.monotonic() - self._flushed >= FLUSH_SECONDS
        if due:
            self.flush()
        return events

    def flush(self) -> None:
        import redis

        with self._lock:
            pending = dict(self._pending)
            self._pending.clear()
            self._flushed = time.monotonic()
        if not pending:
            return
        try:
            with self.fleet.redis.pipeline(transaction=False) as pipe:
                for (template, kind), count in pending.items():
                    pipe.hincrby(self.fleet.key("drift", template), kind, count)
                    pipe.sadd(self.fleet.key("drifted"), template)
                pipe.execute()
        except redis.RedisError:
            with self._lock:  # tried again at the next flush
                self._pending.update(pending)


def figures(fleet: Fleet) -> dict[str, int]:
    """The fleet's run counters (``scrapec:stats``)."""
    raw = fleet.redis.hgetall(fleet.key("stats"))
    return {text(k): int(v) for k, v in sorted(raw.items())}


def drift_counts(fleet: Fleet) -> dict[str, dict[str, int]]:
    """Drift events of every template that showed some, by kind, over the fleet."""
    out = {}
    for raw in sorted(fleet.redis.smembers(fleet.key("drifted"))):
        template = text(raw)
        found = fleet.redis.hgetall(fleet.key("drift", template))
        out[template] = {text(k): int(v) for k, v in sorted(found.items())}
    return out


def reset(fleet: Fleet) -> None:
    """Forget the fleet's counters (a new fleet run)."""
    templates = [text(r) for r in fleet.redis.smembers(fleet.key("drifted"))]
    keys = [fleet.key("stats"), fleet.key("drifted")] + [fleet.key("drift", t) for t in templates]
    fleet.redis.delete(*keys)
