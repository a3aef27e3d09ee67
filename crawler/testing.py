"""Testing published parsers against fixtures (``scrapec test``) and publishing a checked parser
(``scrapec publish``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crawler.exceptions import BadInput, ParserFailed, PolicyViolation, RegistryError
from crawler.fixtures import Fixture, load_fixtures
from crawler.gate import evaluate, publish_passed, run_gate
from crawler.registry import Registry, check_template_id
from crawler.schemas import load_schema

__all__ = ["Outcome", "group_by_template", "publish_checked", "run_fixture_tests"]


@dataclass
class Outcome:
    """The fixture results of one template."""

    total: int = 0
    passed: int = 0
    lines: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total


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
    for name, cases in sorted(group_by_template(load_fixtures(fixtures_dir, template)).items()):
        outcome = out[name] = Outcome(total=len(cases))
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
            outcome.lines += result.lines()
        outcome.note = f"v{version}"
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
    report = run_gate(source, fixtures, schema, template)
    if not report.passed:
        return None, str(report).splitlines()
    version = publish_passed(
        Registry(registry), template, source, schema, fixtures, report, generator, reason
    )
    return version, str(report).splitlines()
