"""The gate every parser passes before it is published, whatever made it.

1. the sandbox policy (the source is checked and loaded);
2. on every fixture of the template: the parser runs within its limits, the item validates
   against the schema, every non-derived string value is grounded in the page, and every field
   equals the fixture's expected value.

A failing gate report says which case, which field, what was expected and what came out; it is
what the next attempt of a generator is fed. Its lines are problems
(:class:`crawler.problems.Problem`): each keeps the kind and the field of what failed
(``mismatch`` for a field that differs from the fixture).

Each case keeps the review status of its fixture (:func:`crawler.fixtures.review_status`): a
published version names the cases it passed (``fixtures_passed``) and, among them, those no
person has checked (``fixtures_unreviewed``: machine-labelled pages and fixtures waiting for
review), so nobody reads a pass on them as a pass on the user's fixtures. Retired fixtures (of
a layout the site no longer has) are not loaded, so they gate nothing; :func:`outgrown` says
which fixtures a new layout retires.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from crawler.exceptions import PolicyViolation
from crawler.fixtures import REVIEWED, FieldDiff, Fixture
from crawler.problems import Problem, ProblemKind, as_problem
from crawler.registry import Registry
from crawler.routing import fingerprint, learn_url_pattern, reference_fingerprint, similarity
from crawler.sandbox import check_source
from crawler.schemas import Schema
from crawler.workers import WorkerPool, default_pool

__all__ = ["CaseResult", "GateReport", "evaluate", "outgrown", "publish_passed", "run_gate"]


@dataclass
class CaseResult:
    """One fixture's outcome."""

    case: str
    item: dict[str, Any] | None
    diffs: list[FieldDiff] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    policy: str | None = None  # the worker refused or could not load the source: why
    review: str = REVIEWED  # the fixture's review status (crawler.fixtures.review_status)

    @property
    def ok(self) -> bool:
        return not self.diffs and not self.errors

    @property
    def reviewed(self) -> bool:
        return self.review == REVIEWED

    def lines(self) -> list[str]:
        """Each error and each differing field as a :class:`Problem`, the case named first."""
        out: list[str] = [e.reworded(f"{self.case}: {e}") for e in map(as_problem, self.errors)]
        out += [Problem.of(ProblemKind.MISMATCH, d.field, str(d)) for d in self.diffs]
        return out


@dataclass
class GateReport:
    """The verdict on one candidate parser."""

    template: str
    policy_error: str | None = None
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.policy_error is None and bool(self.cases) and all(c.ok for c in self.cases)

    @property
    def cases_passed(self) -> list[str]:
        """The names of the cases passed (``site/name/case``)."""
        return [c.case for c in self.cases if c.ok]

    @property
    def cases_unreviewed(self) -> list[str]:
        """The cases passed that no person has checked (machine-labelled or waiting for review)."""
        return [c.case for c in self.cases if c.ok and not c.reviewed]

    def lines(self) -> list[str]:
        """What failed, one :class:`Problem` a line (empty when the candidate passed)."""
        if self.policy_error:
            return [Problem.of(ProblemKind.POLICY, None, f"policy: {self.policy_error}")]
        if not self.cases:
            return [Problem.of(ProblemKind.SETUP, None, "no fixtures to test against")]
        return [line for c in self.cases for line in c.lines()]

    def __str__(self) -> str:
        head = f"{self.template}: {len(self.cases_passed)}/{len(self.cases)} cases passed"
        return "\n".join([head, *("  " + line for line in self.lines())])


def evaluate(
    source: str,
    fixtures: list[Fixture],
    schema: Schema | None,
    grounding: bool = True,
    missing: Collection[str] = (),
    *,
    template: str = "?",
    version: int = 0,
    pool: WorkerPool | None = None,
) -> list[CaseResult]:
    """Run a parser's source on fixtures in worker processes and check each item (schema,
    grounding, expected fields); a parser that does not load fails every case with the reason.

    Fields in ``missing`` are declared left out of the parser (optional fields no rule fits):
    they are not compared, every other field is, one by one."""
    workers = pool or default_pool()
    results = []
    for fixture in fixtures:
        work = workers.run(
            source,
            fixture.html(),
            fixture.url,
            template=template,
            version=version,
            schema=schema,
            grounding=grounding,
        )
        review = fixture.review
        if work.policy is not None:
            refused = Problem.of(ProblemKind.POLICY, None, f"policy: {work.policy}")
            results.append(
                CaseResult(fixture.name, None, errors=[refused], policy=work.policy, review=review)
            )
            continue
        if work.item is None:
            failure = work.failure or Problem.of(ProblemKind.EXCEPTION, None, "no item")
            failed = failure.reworded(f"parser failed: {failure}")
            results.append(CaseResult(fixture.name, None, errors=[failed], review=review))
            continue
        diffs = [d for d in fixture.compare(work.item) if d.field not in missing]
        results.append(CaseResult(fixture.name, work.item, diffs, list(work.errors), review=review))
    return results


def run_gate(
    source: str,
    fixtures: list[Fixture],
    schema: Schema | None,
    template: str,
    missing: Collection[str] = (),
    pool: WorkerPool | None = None,
) -> GateReport:
    """Policy, schema, grounding and every fixture: the one check before publishing. The policy
    is checked here on the source's syntax tree; the candidate is loaded and run only in worker
    processes, so a hostile candidate costs a worker, not the compiler."""
    try:
        check_source(source, f"{template}/(candidate)")
    except PolicyViolation as exc:
        return GateReport(template, policy_error=str(exc))
    required = [m for m in missing if schema is not None and m in schema.required]
    if required:
        return GateReport(
            template, policy_error=f"required field left out of the parser: {', '.join(required)}"
        )
    cases = evaluate(source, fixtures, schema, missing=missing, template=template, pool=pool)
    loading = [c.policy for c in cases if c.policy is not None]
    if loading:
        return GateReport(template, policy_error=loading[0])
    return GateReport(template, cases=cases)


def publish_passed(
    registry: Registry,
    template: str,
    source: str,
    schema: Schema,
    fixtures: list[Fixture],
    report: GateReport,
    generator: str,
    reason: str,
    llm: dict[str, Any] | None = None,
    fields: dict[str, dict[str, Any]] | None = None,
    missing: dict[str, str] | None = None,
) -> int:
    """Publish a candidate that passed the gate, with the layout and URL pattern of its fixtures,
    how each field is read (``fields``) and the fields left out with the reason (``missing``)."""
    if not report.passed:
        raise ValueError(f"{template}: only a candidate that passed the gate is published")
    return registry.publish(
        template,
        source,
        schema=schema.name,
        schema_hash=schema.digest,
        schema_document=schema.document,
        generator=generator,
        reason=reason,
        layout=reference_fingerprint(fingerprint(f.page()) for f in fixtures),
        url_pattern=learn_url_pattern([f.url for f in fixtures if f.url]),
        fixtures_passed=report.cases_passed,
        fixtures_unreviewed=report.cases_unreviewed,
        llm=llm,
        fields=fields,
        missing=missing,
    )


def outgrown(fixtures: list[Fixture], reference: frozenset[str], threshold: float) -> list[Fixture]:
    """The saved fixtures whose layout is not ``reference`` (a new version's layout): their
    similarity to it is below ``threshold``. After a heal they are retired, not left to fail."""
    if not reference:
        return []
    return [
        f
        for f in fixtures
        if f.source is None and similarity(fingerprint(f.page()), reference) < threshold
    ]
