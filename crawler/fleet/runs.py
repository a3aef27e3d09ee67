"""The fleet's run history, shared in Redis: every machine's runs, read by every report.

``scrapec:runs`` is a sorted set of run ids by start time and ``scrapec:run:<id>`` the run as
JSON (its kind, times, run-wide totals and per-template figures, :class:`crawler.runs.Run`);
ids come from ``scrapec:run_id`` (INCR), so they are unique across the fleet. A run is written
in one MULTI transaction. Each machine keeps its own ``runs.sqlite`` too (it works offline), and
:func:`open_history` chooses: the fleet's history when ``SCRAPEC_REDIS_URL`` is set, else the
folder's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crawler.exceptions import ScrapecError
from crawler.fleet import Fleet, text
from crawler.runs import KINDS, Run, RunHistory, RunHistoryError, TemplateRun, runs_path

__all__ = ["FleetRunHistory", "open_history"]


class FleetRunHistory:
    """The same calls as :class:`crawler.runs.RunHistory` (``record``, ``runs``, ``close``),
    on the fleet's Redis; ``local`` (this machine's SQLite history) gets a copy of every run."""

    def __init__(self, fleet: Fleet, local: RunHistory | None = None) -> None:
        self.fleet = fleet
        self.local = local
        self.path = f"{fleet.url} ({fleet.key('runs')})"

    def record(self, run: Run) -> int:
        import redis

        if run.kind not in KINDS:
            raise ValueError(f"unknown run kind {run.kind!r}: one of {', '.join(KINDS)}")
        if self.local is not None:
            self.local.record(run)  # this machine's copy (its id is the local one)
        data = {
            "kind": run.kind,
            "started": run.started,
            "finished": run.finished,
            "totals": run.totals,
            "templates": {name: t.as_dict() for name, t in sorted(run.templates.items())},
        }
        try:
            run_id = int(self.fleet.redis.incr(self.fleet.key("run_id")))
            pipe = self.fleet.redis.pipeline(transaction=True)
            pipe.set(self.fleet.key("run", str(run_id)), json.dumps(data, sort_keys=True))
            pipe.zadd(self.fleet.key("runs"), {str(run_id): run.started})
            pipe.execute()
        except redis.RedisError as exc:
            raise RunHistoryError(self.path, f"cannot write: {exc}") from exc
        run.id = run_id
        return run_id

    def runs(self, since: float | None = None, kinds: Iterable[str] | None = None) -> list[Run]:
        """Runs of every machine started at or after ``since``, oldest first."""
        import redis

        wanted = set(kinds) if kinds is not None else set(KINDS)
        low = since if since is not None else -math.inf
        try:
            found: Any = self.fleet.redis.zrangebyscore(self.fleet.key("runs"), low, math.inf)
            ids = [text(i) for i in found]
            keys = [self.fleet.key("run", i) for i in ids]
            values = self.fleet.redis.mget(keys) if keys else []
        except redis.RedisError as exc:
            raise RunHistoryError(self.path, f"cannot read: {exc}") from exc
        out = []
        for run_id, raw in zip(ids, values, strict=True):
            data = _object(raw)
            if data.get("kind") not in wanted:
                continue
            try:
                run = Run(
                    str(data["kind"]),
                    float(data["started"]),
                    float(data["finished"]),
                    totals=_object(data.get("totals")),
                    id=int(run_id),
                )
            except (KeyError, TypeError, ValueError):
                continue  # a run written by something else: not ours to read
            templates = data.get("templates")
            for name, figures in (templates if isinstance(templates, dict) else {}).items():
                if isinstance(figures, dict):
                    run.templates[name] = TemplateRun.from_dict(name, figures)
            out.append(run)
        return out

    def close(self) -> None:
        if self.local is not None:
            self.local.close()


def _object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw is None:
        return {}
    try:
        value = json.loads(text(raw))
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def open_history(registry_root: str | Path) -> RunHistory | FleetRunHistory:
    """The run history a crawl records into and a report reads: the fleet's (this machine's
    ``runs.sqlite`` keeping a copy) when ``SCRAPEC_REDIS_URL`` is set, else the file's.
    Raises :class:`RunHistoryError` when either cannot be opened."""
    local = RunHistory(runs_path(registry_root))
    try:
        fleet = Fleet.from_env()
    except ScrapecError as exc:  # a fleet that cannot be reached: named, the report goes on
        local.close()
        raise RunHistoryError(runs_path(registry_root), f"the fleet's history: {exc}") from exc
    return local if fleet is None else FleetRunHistory(fleet, local)
