"""The operator's morning report: every template of a registry classified, with the evidence.

``scrapec report --registry DIR --out DIR [--since 7d] [--regenerate] [--budget-usd X]
[--samples DIR] [--notify CMD]`` writes ``report.html`` (one self-contained file),
``report.json`` (schema: ``crawler/report_schema.json``, :data:`SCHEMA_VERSION`) and
``summary.md`` (about ten lines), and records its own run in the run history
(:mod:`crawler.runs`), so the next report compares against it.

A template is

* ``broken`` — it cannot give good items now: its ``parser.json`` or active version does not
  load, a fixture fails, or most of its recent sample pages fail;
* ``drifting`` — its parser still runs, but a figure left its usual range: a field's fill rate
  in the latest crawl (or on the sample pages) fell below the band learnt from past runs
  (mean − k·stddev), the layout similarity of its pages fell below its band, pages were
  quarantined or are held waiting for a regeneration, or drift events were seen with no heal;
* ``healed`` — a version regenerated after drift was published within ``--since`` and the
  template passes every check;
* ``healthy`` — everything else that passes.

Evidence comes from the fixtures (:func:`crawler.testing.run_fixture_tests`), recent sample
pages (the page store's held, quarantined and released pages within ``--since``, plus the
pages of ``--samples DIR``: ``<site>/<name>/*.html``, each with an optional ``<stem>.json``
holding its ``url``), parsed by the active version in the sandboxed workers, and the run
history. A template whose files are unreadable gets its own error; the others are reported.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput, ParserFailed, PolicyViolation, RegistryError, ScrapecError
from crawler.fixtures import check_input_file
from crawler.pages import HELD, QUARANTINE, RELEASED, PageStore
from crawler.registry import Registry, atomic_write
from crawler.runs import (
    Band,
    Run,
    RunHistoryError,
    TemplateRun,
    band,
    tier_of,
)
from crawler.testing import Outcome, run_fixture_tests

__all__ = [
    "EXIT_ALERT",
    "EXIT_OK",
    "SCHEMA_VERSION",
    "STATUSES",
    "ReportOptions",
    "build_report",
    "notify",
    "parse_since",
    "write_report",
]

SCHEMA_VERSION = 1
STATUSES = ("healthy", "healed", "drifting", "broken")
EXIT_OK, EXIT_ALERT = 0, 1
MAX_SAMPLES = 50  # sample pages per template
MAX_SAMPLE_BYTES = 10 * 1024 * 1024
BAND_K = 3.0  # a band is mean ± BAND_K · stddev of the past runs
BAND_RUNS = 30  # past runs a band is learnt from (the latest ones)
DEFAULT_LAYOUT = 0.5  # layout similarity below which pages are drift, before a band is learnt
DIFF_LINES = 400
WATCHED_DRIFT = ("layout", "fill_rate", "constant", "emptied")  # drift that items may hide


@dataclass
class ReportOptions:
    """What ``scrapec report`` was asked."""

    registry: str | Path
    out: str | Path | None = None
    fixtures: str | Path | None = None
    state_dir: str | Path | None = None
    since: float = 7 * 86400.0  # seconds
    samples: str | Path | None = None
    regenerate: bool = False
    budget_usd: float | None = None
    layout_threshold: float = DEFAULT_LAYOUT
    now: float | None = None
    log: Callable[[str], None] | None = None


def parse_since(text: str) -> float:
    """``7d``, ``12h``, ``30m``, ``90s`` or a number of seconds; BadInput otherwise."""
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    number, unit = (value[:-1], value[-1]) if value and value[-1] in units else (value, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise BadInput(f"--since {text!r}: expected a duration such as 7d, 12h, 30m or 3600")
    return seconds


# -- sample pages ------------------------------------------------------------------------------


@dataclass
class Sample:
    url: str
    html: str
    where: str  # held, quarantine, released, or the file's path


def _dir_samples(root: Path, template: str, errors: list[str]) -> list[Sample]:
    folder = root / template
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.html"))[:MAX_SAMPLES]:
        try:
            check_input_file(path, MAX_SAMPLE_BYTES)
            html = path.read_bytes().decode("utf-8", "replace")
            url = ""
            meta = path.with_suffix(".json")
            if meta.exists():
                data = json.loads(meta.read_text("utf-8"))
                if not isinstance(data, dict) or not isinstance(data.get("url", ""), str):
                    raise ValueError(f"{meta}: expected an object with a string 'url'")
                url = data.get("url", "")
        except (OSError, ValueError, BadInput) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append(f"sample {path}: unreadable: {reason}")
            continue
        out.append(Sample(url or path.resolve().as_uri(), html, str(path)))
    return out


def _store_samples(
    store: PageStore, template: str, since: float, errors: list[str]
) -> tuple[list[Sample], dict[str, int]]:
    counts: dict[str, int] = {}
    found = []
    for kind in (HELD, QUARANTINE, RELEASED):
        pages = store.pages(kind, template, everyone=True)
        counts[kind] = len(pages)
        for page in pages:
            if page.time >= since:
                found.append((page.time, kind, page))
    out = []
    for _t, kind, page in sorted(found, key=lambda x: -x[0])[:MAX_SAMPLES]:
        try:
            out.append(Sample(page.url, page.html(), kind))
        except OSError as exc:
            errors.append(f"kept page {page.path}: unreadable: {exc.strerror or exc}")
    return out, counts


# -- one template ------------------------------------------------------------------------------


@dataclass
class Check:
    """What the fixtures and sample pages say of a template's active version now."""

    fixtures: Outcome | None = None
    checked: int = 0
    valid: int = 0
    layout: list[float] = field(default_factory=list)
    figures: TemplateRun | None = None
    failures: list[str] = field(default_factory=list)
    failing: list[Sample] = field(default_factory=list)  # the sample pages that fail


def _check(
    reg: Registry,
    template: str,
    samples: list[Sample],
    fixtures: Outcome | None,
    extractor: Any,
) -> Check:
    from crawler.parsing import Page
    from crawler.routing import similarity

    out = Check(fixtures=fixtures, figures=TemplateRun(template))
    assert out.figures is not None
    info = reg.info(template)
    reference = info.reference
    schema = info.load_schema()
    out.figures.fields = sorted(schema.properties) if schema is not None else []
    for sample in samples:
        result = extractor.extract_page(Page(sample.html, sample.url), template, layout=True)
        out.checked += 1
        out.figures.pages += 1
        if result.layout is not None and reference:
            out.layout.append(similarity(result.layout, reference))
        if result.valid and result.item is not None:
            out.valid += 1
            out.figures.add_item(result.item)
        else:
            out.failing.append(sample)
            if len(out.failures) < 10:
                reason = "; ".join(str(e) for e in result.errors)[:300] or "no item"
                out.failures.append(f"{sample.url} ({sample.where}): {reason}")
    if out.layout:
        out.figures.layout = sum(out.layout) / len(out.layout)
    return out


def _bands(past: list[Run], template: str) -> tuple[dict[str, Band], Band | None]:
    """Per field, the fill-rate band of the template over past crawl/extract runs; the band of
    its sample pages' layout similarity over past report runs."""
    series: dict[str, list[float]] = {}
    layouts: list[float] = []
    for run in past[-BAND_RUNS * 3 :]:
        t = run.templates.get(template)
        if t is None:
            continue
        if run.kind == "report":
            if t.layout is not None:
                layouts.append(t.layout)
            continue
        for name, rate in t.fill.items():
            series.setdefault(name, []).append(rate)
    bands = {}
    for name, values in series.items():
        found = band(values[-BAND_RUNS:], BAND_K)
        if found is not None:
            bands[name] = found
    return bands, band(layouts[-BAND_RUNS:], BAND_K, floor=0.02)


def _band_json(b: Band) -> dict[str, Any]:
    return {
        "mean": round(b.mean, 4),
        "std": round(b.std, 4),
        "low": round(b.low, 4),
        "high": round(b.high, 4),
        "n": b.n,
    }


def _versions(info_data: dict[str, Any]) -> list[dict[str, Any]]:
    versions = info_data.get("versions") or {}
    out = []
    for number in sorted(versions, key=lambda v: int(v) if str(v).isdigit() else 0):
        meta = versions[number] if isinstance(versions[number], dict) else {}
        llm = meta.get("llm") or {}
        out.append(
            {
                "version": int(number) if str(number).isdigit() else 0,
                "generator": meta.get("generator"),
                "tier": tier_of(str(meta.get("generator") or "")),
                "created": meta.get("created"),
                "reason": meta.get("reason"),
                "fixtures_passed": list(meta.get("fixtures_passed") or []),
                "llm": {
                    "calls": int(llm.get("calls") or 0),
                    "tokens": int(llm.get("tokens") or 0),
                    "cost": float(llm.get("cost") or 0.0),
                },
            }
        )
    return out


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _diff(reg: Registry, template: str, active: int | None) -> dict[str, Any] | None:
    """The unified diff between the active version and the one before it."""
    if active is None or active <= 1:
        return None
    info = reg.info(template)
    numbers = sorted(int(v) for v in info.data.get("versions", {}) if str(v).isdigit())
    older = [n for n in numbers if n < active]
    if not older:
        return None
    try:
        before = reg.source(template, older[-1]).splitlines()
        after = reg.source(template, active).splitlines()
    except (RegistryError, OSError) as exc:
        return {"from": older[-1], "to": active, "lines": [f"(no diff: {exc})"], "truncated": False}
    lines = list(
        difflib.unified_diff(before, after, f"v{older[-1]}.py", f"v{active}.py", lineterm="", n=2)
    )
    return {
        "from": older[-1],
        "to": active,
        "lines": lines[:DIFF_LINES],
        "truncated": len(lines) > DIFF_LINES,
    }


def _classify(
    entry: dict[str, Any], check: Check | None, since_stamp: str
) -> tuple[str, list[str]]:
    """The status and the evidence lines of one template (``entry`` has its figures)."""
    evidence: list[str] = list(entry["evidence"])
    broken: list[str] = []
    drifting: list[str] = []
    if entry["errors_block"]:
        broken += entry["errors_block"]
    if check is not None:
        fx = check.fixtures
        if fx is not None and fx.total and fx.passed < fx.total:
            broken.append(f"fixtures: {fx.passed}/{fx.total} pass ({fx.note})")
        if check.checked:
            share = check.valid / check.checked
            low = entry["samples"]["valid_band"]
            bound = low["low"] if low else 0.5
            text = f"sample pages: {check.valid}/{check.checked} give a valid item"
            if share < 0.5:
                broken.append(text)
            elif share < min(bound, 1.0) or (low is None and share < 0.9):
                drifting.append(text + (f" (usual ≥ {bound:.0%})" if low else ""))
    for line in entry["band_breaches"]:
        drifting.append(line)
    if entry["held"]:
        drifting.append(f"{entry['held']} pages held, waiting for a regeneration")
    latest = entry["history"]["latest"]
    if latest is not None:
        if latest.get("quarantined"):
            drifting.append(f"latest {latest['kind']}: {latest['quarantined']} pages quarantined")
        # failures and grounding problems show as held or quarantined pages when they matter;
        # these kinds come with items that pass, and only a new version settles them
        watched = {k: v for k, v in (latest.get("drift") or {}).items() if k in WATCHED_DRIFT}
        if watched and not latest.get("regenerations"):
            kinds = ", ".join(f"{k} ×{v}" for k, v in sorted(watched.items()))
            drifting.append(f"latest {latest['kind']}: drift events ({kinds}) and no new version")
    healed = [
        v
        for v in entry["versions"]
        if str(v.get("reason") or "").startswith("regenerated")
        and str(v.get("created") or "") >= since_stamp
        and v.get("version") == entry["active"]
    ]
    if entry["regeneration"] and entry["regeneration"].get("published"):
        healed.append({"version": entry["regeneration"]["published"]})
    flagged = {line.split(":", 1)[0] for line in broken + drifting}
    evidence = [line for line in evidence if line.split(":", 1)[0] not in flagged]
    if broken:
        return "broken", broken + drifting + evidence
    if drifting:
        return "drifting", drifting + evidence
    if healed:
        last = healed[-1]
        note = f"healed: v{last['version']}"
        if last.get("generator"):
            note += f" by {last.get('tier')} ({last.get('created')}: {last.get('reason')})"
        return "healed", [note, *evidence]
    return "healthy", evidence


# -- the report --------------------------------------------------------------------------------


class _Regenerator:
    """``--regenerate``: one runtime over the registry; the LLM tier (when configured) within
    the budget, every template's regeneration cheapest tier first (the runtime's tiers)."""

    def __init__(self, opts: ReportOptions, reg: Registry, log: Callable[[str], None]) -> None:
        from crawler.runtime import Runtime

        self.budget = opts.budget_usd
        llm: Any = "auto"
        if self.budget is not None:
            llm = self._llm(self.budget)
        self.runtime = Runtime(
            reg, state_dir=opts.state_dir, fixtures_dir=opts.fixtures, llm=llm, log=log
        )
        self.spent = 0.0

    @staticmethod
    def _llm(budget: float) -> Any:
        if budget <= 0:
            return None
        from crawler.compiler.llm import LLMConfig, LLMGenerator

        config = LLMConfig.from_env()
        if config is None:
            return None
        config = dataclasses.replace(
            config,
            max_cost_per_run=min(config.max_cost_per_run, budget),
            max_cost_per_template=min(config.max_cost_per_template, budget),
        )
        return LLMGenerator(config)

    def regenerate(self, template: str, failing: list[Sample]) -> dict[str, Any]:
        store = self.runtime.store
        if self.budget is not None and self.spent >= self.budget > 0:
            return {"attempted": False, "note": f"budget ${self.budget:.2f} spent"}
        added = []
        for sample in failing:
            if not store.has(HELD, template, sample.url):
                store.put(HELD, template, sample.url, sample.html, "report: sample page fails")
                added.append(sample.url)
        before = Counter(self.runtime.stats)
        try:
            info = self.runtime.registry.info(template, fresh=True)
            active_before = info.active
            self.runtime.regenerate(template)
            self.runtime.registry.refresh()
            active = self.runtime.registry.info(template, fresh=True).active
        except (ScrapecError, OSError) as exc:
            active_before = active = None
            note = f"regeneration failed: {exc}"
        else:
            note = ""
        finally:
            for url in added:  # a sample page the regeneration did not settle goes back out
                store.remove(HELD, template, url)
        after = Counter(self.runtime.stats)
        cost = (after["llm_cost_micro"] - before["llm_cost_micro"]) / 1e6
        self.spent += cost
        tiers = {
            k.split("/", 1)[1]: after[k] - before[k]
            for k in after
            if k.startswith("regenerated/") and after[k] > before[k]
        }
        published = active if active is not None and active != active_before else None
        return {
            "attempted": True,
            "published": published,
            "tier": next(iter(tiers), None),
            "llm_calls": after["llm_calls"] - before["llm_calls"],
            "llm_tokens": after["llm_tokens"] - before["llm_tokens"],
            "cost": round(cost, 6),
            "note": note or ("published" if published else "no candidate passed the gate"),
        }

    def close(self) -> None:
        self.runtime.close()


def build_report(opts: ReportOptions) -> dict[str, Any]:
    """Check every template and build the report (a dict that ``report_schema.json``
    describes); the run is recorded in the history."""
    from crawler.extract import Extractor

    log = opts.log or (lambda _m: None)
    now = opts.now if opts.now is not None else time.time()
    reg = Registry(opts.registry)
    if not reg.root.is_dir():
        raise BadInput(f"{opts.registry}: registry folder not found")
    since = now - opts.since
    since_stamp = _stamp(since)
    problems: list[str] = []
    store = PageStore(opts.state_dir or reg.root / ".state")
    history: Any = None  # RunHistory, or the fleet's (crawler.fleet.runs)
    past: list[Run] = []
    try:
        from crawler.fleet.runs import open_history

        history = open_history(reg.root)
        past = history.runs()
    except RunHistoryError as exc:
        problems.append(f"{exc}: the report goes on without history (move the file away)")
        history = None
    tests: dict[str, Outcome] = {}
    if opts.fixtures and Path(opts.fixtures).is_dir():
        try:
            tests = run_fixture_tests(reg.root, opts.fixtures)
        except (BadInput, OSError) as exc:
            problems.append(f"fixtures {opts.fixtures}: {exc}")
    samples_root = Path(opts.samples) if opts.samples else None
    if samples_root is not None and not samples_root.is_dir():
        raise BadInput(f"--samples {opts.samples}: no such folder")
    extractor = Extractor(reg)
    regenerator = _Regenerator(opts, reg, log) if opts.regenerate else None
    last_report = next((r for r in reversed(past) if r.kind == "report"), None)
    run = Run("report", now, now)
    templates: list[dict[str, Any]] = []
    try:
        names = reg.templates()
        for name in names:
            templates.append(
                _template(
                    name,
                    reg,
                    store,
                    tests,
                    samples_root,
                    extractor,
                    past,
                    since,
                    since_stamp,
                    opts,
                    regenerator,
                    last_report,
                    run,
                )
            )
    finally:
        if regenerator is not None:
            regenerator.close()
    run.finished = time.time()
    window = [r for r in past if r.started >= since]
    summary = _summary(templates, window, last_report, since_stamp)
    report = {
        "schema_version": SCHEMA_VERSION,
        "generated": _stamp(now),
        "registry": str(reg.root),
        "since": since_stamp,
        "since_seconds": opts.since,
        "summary": summary,
        "templates": templates,
        "errors": problems,
        "exit_code": EXIT_ALERT
        if any(t["status"] in ("broken", "drifting") for t in templates)
        else EXIT_OK,
    }
    run.totals = {
        "pages_checked": summary["pages_checked"],
        "by_status": summary["by_status"],
        "llm_calls": summary["llm"]["report_calls"],
        "llm_cost": summary["llm"]["report_cost"],
        "wall_seconds": round(run.wall, 3),
    }
    if history is not None:
        try:
            report["run_id"] = history.record(run)
        except RunHistoryError as exc:
            problems.append(str(exc))
        finally:
            history.close()
    return report


def _template(
    name: str,
    reg: Registry,
    store: PageStore,
    tests: dict[str, Outcome],
    samples_root: Path | None,
    extractor: Any,
    past: list[Run],
    since: float,
    since_stamp: str,
    opts: ReportOptions,
    regenerator: _Regenerator | None,
    last_report: Run | None,
    run: Run,
) -> dict[str, Any]:
    errors: list[str] = []
    blocking: list[str] = []
    entry: dict[str, Any] = {
        "template": name,
        "status": "broken",
        "evidence": [],
        "errors": errors,
        "active": None,
        "schema": "",
        "versions": [],
        "fixtures": None,
        "samples": {
            "checked": 0,
            "valid": 0,
            "layout": None,
            "fill": {},
            "failures": [],
            "valid_band": None,
            "layout_band": None,
        },
        "history": {"runs": 0, "latest": None, "bands": {}, "fill_series": [], "layout_series": []},
        "band_breaches": [],
        "held": 0,
        "quarantined": 0,
        "regeneration": None,
        "llm": {"calls": 0, "tokens": 0, "cost": 0.0},
        "diff": None,
        "previous_status": None,
        "errors_block": blocking,
    }
    if last_report is not None and name in last_report.templates:
        entry["previous_status"] = last_report.templates[name].status
    kept: list[Sample] = []
    try:
        kept, counts = _store_samples(store, name, since, errors)
        entry["held"], entry["quarantined"] = counts[HELD], counts[QUARANTINE]
    except OSError as exc:
        errors.append(f"page store {store.root}: {exc}")
    if samples_root is not None:
        kept += _dir_samples(samples_root, name, errors)
    check: Check | None = None
    try:
        info = reg.info(name)
        entry["active"], entry["schema"] = info.active, info.schema
        entry["versions"] = _versions(info.data)
        reg.active_source(name)  # loads: the policy, the file
        check = _check(reg, name, kept, tests.get(name), extractor)
        if regenerator is not None and (_failing(check) or entry["held"]):
            entry["regeneration"] = regenerator.regenerate(name, check.failing)
            if entry["regeneration"].get("published"):
                reg.refresh()
                info = reg.info(name, fresh=True)
                entry["active"], entry["versions"] = info.active, _versions(info.data)
                fresh = (
                    run_fixture_tests(reg.root, opts.fixtures, name)
                    if (opts.fixtures and Path(opts.fixtures).is_dir())
                    else {}
                )
                check = _check(reg, name, kept, fresh.get(name), extractor)
                entry["evidence"].append(
                    f"regenerated now: v{entry['active']} by {entry['regeneration']['tier']}"
                )
            _kept, counts = _store_samples(store, name, since, [])
            entry["held"], entry["quarantined"] = counts[HELD], counts[QUARANTINE]
        entry["diff"] = _diff(reg, name, entry["active"])
    except (RegistryError, PolicyViolation, ParserFailed, BadInput, OSError) as exc:
        blocking.append(f"cannot load: {exc}")
        errors.append(str(exc))
    for v in entry["versions"]:
        for key in ("calls", "tokens", "cost"):
            entry["llm"][key] += v["llm"][key]
    entry["llm"]["cost"] = round(entry["llm"]["cost"], 6)
    if check is not None:
        _evidence(entry, check, past, name, opts.layout_threshold, _stamp(run.started))
    status, evidence = _classify(entry, check, since_stamp)
    entry["status"], entry["evidence"] = status, evidence
    figures = check.figures if check is not None and check.figures else TemplateRun(name)
    figures.status = status
    figures.held, figures.quarantined = entry["held"], entry["quarantined"]
    regen = entry["regeneration"] or {}
    if regen.get("published"):
        figures.regenerations = {str(regen.get("tier")): 1}
    figures.llm_calls = int(regen.get("llm_calls") or 0)
    figures.llm_tokens = int(regen.get("llm_tokens") or 0)
    figures.llm_cost = float(regen.get("cost") or 0.0)
    run.templates[name] = figures
    del entry["errors_block"], entry["band_breaches"]
    return entry


def _failing(check: Check) -> bool:
    fx = check.fixtures
    return bool(
        (fx is not None and fx.total and fx.passed < fx.total)
        or (check.checked and check.valid / check.checked < 0.5)
    )


def _evidence(
    entry: dict[str, Any],
    check: Check,
    past: list[Run],
    name: str,
    layout_threshold: float,
    now: str,
) -> None:
    """Fill the entry's samples and history parts; the band breaches found."""
    bands, layout_band = _bands(past, name)
    samples = entry["samples"]
    samples["checked"], samples["valid"] = check.checked, check.valid
    samples["failures"] = check.failures
    figures = check.figures
    if figures is not None:
        samples["fill"] = {k: round(v, 4) for k, v in figures.fill.items()}
        samples["layout"] = None if figures.layout is None else round(figures.layout, 4)
    shares = [
        r.templates[name].items / r.templates[name].pages
        for r in past
        if r.kind == "report" and name in r.templates and r.templates[name].pages
    ]
    valid_band = band(shares[-BAND_RUNS:], BAND_K, floor=0.02)
    samples["valid_band"] = _band_json(valid_band) if valid_band else None
    samples["layout_band"] = _band_json(layout_band) if layout_band else None
    hist = entry["history"]
    mine = [r for r in past if name in r.templates]
    hist["runs"] = len(mine)
    crawls = [r for r in mine if r.kind != "report" and r.templates[name].items]
    hist["fill_series"] = [
        {
            "time": _stamp(r.started),
            "kind": r.kind,
            "fill": {k: round(v, 4) for k, v in r.templates[name].fill.items()},
        }
        for r in crawls[-BAND_RUNS * 2 :]
    ]
    hist["layout_series"] = [
        {"time": _stamp(r.started), "value": round(t.layout, 4)}
        for r in mine
        if r.kind == "report" and (t := r.templates[name]).layout is not None
    ][-BAND_RUNS * 2 :]
    if figures is not None and figures.layout is not None:
        hist["layout_series"].append({"time": now, "value": round(figures.layout, 4)})
    breaches = entry["band_breaches"]
    latest_run = next((r for r in reversed(mine) if r.kind != "report"), None)
    if latest_run is not None:
        t = latest_run.templates[name]
        latest = {"time": _stamp(latest_run.started), "kind": latest_run.kind, **t.as_dict()}
        latest["fill"] = {k: round(v, 4) for k, v in t.fill.items()}
        hist["latest"] = latest
        earlier = [r for r in past if r is not latest_run and r.started <= latest_run.started]
        before, _ = _bands(earlier, name)
        for field_name, rate in sorted(t.fill.items()) if t.items else ():
            b = before.get(field_name)
            if b is not None and b.below(rate):
                breaches.append(
                    f"fill rate of {field_name!r}: {rate:.0%} in the latest {latest_run.kind} "
                    f"(usual {b.mean:.0%} ± {BAND_K:g}·{b.std:.0%} over {b.n} runs, low {b.low:.0%})"
                )
    hist["bands"] = {k: _band_json(b) for k, b in sorted(bands.items())}
    if figures is not None and figures.layout is not None:
        if layout_band is not None and layout_band.below(figures.layout):
            breaches.append(
                f"layout similarity of the sample pages: {figures.layout:.2f} (usual "
                f"{layout_band.mean:.2f}, low {layout_band.low:.2f} over {layout_band.n} reports)"
            )
        elif layout_band is None and figures.layout < layout_threshold:
            breaches.append(
                f"layout similarity of the sample pages: {figures.layout:.2f} < "
                f"{layout_threshold:.2f} (no band learnt yet)"
            )
    fx = check.fixtures
    if fx is not None:
        entry["fixtures"] = {
            "passed": fx.passed,
            "total": fx.total,
            "note": fx.note,
            "failures": fx.lines[:20],
        }
        entry["evidence"].append(f"fixtures: {fx.passed}/{fx.total} pass")
    if check.checked:
        entry["evidence"].append(f"sample pages: {check.valid}/{check.checked} valid")


def _summary(
    templates: list[dict[str, Any]], window: list[Run], last_report: Run | None, since_stamp: str
) -> dict[str, Any]:
    by_status = {s: sum(1 for t in templates if t["status"] == s) for s in STATUSES}
    tiers: Counter[str] = Counter()  # versions regenerated in the window (this report's too)
    for t in templates:
        for v in t["versions"]:
            reason, created = str(v.get("reason") or ""), str(v.get("created") or "")
            if reason.startswith("regenerated") and created >= since_stamp:
                tiers[str(v["tier"])] += 1
    crawl_calls = sum(int(r.totals.get("llm_calls") or 0) for r in window if r.kind != "report")
    crawl_cost = sum(float(r.totals.get("llm_cost") or 0.0) for r in window if r.kind != "report")
    report_calls = sum(int((t.get("regeneration") or {}).get("llm_calls") or 0) for t in templates)
    report_cost = sum(float((t.get("regeneration") or {}).get("cost") or 0.0) for t in templates)
    changes = []
    if last_report is None:
        changes.append("first report: nothing to compare with")
    else:
        for t in templates:
            before = t["previous_status"]
            if before is None:
                changes.append(f"{t['template']}: new ({t['status']})")
            elif before != t["status"]:
                changes.append(f"{t['template']}: {before} → {t['status']}")
        stamp = _stamp(last_report.started)
        for t in templates:
            for v in t["versions"]:
                if str(v.get("created") or "") > stamp:
                    changes.append(f"{t['template']}: v{v['version']} published by {v['tier']}")
        gone = sorted(set(last_report.templates) - {t["template"] for t in templates})
        changes += [f"{g}: no longer in the registry" for g in gone]
        if not changes:
            changes.append(
                f"no status changed since the last report ({_stamp(last_report.started)})"
            )
    return {
        "templates": len(templates),
        "by_status": by_status,
        "regenerations_by_tier": dict(sorted(tiers.items())),
        "llm": {
            "calls": crawl_calls + report_calls,
            "cost": round(crawl_cost + report_cost, 6),
            "report_calls": report_calls,
            "report_cost": round(report_cost, 6),
        },
        "pages_checked": sum(t["samples"]["checked"] for t in templates)
        + sum((t["fixtures"] or {}).get("total", 0) for t in templates),
        "runs_in_window": len(window),
        "changes": changes,
        "last_report": None if last_report is None else _stamp(last_report.started),
    }


def summary_markdown(report: dict[str, Any]) -> str:
    """About ten lines for chat or e-mail."""
    s = report["summary"]
    counts = ", ".join(f"{n} {k}" for k, n in s["by_status"].items() if n) or "no templates"
    bad = [t for t in report["templates"] if t["status"] in ("broken", "drifting")]
    tiers = ", ".join(f"{k} {v}" for k, v in s["regenerations_by_tier"].items()) or "none"
    verdict = "ALERT" if report["exit_code"] else "OK"
    lines = [
        f"**scrapec report {verdict}** — {report['generated']} — `{report['registry']}`",
        f"- templates: {counts}",
        f"- regenerations since {report['since']}: {tiers}; LLM {s['llm']['calls']} calls, "
        f"${s['llm']['cost']:.4f}",
        f"- pages checked: {s['pages_checked']}; runs in the window: {s['runs_in_window']}",
    ]
    for t in bad[:4]:
        lines.append(f"- **{t['status']}** {t['template']}: {(t['evidence'] or ['?'])[0]}")
    if len(bad) > 4:
        lines.append(f"- … and {len(bad) - 4} more broken or drifting")
    lines.append("- changes: " + "; ".join(s["changes"][:3]))
    for problem in report["errors"][:1]:
        lines.append(f"- error: {problem}")
    return "\n".join(lines) + "\n"


def write_report(opts: ReportOptions) -> tuple[dict[str, Any], list[Path]]:
    """Build the report and write report.html, report.json and summary.md into ``opts.out``."""
    from crawler.report_html import render_html

    if opts.out is None:
        raise BadInput("report: no --out folder")
    report = build_report(opts)
    folder = Path(opts.out)
    paths = [folder / "report.html", folder / "report.json", folder / "summary.md"]
    atomic_write(paths[0], render_html(report).encode("utf-8"))
    atomic_write(
        paths[1], (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    atomic_write(paths[2], summary_markdown(report).encode("utf-8"))
    return report, paths


def notify(target: str, summary: str, timeout: float = 30.0) -> str | None:
    """Send the summary: POST it to an ``http(s)://`` URL, or run ``target`` (a command line,
    split like a shell's, no shell) with it on stdin. None when sent, else why not."""
    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(
            target,
            data=summary.encode("utf-8"),
            headers={"Content-Type": "text/markdown; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                if response.status >= 300:
                    return f"--notify {target}: HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            return f"--notify {target}: {exc}"
        return None
    try:
        argv = shlex.split(target)
    except ValueError as exc:
        return f"--notify {target!r}: {exc}"
    if not argv:
        return "--notify: empty command"
    try:
        proc = subprocess.run(
            argv, input=summary, text=True, capture_output=True, timeout=timeout, env=os.environ
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"--notify {target!r}: {exc}"
    if proc.returncode:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [""]
        return f"--notify {target!r}: exit {proc.returncode} {tail[0]}".rstrip()
    return None
