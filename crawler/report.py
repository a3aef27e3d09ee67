"""The nightly regeneration report: what every template runs, what was regenerated and why,
what it cost, whether its fixtures still pass, and what is held or quarantined.

``scrapec report --registry DIR --out DIR`` writes ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput, RegistryError
from crawler.registry import Registry, atomic_write
from crawler.runtime import PageStore
from crawler.testing import run_fixture_tests

__all__ = ["build_report", "write_report"]


def build_report(
    registry: str | Path, fixtures: str | Path | None = None, state_dir: str | Path | None = None
) -> dict[str, Any]:
    reg = Registry(registry)
    if not reg.root.is_dir():
        raise BadInput(f"{registry}: registry folder not found")
    store = PageStore(state_dir or reg.root / ".state")
    tests = {}
    if fixtures and Path(fixtures).is_dir():
        tests = run_fixture_tests(reg.root, fixtures)
    templates: list[dict[str, Any]] = []
    for name in reg.templates():
        try:
            info = reg.info(name)
        except RegistryError as exc:
            templates.append({"template": name, "error": str(exc)})
            continue
        versions = info.data.get("versions", {})
        llm = {"calls": 0, "tokens": 0, "cost": 0.0}
        history = []
        for number in sorted(versions, key=int):
            meta = versions[number]
            for key in llm:
                llm[key] += (meta.get("llm") or {}).get(key, 0)
            history.append(
                {
                    "version": int(number),
                    "generator": meta.get("generator"),
                    "created": meta.get("created"),
                    "reason": meta.get("reason"),
                }
            )
        outcome = tests.get(name)
        templates.append(
            {
                "template": name,
                "schema": info.schema,
                "active": info.active,
                "render": bool(info.data.get("render")),
                "versions": history,
                "llm": llm,
                "fixtures": None
                if outcome is None
                else {
                    "passed": outcome.passed,
                    "total": outcome.total,
                    "failures": outcome.lines[:20],
                },
                "held": len(store.pages("held", name)),
                "quarantined": len(store.pages("quarantine", name)),
            }
        )
    unrouted = [m for m in store.pages("quarantine") if m.template.startswith("new/")]
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "registry": str(reg.root),
        "templates": templates,
        "totals": {
            "templates": len(templates),
            "versions": sum(len(t.get("versions", [])) for t in templates),
            "llm_calls": sum(t.get("llm", {}).get("calls", 0) for t in templates),
            "llm_cost": round(sum(t.get("llm", {}).get("cost", 0.0) for t in templates), 6),
            "held": sum(t.get("held", 0) for t in templates),
            "quarantined": sum(t.get("quarantined", 0) for t in templates) + len(unrouted),
            "fixture_failures": sum(
                1
                for t in templates
                if t.get("fixtures") and t["fixtures"]["passed"] < t["fixtures"]["total"]
            ),
        },
        "unrouted_quarantine": [{"url": m.url, "reason": m.reason} for m in unrouted[:100]],
    }


def _markdown(report: dict[str, Any]) -> str:
    totals = report["totals"]
    lines = [
        f"# scrapec regeneration report — {report['generated']}",
        "",
        f"Registry `{report['registry']}`: {totals['templates']} templates, {totals['versions']} versions, "
        f"{totals['llm_calls']} LLM calls (${totals['llm_cost']:.4f}), {totals['held']} held, "
        f"{totals['quarantined']} quarantined, {totals['fixture_failures']} templates failing fixtures.",
        "",
        "| template | active | generator | last change | fixtures | held | quarantined | LLM calls | cost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in report["templates"]:
        if "error" in t:
            lines.append(f"| {t['template']} | ERROR: {t['error']} | | | | | | | |")
            continue
        last = t["versions"][-1] if t["versions"] else {}
        fx = t["fixtures"]
        fx_text = (
            "—"
            if fx is None
            else f"{fx['passed']}/{fx['total']}"
            + ("" if fx["passed"] == fx["total"] else " **FAIL**")
        )
        lines.append(
            f"| {t['template']} | v{t['active']} | {last.get('generator')} | {last.get('created')}: {last.get('reason')} | "
            f"{fx_text} | {t['held']} | {t['quarantined']} | {t['llm']['calls']} | ${t['llm']['cost']:.4f} |"
        )
    for t in report["templates"]:
        if t.get("fixtures") and t["fixtures"]["failures"]:
            lines += ["", f"## {t['template']}: fixture failures", ""] + [
                f"- {line}" for line in t["fixtures"]["failures"]
            ]
    if report["unrouted_quarantine"]:
        lines += ["", "## Pages no template fits", ""] + [
            f"- {m['url']}: {m['reason']}" for m in report["unrouted_quarantine"]
        ]
    return "\n".join(lines) + "\n"


def write_report(
    registry: str | Path,
    out: str | Path,
    fixtures: str | Path | None = None,
    state_dir: str | Path | None = None,
) -> list[Path]:
    report = build_report(registry, fixtures, state_dir)
    folder = Path(out)
    atomic_write(
        folder / "report.json",
        (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    )
    atomic_write(folder / "report.md", _markdown(report).encode("utf-8"))
    return [folder / "report.json", folder / "report.md"]
