"""Testing published parsers against fixtures (``scrapec test``) and publishing a checked parser
(``scrapec publish``).

Both read each fixture's review status (:func:`crawler.fixtures.review_status`): ``scrapec test``
runs the reviewed and the unreviewed cases of the active version (and says how many of each, and
how many are retired with an older version), ``scrapec publish`` wants at least one reviewed
case among the fixtures it gates on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crawler.exceptions import BadInput, ParserFailed, PolicyViolation, RegistryError
from crawler.fixtures import RETIRED, Fixture, load_fixtures
from crawler.gate import evaluate, publish_passed, run_gate
from crawler.registry import Registry, check_template_id
from crawler.schemas import load_schema

__all__ = ["Outcome", "group_by_template", "publish_checked", "run_fixture_tests"]


@dataclass
class Outcome:
    """The fixture results of one template."""

    total: int = 0  # the cases run: reviewed and unreviewed
    passed: int = 0
    lines: list[str] = field(default_factory=list)
    note: str = ""
    unreviewed: int = 0  # of ``total``, the cases waiting for review
    retired: dict[int | None, int] = field(default_factory=dict)  # version -> retired cases
    loaded: bool = False  # the active version could be loaded and ran on the cases

    @property
    def ok(self) -> bool:
        """Every case run passed; a template whose fixtures are all retired (the old layout's,
        after a heal) and that has no case of its own yet is not a failure, it is said."""
        if self.total == 0:
            return self.loaded and bool(self.retired)
        return self.passed == self.total

    @property
    def reviewed(self) -> int:
        return self.total - self.unreviewed

    def counts(self) -> str:
        """``2 reviewed, 3 unreviewed, 3 retired (v1)``: what the cases are."""
        parts = [f"{self.reviewed} reviewed"]
        if self.unreviewed:
            parts.append(f"{self.unreviewed} unreviewed: scrapec fixture list")
        if self.retired:
            versions = ", ".join(
                f"v{v}" if v is not None else "?"
                for v in sorted(self.retired, key=lambda v: v or 0)
            )
            parts.append(f"{sum(self.retired.values())} retired with {versions}")
        return ", ".join(parts)


def group_by_template(fixtures: list[Fixture]) -> dict[str, list[Fixture]]:
    groups: dict[str, list[Fixture]] = {}
    for fixture in fixtures:
        groups.setdefault(fixture.template, []).append(fixture)
    return groups


def run_fixture_tests(
    registry: str | Path, fixtures_dir: str | Path, template: str | None = None
) -> dict[str, Outcome]:
    """Every active parser of ``registry`` against its fixtures in ``fixtures_dir``."""
    reg = Registry(registry)
    out: dict[str, Outcome] = {}
    every = load_fixtures(fixtures_dir, template, retired=True)
    for name, group in sorted(group_by_template(every).items()):
        cases = [c for c in group if c.review != RETIRED]
        outcome = out[name] = Outcome(total=len(cases))
        outcome.unreviewed = sum(not c.reviewed for c in cases)
        for old in group:
            if old.review == RETIRED:
                kept = old.meta.get("version")
                key = kept if isinstance(kept, int) else None
                outcome.retired[key] = outcome.retired.get(key, 0) + 1
        try:
            version, source = reg.active_source(name)
            info = reg.info(name)
            schema = info.load_schema()
        except (RegistryError, PolicyViolation, ParserFailed, BadInput) as exc:
            outcome.note = str(exc)
            continue
        missing = info.missing_fields
        for result in evaluate(
            source, cases, schema, missing=missing, template=name, version=version
        ):
            outcome.passed += result.ok
            mark = "" if result.reviewed else "(unreviewed) "
            outcome.lines += [mark + line for line in result.lines()]
        outcome.loaded = True
        outcome.note = f"v{version}; {outcome.counts()}"
        if not cases:
            outcome.note += ": no case of this layout yet (scrapec fixture save, then review it)"
        if missing:
            outcome.note += (
                " (left out: " + "; ".join(f"{k}: {v}" for k, v in missing.items()) + ")"
            )
    return out


def publish_checked(
    registry: str | Path,
    template: str,
    source: str,
    schema_name: str,
    fixtures_dir: str | Path | None,
    reason: str,
    generator: str = "manual",
) -> tuple[int | None, list[str]]:
    """Run the gate on ``source`` with the template's fixtures and publish it when it passes.

    Returns (version or None, report lines).
    """
    check_template_id(template)
    schema = load_schema(schema_name)
    fixtures = load_fixtures(fixtures_dir, template) if fixtures_dir else []
    if not fixtures:
        raise BadInput(
            f"no fixtures for {template!r}"
            + (f" under {str(fixtures_dir)!r}" if fixtures_dir else "")
            + ": a parser is published only after it passes its fixtures"
        )
    if not any(f.reviewed for f in fixtures):
        raise BadInput(
            f"no reviewed fixtures for {template!r} under {str(fixtures_dir)!r}: its "
            f"{len(fixtures)} cases wait for review (scrapec fixture list; check expected.json, "
            "then scrapec fixture accept SITE/NAME/CASE): a parser is published by hand only "
            "after it passes fixtures a person has checked"
        )
    report = run_gate(source, fixtures, schema, template)
    if not report.passed:
        return None, str(report).splitlines()
    version = publish_passed(
        Registry(registry), template, source, schema, fixtures, report, generator, reason
    )
    return version, str(report).splitlines()
