"""The compiler: labelled pages in, a verified, published parser version out.

``compile_template`` runs the generators cheapest first — ``induce`` (wrapper induction, no LLM),
then ``llm`` when configured (``SCRAPEC_LLM_MODEL``) — and publishes the first candidate that
passes the gate (policy, schema, grounding, every fixture). Nothing that fails is published.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput, CompileError
from crawler.fixtures import Fixture, load_fixtures
from crawler.gate import GateReport, publish_passed, run_gate
from crawler.registry import Registry, check_template_id
from crawler.schemas import Schema, load_schema

__all__ = ["CompileResult", "compile_fixtures", "compile_template"]

GENERATORS = ("auto", "induce", "llm")


@dataclass
class CompileResult:
    """What ``scrapec compile`` reports."""

    template: str
    version: int | None
    generator: str | None
    cases: int
    cases_passed: int
    llm_calls: int = 0
    llm_tokens: int = 0
    llm_cost: float = 0.0
    seconds: float = 0.0
    report: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # per field: how, exact, held_out
    missing: dict[str, str] = field(default_factory=dict)  # fields left out, with the reason

    @property
    def published(self) -> bool:
        return self.version is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "version": self.version,
            "generator": self.generator,
            "published": self.published,
            "cases": self.cases,
            "cases_passed": self.cases_passed,
            "llm_calls": self.llm_calls,
            "llm_tokens": self.llm_tokens,
            "llm_cost": round(self.llm_cost, 6),
            "seconds": round(self.seconds, 3),
            "report": self.report,
            "notes": self.notes,
            "fields": self.fields,
            "missing_fields": self.missing,
        }


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compile_fixtures(
    fixtures: list[Fixture],
    schema: Schema,
    registry: Registry,
    template: str,
    generator: str = "auto",
    reason: str = "new template",
    previous: str | None = None,
    progress: Callable[[str], None] | None = None,
    llm_generator: Any = None,
    partial: bool = False,
) -> CompileResult:
    """Generate, gate and publish a parser for ``template`` from its fixtures.

    With ``partial``, fixtures may know only some fields (labels from labellers, not people).
    """
    if generator not in GENERATORS:
        raise BadInput(f"unknown generator {generator!r}: choose one of {', '.join(GENERATORS)}")
    if not fixtures:
        raise BadInput(
            f"no fixtures for template {template!r}: add fixtures/<site>/<template>/<case>/{{page.html, meta.json, expected.json}}"
        )
    start = time.perf_counter()
    say = progress or (lambda _m: None)
    result = CompileResult(template, None, None, len(fixtures), 0)
    report: GateReport | None = None
    source: str | None = None
    made_by: str | None = None
    llm_usage: dict[str, Any] = {"calls": 0, "tokens": 0, "cost": 0.0}

    induced: tuple[str, GateReport] | None = None  # a gated parser that leaves fields out
    if generator in ("auto", "induce"):
        from crawler.compiler.induce import induce

        say(f"[{template}] induce: {len(fixtures)} labelled pages")
        samples = [(f.page(), f.expected) for f in fixtures]
        induction = induce(template, schema, samples, progress=say, partial=partial)
        missing = induction.missing
        result.fields = induction.field_report()
        result.missing = missing
        result.notes += induction.problems()
        if len(fixtures) == 1:
            result.notes.append(
                "verified on one labelled page only: save or review more pages to strengthen it"
            )
        if induction.usable:
            candidate = induction.source(f"from {len(fixtures)} fixtures")
            report = run_gate(candidate, fixtures, schema, template, missing)
            say(
                f"[{template}] induce: gate {'passed' if report.passed else 'failed'} ({len(report.cases_passed)}/{len(fixtures)} cases)"
                + (f", left out: {', '.join(missing)}" if missing else "")
            )
            if report.passed and not missing:
                source, made_by = candidate, "induce"
            elif report.passed:
                induced = (candidate, report)  # the LLM may make the fields left out
                previous = previous or candidate
            else:
                previous = previous or candidate
        else:
            say(f"[{template}] induce: a required field cannot be induced")

    if source is None and generator in ("auto", "llm"):
        gen = llm_generator
        if gen is None:
            from crawler.compiler.llm import LLMConfig, LLMGenerator

            config = LLMConfig.from_env()
            if config is None:
                note = "no LLM configured (set SCRAPEC_LLM_MODEL, e.g. openai/gpt-4o-mini): LLM tier skipped"
                result.notes.append(note)
                say(f"[{template}] {note}")
            else:
                gen = LLMGenerator(config)
        if gen is not None:
            say(f"[{template}] llm: generating with {gen.config.model}")
            failures = report.lines() if report is not None else None
            if induced is not None:  # only the fields induction left out are the LLM's job
                failures = [
                    f"{name}: left out (induction: {why}); keep every other field as it is and add this one"
                    for name, why in result.missing.items()
                ]
            outcome = gen.generate(
                template, schema, fixtures, previous=previous, failures=failures, progress=say
            )
            llm_usage = {
                "calls": outcome.usage.calls,
                "tokens": outcome.usage.tokens,
                "cost": outcome.usage.cost,
            }
            result.llm_calls, result.llm_tokens, result.llm_cost = (
                outcome.usage.calls,
                outcome.usage.tokens,
                outcome.usage.cost,
            )
            result.notes += outcome.attempts
            if outcome.stopped:
                result.notes.append(outcome.stopped)
            if outcome.report is not None:
                report = outcome.report
            if outcome.source is not None:
                source, made_by = outcome.source, f"llm:{gen.config.model}"

    if source is None and induced is not None:  # nothing made the fields left out: publish the rest
        source, report = induced
        made_by = "induce"
    elif source is not None and made_by != "induce":
        result.missing, result.fields = {}, {}
    if report is not None:
        result.cases_passed = len(report.cases_passed)
        result.report = report.lines() if not report.passed else []
    if source is not None and made_by is not None and report is not None and report.passed:
        result.version = publish_passed(
            registry,
            template,
            source,
            schema,
            fixtures,
            report,
            made_by,
            reason,
            llm_usage,
            fields=result.fields,
            missing=result.missing,
        )
        result.generator = made_by
        say(f"[{template}] published v{result.version} ({made_by})")
    result.seconds = time.perf_counter() - start
    return result


def compile_template(
    fixtures_dir: str | Path,
    schema: str | Schema,
    registry: str | Path | Registry,
    template: str | None = None,
    generator: str = "auto",
    progress: Callable[[str], None] | None = _stderr,
) -> list[CompileResult]:
    """Compile every template found under ``fixtures_dir`` (or only ``template``).

    Raises :class:`BadInput` for unusable input and returns one result per template; check
    ``result.published``.
    """
    schema_obj = schema if isinstance(schema, Schema) else load_schema(schema)
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    if template is not None:
        check_template_id(template)
    fixtures = load_fixtures(fixtures_dir, template)
    if not fixtures:
        raise BadInput(
            f"{fixtures_dir}: no fixtures"
            + (f" for template {template!r}" if template else "")
            + " (expected <case>/{page.html, expected.json})"
        )
    groups: dict[str, list[Fixture]] = {}
    for fixture in fixtures:
        groups.setdefault(fixture.template, []).append(fixture)
    results = []
    for name, cases in sorted(groups.items()):
        check_template_id(name)
        results.append(compile_fixtures(cases, schema_obj, reg, name, generator, progress=progress))
    return results


def compile_error(results: list[CompileResult]) -> CompileError | None:
    failed = [r for r in results if not r.published]
    if not failed:
        return None
    return CompileError(
        f"nothing passed the gate for {', '.join(r.template for r in failed)}", failed
    )
