"""The run history: what every crawl, ``extract --heal`` and ``report`` run saw, per template,
in SQLite beside the registry (``<registry>/runs.sqlite``).

One :class:`Run` per run; one :class:`TemplateRun` per template it touched: pages, items, the
fill rate of every field, drift events by kind, pages held, released and quarantined,
regenerations by tier, LLM calls, tokens and cost, and (for report runs) the layout similarity
of the sample pages and the status the report gave. ``scrapec report`` reads the past runs to
learn each template's usual figures (:func:`band`: mean ± k·stddev over past runs) instead of
fixed thresholds.

The file is opened in WAL mode with a busy timeout, so a crawl may record its run while a report
reads. A file that is not a run history (corrupt, or another database) raises
:class:`RunHistoryError` naming it; the report then goes on without history.

:func:`record_run` is the one call a caller needs::

    record_run(registry, "extract", started=t0, outcomes=outcomes, stats=runtime.stats)
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import ScrapecError
from crawler.history import escape_surrogates

__all__ = [
    "RUNS_FILE",
    "Run",
    "RunHistory",
    "RunHistoryError",
    "RunRecorder",
    "TemplateRun",
    "band",
    "record_run",
    "runs_path",
]

RUNS_FILE = "runs.sqlite"
KINDS = ("crawl", "extract", "report")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL NOT NULL,
    totals TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
CREATE TABLE IF NOT EXISTS template_runs (
    run INTEGER NOT NULL REFERENCES runs(id),
    template TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run, template)
);
"""


class RunHistoryError(ScrapecError):
    """The run history cannot be read or written: ``path`` is the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: run history unusable: {reason}")
        self.path = str(path)
        self.reason = reason


def runs_path(registry: str | Path) -> Path:
    """Where the run history of ``registry`` lives."""
    return Path(registry) / RUNS_FILE


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


@dataclass
class TemplateRun:
    """The figures of one template in one run."""

    template: str
    pages: int = 0
    items: int = 0
    filled: dict[str, int] = field(default_factory=dict)  # field -> items that fill it
    drift: dict[str, int] = field(default_factory=dict)  # drift kind -> events
    held: int = 0
    released: int = 0
    quarantined: int = 0
    regenerations: dict[str, int] = field(default_factory=dict)  # tier -> versions published
    llm_calls: int = 0
    llm_tokens: int = 0
    llm_cost: float = 0.0
    layout: float | None = None  # mean layout similarity of the pages checked (report runs)
    status: str | None = None  # the report's classification (report runs)
    fields: list[str] = field(default_factory=list)  # the schema's fields (fill 0 counts too)

    @property
    def fill(self) -> dict[str, float]:
        """Field -> share of this run's items that fill it (every known field, 0 included)."""
        if not self.items:
            return {}
        names = sorted(set(self.fields) | set(self.filled))
        return {n: self.filled.get(n, 0) / self.items for n in names}

    def add_item(self, item: Mapping[str, Any]) -> None:
        self.items += 1
        for name, value in item.items():
            if name.startswith("_"):
                continue  # provenance (_url, _template, _parser_version)
            if _filled(value):
                self.filled[name] = self.filled.get(name, 0) + 1
            else:
                self.filled.setdefault(name, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "items": self.items,
            "filled": dict(sorted(self.filled.items())),
            "fields": sorted(self.fields),
            "drift": dict(sorted(self.drift.items())),
            "held": self.held,
            "released": self.released,
            "quarantined": self.quarantined,
            "regenerations": dict(sorted(self.regenerations.items())),
            "llm_calls": self.llm_calls,
            "llm_tokens": self.llm_tokens,
            "llm_cost": round(self.llm_cost, 6),
            "layout": None if self.layout is None else round(self.layout, 4),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, template: str, data: Mapping[str, Any]) -> TemplateRun:
        def ints(value: Any) -> dict[str, int]:
            if not isinstance(value, dict):
                return {}
            return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}

        layout = data.get("layout")
        status = data.get("status")
        return cls(
            template,
            pages=int(data.get("pages") or 0),
            items=int(data.get("items") or 0),
            filled=ints(data.get("filled")),
            drift=ints(data.get("drift")),
            held=int(data.get("held") or 0),
            released=int(data.get("released") or 0),
            quarantined=int(data.get("quarantined") or 0),
            regenerations=ints(data.get("regenerations")),
            llm_calls=int(data.get("llm_calls") or 0),
            llm_tokens=int(data.get("llm_tokens") or 0),
            llm_cost=float(data.get("llm_cost") or 0.0),
            layout=float(layout) if isinstance(layout, int | float) else None,
            status=str(status) if isinstance(status, str) else None,
            fields=[str(f) for f in data.get("fields") or [] if isinstance(f, str)],
        )


@dataclass
class Run:
    """One run: its kind (``crawl``, ``extract`` or ``report``), when, and per template."""

    kind: str
    started: float
    finished: float
    templates: dict[str, TemplateRun] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)  # run-wide figures (LLM, pages, …)
    id: int | None = None

    @property
    def wall(self) -> float:
        return max(0.0, self.finished - self.started)

    def template(self, name: str) -> TemplateRun:
        found = self.templates.get(name)
        if found is None:
            found = self.templates[name] = TemplateRun(name)
        return found


class RunHistory:
    """The run history file of one registry. Safe to share between processes (SQLite WAL, a
    busy timeout); not between threads (one per thread, as the report and the extension do)."""

    def __init__(self, path: str | Path, create: bool = True, timeout: float = 30.0) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise RunHistoryError(self.path, "no such file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise RunHistoryError(self.path, str(exc)) from exc
        try:
            self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif row[0] != str(SCHEMA_VERSION):
                raise RunHistoryError(
                    self.path, f"schema version {row[0]!r}, this scrapec reads {SCHEMA_VERSION}"
                )
        except sqlite3.Error as exc:
            self._db.close()
            raise RunHistoryError(self.path, f"not a run history ({exc})") from exc
        except RunHistoryError:
            self._db.close()
            raise

    def record(self, run: Run) -> int:
        """Write one run (one transaction); its id."""
        if run.kind not in KINDS:
            raise ValueError(f"unknown run kind {run.kind!r}: one of {', '.join(KINDS)}")
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO runs(kind, started, finished, totals) VALUES (?, ?, ?, ?)",
                    (run.kind, run.started, run.finished, json.dumps(run.totals, sort_keys=True)),
                )
                run_id = int(cursor.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO template_runs(run, template, data) VALUES (?, ?, ?)",
                    [
                        (run_id, escape_surrogates(name), json.dumps(t.as_dict()))
                        for name, t in sorted(run.templates.items())
                    ],
                )
        except sqlite3.Error as exc:
            raise RunHistoryError(self.path, f"cannot write: {exc}") from exc
        run.id = run_id
        return run_id

    def runs(self, since: float | None = None, kinds: Iterable[str] | None = None) -> list[Run]:
        """Runs started at or after ``since`` (all when None), oldest first."""
        wanted = list(kinds) if kinds is not None else list(KINDS)
        marks = ",".join("?" * len(wanted))
        try:
            rows = self._db.execute(
                f"SELECT id, kind, started, finished, totals FROM runs "
                f"WHERE started >= ? AND kind IN ({marks}) ORDER BY started, id",
                (since if since is not None else -math.inf, *wanted),
            ).fetchall()
            found: dict[int, Run] = {}
            for run_id, kind, started, finished, totals in rows:
                found[run_id] = Run(
                    kind, float(started), float(finished), totals=_object(totals), id=run_id
                )
            if found:
                first = min(found)
                for run_id, template, data in self._db.execute(
                    "SELECT run, template, data FROM template_runs WHERE run >= ?", (first,)
                ):
                    run = found.get(run_id)
                    if run is not None:
                        run.templates[template] = TemplateRun.from_dict(template, _object(data))
        except sqlite3.Error as exc:
            raise RunHistoryError(self.path, f"cannot read: {exc}") from exc
        return list(found.values())

    def close(self) -> None:
        self._db.close()


def _object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class RunRecorder:
    """Collects one run's figures as it goes: page outcomes (:meth:`outcome`), items written
    (:meth:`item`), and at the end the runtime's counters and the registry's new versions
    (:meth:`finish`)."""

    def __init__(
        self, kind: str, started: float | None = None, items_from_outcomes: bool = True
    ) -> None:
        self.run = Run(kind, started if started is not None else time.time(), 0.0)
        # a crawl counts the items the feed got (:meth:`item`), not the outcomes' items
        self.items_from_outcomes = items_from_outcomes

    def outcome(self, outcome: Any) -> None:
        """One page's :class:`~crawler.runtime.PageOutcome` (its released outcomes too); its
        items count unless the recorder was made with ``items_from_outcomes=False``."""
        self._page(outcome, top=True)

    def _page(self, outcome: Any, top: bool) -> None:
        template = getattr(outcome, "template", None)
        status = str(getattr(outcome, "status", ""))
        if template:
            t = self.run.template(template)
            if top:
                t.pages += 1
            for event in getattr(outcome, "events", None) or []:
                t.drift[event.kind] = t.drift.get(event.kind, 0) + 1
            if status == "held":
                t.held += 1
            elif status == "quarantined":
                t.quarantined += 1
            elif not top and status == "ok":
                t.released += 1
            if status == "ok" and self.items_from_outcomes and outcome.item is not None:
                t.add_item(outcome.item)
        for other in getattr(outcome, "released", None) or []:
            self._page(other, top=False)

    def item(self, item: Mapping[str, Any]) -> None:
        """An item the crawl wrote (with its ``_template``)."""
        template = item.get("_template")
        if isinstance(template, str) and template:
            self.run.template(template).add_item(item)

    def finish(
        self,
        registry: str | Path | None = None,
        stats: Mapping[str, Any] | None = None,
        finished: float | None = None,
    ) -> Run:
        """Close the run: regenerations and LLM usage per template from the versions the
        registry published during the run, run-wide figures from the runtime's ``stats``."""
        run = self.run
        run.finished = finished if finished is not None else time.time()
        if registry is not None:
            _published(Path(registry), run)
        if stats is not None:
            counts = {k: v for k, v in stats.items() if isinstance(v, int | float)}
            cost = counts.pop("llm_cost_micro", None)
            if cost is not None:
                counts["llm_cost"] = cost / 1e6
            run.totals.update(counts)
        run.totals["wall_seconds"] = round(run.wall, 3)
        return run


def _published(registry: Path, run: Run) -> None:
    """Versions published in ``registry`` between the run's start and end: regenerations by
    tier and the LLM usage they recorded, per template seen; the schema's fields of each."""
    from crawler.exceptions import RegistryError
    from crawler.fleet import open_registry

    if not Path(registry).is_dir():
        return
    try:
        reg = open_registry(registry)  # the fleet's when SCRAPEC_REDIS_URL is set
    except RegistryError:
        return  # the versions are not known: the run is recorded without them
    # ``created`` has whole seconds: a version of the run's first second counts, and only for
    # a template the run saw pages of (a run regenerates only those)
    from crawler.registry import publisher

    me = publisher()
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.finished + 1))
    for name in sorted(run.templates):
        try:
            info = reg.info(name)
        except RegistryError:
            continue
        for meta in (info.data.get("versions") or {}).values():
            created = str(meta.get("created") or "")
            if not (start <= created <= end) or not str(meta.get("reason", "")).startswith(
                "regenerated"
            ):
                continue
            if meta.get("publisher") not in (None, me):
                continue  # another process's (a fleet, or two crawls on one registry)
            t = run.templates[name]
            tier = tier_of(str(meta.get("generator") or ""))
            t.regenerations[tier] = t.regenerations.get(tier, 0) + 1
            llm = meta.get("llm") or {}
            t.llm_calls += int(llm.get("calls") or 0)
            t.llm_tokens += int(llm.get("tokens") or 0)
            t.llm_cost += float(llm.get("cost") or 0.0)
        if not run.templates[name].fields:
            try:
                schema = info.load_schema()
            except ScrapecError:
                schema = None
            if schema is not None:
                run.templates[name].fields = sorted(schema.properties)


def tier_of(generator: str) -> str:
    """The tier that made a version: ``repair``, ``induce``, ``llm`` (``llm:<model>``) or as
    given (``manual``)."""
    return "llm" if generator.startswith("llm") else generator or "unknown"


def record_run(
    registry: str | Path,
    kind: str,
    *,
    started: float,
    finished: float | None = None,
    outcomes: Iterable[Any] = (),
    items: Iterable[Mapping[str, Any]] | None = None,
    stats: Mapping[str, Any] | None = None,
    extra: Mapping[str, TemplateRun] | None = None,
) -> int:
    """Record one run in ``<registry>/runs.sqlite``; its id.

    ``outcomes``: the :class:`~crawler.runtime.PageOutcome` of every page (released ones
    inside); ``items``: the items written, when they are counted apart from the outcomes;
    ``stats``: the runtime's counters (LLM calls, tokens, cost; drift totals); ``extra``:
    figures the caller measured itself, per template (merged over what the outcomes gave).
    Raises :class:`RunHistoryError` when the history cannot be written."""
    recorder = RunRecorder(kind, started, items_from_outcomes=items is None)
    for one in outcomes:
        recorder.outcome(one)
    for item in items or ():
        recorder.item(item)
    run = recorder.finish(registry, stats, finished)
    for name, figures in (extra or {}).items():
        run.templates[name] = _merge(run.templates.get(name), figures)
    from crawler.fleet.runs import open_history

    history = open_history(registry)
    try:
        return history.record(run)
    finally:
        history.close()


def _merge(base: TemplateRun | None, extra: TemplateRun) -> TemplateRun:
    if base is None:
        return extra
    base.pages = max(base.pages, extra.pages)
    if extra.items:
        base.items, base.filled = extra.items, dict(extra.filled)
    for attr in ("drift", "regenerations"):
        merged = Counter(getattr(base, attr))
        merged.update(getattr(extra, attr))
        setattr(base, attr, dict(merged))
    base.held, base.released = max(base.held, extra.held), max(base.released, extra.released)
    base.quarantined = max(base.quarantined, extra.quarantined)
    base.layout = extra.layout if extra.layout is not None else base.layout
    base.status = extra.status or base.status
    base.fields = sorted(set(base.fields) | set(extra.fields))
    return base


@dataclass(frozen=True)
class Band:
    """The usual range of a figure over past runs: ``mean ± k·stddev`` (``n`` runs)."""

    mean: float
    std: float
    low: float
    high: float
    n: int

    def below(self, value: float) -> bool:
        return value < self.low


def band(values: list[float], k: float = 3.0, floor: float = 0.05) -> Band | None:
    """The tolerance band learnt from past values: mean ± k·stddev, the stddev at least
    ``floor`` (a figure that never moved would flag any wobble); None with fewer than 3."""
    if len(values) < 3:
        return None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    spread = k * max(std, floor)
    return Band(mean, std, mean - spread, mean + spread, len(values))
