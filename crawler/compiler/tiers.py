"""The tier policy: labelled pages in, the first candidate of the cheapest tier that passes the
gate published, labelled with the tier that made it.

The tiers, cheapest first:

1. ``repair`` — wrapper induction from labels that came from the history of the same URLs
   (the runtime regenerating a template after a redesign);
2. ``induce`` — the same induction from any other labels (fixtures, structured data, old label
   contexts); one run uses one of the two, named by where its labels came from;
3. ``llm`` — when configured (``SCRAPEC_LLM_MODEL``), the LLM writes the parser, told what
   induction left out or what failed its gate.

A parser that induction made and that passes the gate but leaves fields out is published only
when no later tier makes them. Nothing that fails the gate is published. Both
:func:`crawler.compiler.compile_fixtures` (``scrapec compile``) and the runtime's regeneration
run :func:`run_tiers`; the regeneration labels its held pages first (:func:`held_samples`, and
:func:`llm_labelled` when only the LLM can label them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.exceptions import BadInput
from crawler.fixtures import Fixture
from crawler.gate import GateReport, publish_passed, run_gate
from crawler.pages import HeldPage
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.routing import fingerprint, reference_fingerprint, similarity
from crawler.schemas import Schema

__all__ = [
    "GENERATORS",
    "INDUCTION",
    "TIERS",
    "CompileResult",
    "Samples",
    "configured_llm",
    "held_samples",
    "llm_labelled",
    "run_tiers",
    "tiers_for",
]

TIERS = ("repair", "induce", "llm")  # cheapest first
INDUCTION = ("repair", "induce")  # the tiers that induce (they differ by where labels came from)
GENERATORS = ("auto", "induce", "llm")  # what ``scrapec compile --generator`` chooses from


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
    # the tier before which the caller's ``before_tier`` stopped the run (None: not stopped)
    stopped: str | None = None

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


def configured_llm(option: Any = "auto") -> Any:
    """The LLM a component was asked to use: None for ``None``; for ``"auto"`` the model
    ``SCRAPEC_LLM_MODEL`` names (None when unset: the LLM module, and litellm, are not imported
    then); else ``option`` itself (an :class:`~crawler.compiler.llm.LLMGenerator`)."""
    if option is None:
        return None
    if option != "auto":
        return option
    if not os.environ.get("SCRAPEC_LLM_MODEL"):
        return None
    from crawler.compiler.llm import LLMConfig, LLMGenerator

    config = LLMConfig.from_env()
    return LLMGenerator(config) if config is not None else None


def tiers_for(generator: str, history: bool = False) -> tuple[str, ...]:
    """The tiers a generator choice runs, cheapest first: ``auto`` induction then the LLM,
    ``repair`` or ``induce`` induction only, ``llm`` the LLM only. Induction is the ``repair``
    tier when its labels came from ``history``, else ``induce``."""
    induction = "repair" if history else "induce"
    if generator == "auto":
        return (induction, "llm")
    if generator in INDUCTION:
        return (induction,)
    if generator == "llm":
        return ("llm",)
    raise BadInput(f"unknown generator {generator!r}: choose one of auto, {', '.join(TIERS)}")


def run_tiers(
    fixtures: list[Fixture],
    schema: Schema,
    registry: Registry,
    template: str,
    tiers: Sequence[str],
    reason: str,
    *,
    previous: str | None = None,
    progress: Callable[[str], None] | None = None,
    llm_generator: Any = None,
    partial: bool = False,
    before_tier: Callable[[str], bool] | None = None,
    llm_fixtures: Callable[[], list[Fixture]] | None = None,
) -> CompileResult:
    """Run ``tiers`` (in :data:`TIERS` order) on the labelled pages ``fixtures`` and publish the
    first candidate that passes the gate, as made by its tier (``repair``, ``induce`` or
    ``llm:<model>``).

    ``before_tier(tier)`` is called before each tier runs (the runtime renews its regeneration
    lease there); when it returns False nothing more runs or is published (``result.stopped``).
    With no ``fixtures``, the LLM tier works on ``llm_fixtures()`` (pages the LLM labelled).
    With ``partial``, fixtures may know only some fields (labels from labellers, not people).
    ``llm_generator`` is the LLM to use; without one it is configured from the environment.
    """
    unknown = [t for t in tiers if t not in TIERS]
    if unknown or len([t for t in tiers if t in INDUCTION]) > 1:
        raise BadInput(f"tiers {list(tiers)!r}: choose from {', '.join(TIERS)}, one induction")
    ordered = sorted(tiers, key=TIERS.index)
    start = time.perf_counter()
    say = progress or (lambda _m: None)
    result = CompileResult(template, None, None, len(fixtures), 0)
    report: GateReport | None = None
    source: str | None = None
    made_by: str | None = None
    basis = fixtures  # the pages the candidate was gated on (and is published with)
    induced: tuple[str, GateReport, str] | None = None  # a gated parser that leaves fields out

    for tier in ordered:
        if source is not None:
            break
        if tier != "llm" and not fixtures:
            continue  # nothing to induce from
        if before_tier is not None and not before_tier(tier):
            result.stopped = tier
            result.seconds = time.perf_counter() - start
            return result
        if tier in INDUCTION:
            from crawler.compiler.induce import induce

            say(f"[{template}] {tier}: induce from {len(fixtures)} labelled pages")
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
            if not induction.usable:
                say(f"[{template}] {tier}: a required field cannot be induced")
                continue
            candidate = induction.source(f"from {len(fixtures)} fixtures")
            report = run_gate(candidate, fixtures, schema, template, missing)
            say(
                f"[{template}] {tier}: gate {'passed' if report.passed else 'failed'} "
                f"({len(report.cases_passed)}/{len(fixtures)} cases)"
                + (f", left out: {', '.join(missing)}" if missing else "")
            )
            if report.passed and not missing:
                source, made_by = candidate, tier
            elif report.passed:
                induced = (candidate, report, tier)  # the LLM may make the fields left out
                previous = previous or candidate
            else:
                previous = previous or candidate
            continue
        # the LLM tier
        gen = llm_generator
        if gen is None:
            from crawler.compiler.llm import LLMConfig, LLMGenerator

            config = LLMConfig.from_env()
            if config is None:
                note = "no LLM configured (set SCRAPEC_LLM_MODEL, e.g. openai/gpt-4o-mini): LLM tier skipped"
                result.notes.append(note)
                say(f"[{template}] {note}")
                continue
            gen = LLMGenerator(config)
        if not fixtures and llm_fixtures is not None:
            basis = llm_fixtures()
            result.cases = len(basis)
        if not basis:
            continue
        say(f"[{template}] llm: generating with {gen.config.model}")
        failures = report.lines() if report is not None else None
        if induced is not None:  # only the fields induction left out are the LLM's job
            failures = [
                f"{name}: left out (induction: {why}); keep every other field as it is and add this one"
                for name, why in result.missing.items()
            ]
        outcome = gen.generate(
            template, schema, basis, previous=previous, failures=failures, progress=say
        )
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
        source, report, made_by = induced
        basis = fixtures
    elif source is not None and made_by not in INDUCTION:
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
            basis,
            report,
            made_by,
            reason,
            {"calls": result.llm_calls, "tokens": result.llm_tokens, "cost": result.llm_cost},
            fields=result.fields,
            missing=result.missing,
        )
        result.generator = made_by
        say(f"[{template}] published v{result.version} ({made_by})")
    result.seconds = time.perf_counter() - start
    return result


# -- the labelled pages a regeneration runs the tiers on ------------------------------------------


@dataclass
class Samples:
    """Held pages as labelled samples for a regeneration (:func:`held_samples`)."""

    labelled: list[Fixture]  # every held page a cheap labeller could label (partial fixtures)
    usable: list[Fixture]  # those the tiers induce from (empty when the labels are too few)
    current: list[Fixture]  # the template's fixtures whose layout is the new one
    from_history: int  # samples with labels from the history of their URL: the ``repair`` tier
    short: str | None = None  # why the labels are too few to regenerate without an LLM

    @property
    def basis(self) -> list[Fixture]:
        """What the tiers run on: the usable samples and the current fixtures."""
        return self.usable + self.current

    def known(self) -> dict[str, dict[str, Any]]:
        """The cheap labels of each labelled page, by URL."""
        return {s.url: s.expected for s in self.labelled}


def held_samples(
    held: Sequence[HeldPage],
    schema: Schema,
    last_good: Callable[[str], dict[str, Any] | None],
    old_fixtures: list[Fixture],
    usual: set[str],
    layout_threshold: float,
) -> Samples:
    """Held pages labelled by the cheap labellers — the last good item of the same URL
    (``last_good``), the label text that stood beside each value in the old layout (the
    template's ``old_fixtures``), and the page's structured data — plus the old fixtures whose
    layout is the new one (``current``). Too few labels (fewer than two pages, or a field of
    ``usual`` that no page has) leave ``usable`` empty and say why (``short``)."""
    from crawler.compiler.labels import (
        context_labels,
        field_contexts,
        history_labels,
        main_text_labels,
        merge_labels,
        structured_labels,
    )

    contexts = field_contexts(((f.page(), f.expected) for f in old_fixtures), schema)
    labelled: list[Fixture] = []
    from_history = 0
    for one in held:
        html = one.html()
        page = Page(html, one.url)
        known = history_labels(page, last_good(one.url), schema)
        from_history += bool(known)
        labels = merge_labels(
            known,
            context_labels(page, contexts, schema),
            structured_labels(page, schema),
            main_text_labels(page, schema),
        )
        if labels:
            labelled.append(one.fixture(schema, labels, html))
    required = set(schema.required)
    usable = [s for s in labelled if required & set(s.expected) or len(s.expected) >= 2]
    missing = usual - {k for s in usable for k in s.expected}
    if len(usable) < min(2, len(held)) or missing:
        short = (
            f"labels miss {', '.join(sorted(missing))}"
            if missing
            else f"{len(usable)} of {len(held)} pages labelled"
        )
        return Samples(labelled, [], [], from_history, short)
    reference = reference_fingerprint(fingerprint(s.page()) for s in usable)
    current = [
        f
        for f in old_fixtures
        if reference and similarity(fingerprint(f.page()), reference) >= layout_threshold
    ]
    return Samples(labelled, usable, current, from_history)


def llm_labelled(
    gen: Any,
    held: Sequence[HeldPage],
    schema: Schema,
    known: dict[str, dict[str, Any]],
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Fixture], int]:
    """Held pages labelled by the LLM ``gen`` (grounded values only), merged with what the cheap
    labellers knew (``known``, by URL), and the LLM calls that took; the LLM then writes the
    parser against these labels. An unreachable model or a spent budget labels nothing more."""
    from crawler.exceptions import CompileError

    say = progress or (lambda _m: None)
    out, calls = [], 0
    for one in held:
        html = one.html()
        before = gen.label_usage.calls
        try:
            labels = gen.label(Page(html, one.url), schema)
        except CompileError as exc:  # the model is unreachable or the budget is spent
            say(f"[{one.template}] LLM labelling stopped: {exc}")
            labels = {}
        finally:
            calls += gen.label_usage.calls - before
        labels = {**labels, **known.get(one.url, {})}
        out.append(one.fixture(schema, labels, html))
    return out, calls
