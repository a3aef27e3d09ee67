"""The compiler: labelled pages in, a verified, published parser version out.

``compile_template`` runs the tiers cheapest first (:mod:`crawler.compiler.tiers`, the one tier
policy, which the runtime's regeneration runs too) — ``induce`` (wrapper induction, no LLM),
then ``llm`` when configured (``SCRAPEC_LLM_MODEL``) — and publishes the first candidate that
passes the gate (policy, schema, grounding, every fixture). Nothing that fails is published.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.compiler.tiers import GENERATORS, CompileResult, run_tiers, tiers_for
from crawler.exceptions import BadInput
from crawler.fixtures import Fixture, load_fixtures
from crawler.registry import Registry, check_template_id
from crawler.schemas import Schema, load_schema

__all__ = ["CompileResult", "compile_fixtures", "compile_template"]


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
    """Generate, gate and publish a parser for ``template`` from its fixtures: the tiers of
    ``generator`` (:func:`~crawler.compiler.tiers.tiers_for`), cheapest first.

    With ``partial``, fixtures may know only some fields (labels from labellers, not people).
    """
    if generator not in GENERATORS:
        raise BadInput(f"unknown generator {generator!r}: choose one of {', '.join(GENERATORS)}")
    if not fixtures:
        raise BadInput(
            f"no fixtures for template {template!r}: add fixtures/<site>/<template>/<case>/{{page.html, meta.json, expected.json}}"
        )
    return run_tiers(
        fixtures,
        schema,
        registry,
        template,
        tiers_for(generator),
        reason,
        previous=previous,
        progress=progress,
        llm_generator=llm_generator,
        partial=partial,
    )


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
