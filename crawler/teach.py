"""Teaching a template from one page: the first meeting with a site nobody showed scrapec.

A page no template of the registry fits is labelled — by the values a person gave
(``examples``), the page's structured data (:mod:`crawler.structured`), its main text for a
schema's main-text field, and, with an LLM configured, the model for what those lack (grounded) —
and a parser for its template is compiled from those labels by the usual tiers and gate
(:func:`crawler.compiler.compile_fixtures`), then published. The next page of the template costs
one parse.

The labelled page is kept as the template's first fixture (marked unreviewed unless a person gave
its values); a parser verified on one page says so, and each later saved or reviewed page of the
template strengthens it (:func:`teach` compiles on every fixture the template has).

>>> from crawler.schemas import load_schema
>>> page = Page('<p>Widget <b>£12.99</b></p>', "http://shop.example/p/1")
>>> example_labels(page, load_schema("product"), {"name": "Widget", "price": "£12.99"})
{'name': 'Widget', 'price': 12.99}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from crawler.checks import grounded_fields
from crawler.exceptions import BadInput, CompileError, ExampleNotFound
from crawler.fixtures import Fixture, load_fixtures
from crawler.parsing import Page, absolute, clean, date, number
from crawler.registry import Registry, check_template_id
from crawler.routing import site_of
from crawler.schemas import Schema

__all__ = [
    "Lesson",
    "PageLabels",
    "example_labels",
    "page_labels",
    "parse_example",
    "teach",
    "template_for",
]

MAX_EXAMPLE_CHARS = 100_000


@dataclass
class Lesson:
    """What teaching a template from a page gave: the labels and where each came from, the
    compile result (``result.published`` says whether a parser is out), and why not."""

    template: str
    labels: dict[str, Any]
    sources: dict[str, str]  # field -> "examples", "JSON-LD", "microdata", "main text", "llm", …
    result: Any = None  # crawler.compiler.CompileResult when a compile ran
    fixture: Fixture | None = None
    saved: Path | None = None  # the fixture's folder, when saved
    problems: list[str] = field(default_factory=list)
    llm_calls: int = 0
    cost_usd: float = 0.0

    @property
    def published(self) -> bool:
        return self.result is not None and self.result.published

    @property
    def version(self) -> int | None:
        return self.result.version if self.result is not None else None


def parse_example(text: str) -> tuple[str, str]:
    """``name=Dune`` (a command-line ``--example``) as ``("name", "Dune")``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise BadInput(f'--example {text!r}: expected FIELD=VALUE, e.g. name="Blue Kettle"')
    return name.strip(), value


def _example_value(schema: Schema, name: str, value: Any, page: Page) -> Any:
    """An example value as the item holds it: ``"£12.99"`` for a number field is ``12.99``."""
    if isinstance(value, str) and len(value) > MAX_EXAMPLE_CHARS:
        raise BadInput(f"example {name!r}: longer than {MAX_EXAMPLE_CHARS} characters")
    if schema.is_list(name):
        values = value if isinstance(value, list) else [value]
        return [_example_value_one(schema, name, v, page) for v in values]
    if isinstance(value, list):
        raise BadInput(f"example {name!r}: a list, but the field holds one value")
    return _example_value_one(schema, name, value, page)


def _example_value_one(schema: Schema, name: str, value: Any, page: Page) -> Any:
    kind = schema.field_type(name)
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise BadInput(f"example {name!r}={value!r}: not a number")
        got = number(value) if isinstance(value, str) else value
        if got is None:
            raise BadInput(f"example {name!r}={value!r}: not a number")
        return int(got) if kind == "integer" and float(got).is_integer() else got
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise BadInput(f"example {name!r}={value!r}: not a string")
    prop = schema.properties.get(name, {})
    if prop.get("format") == "uri":
        return absolute(page, value.strip())
    if schema.is_derived(name) and "date" in name:
        return date(value) or clean(value)
    return clean(value)


def example_labels(page: Page, schema: Schema, examples: Mapping[str, Any]) -> dict[str, Any]:
    """The labels a person's example values give: each converted to the field's type and found
    on the page. Raises :class:`BadInput` for a field the schema lacks or a value of the wrong
    type, :class:`ExampleNotFound` naming the values the page does not show."""
    unknown = sorted(set(examples) - set(schema.properties))
    if unknown:
        raise BadInput(
            f"example for {unknown[0]!r}: not a field of schema {schema.name!r} "
            f"(fields: {', '.join(schema.properties)})"
        )
    labels = {
        name: _example_value(schema, name, value, page)
        for name, value in examples.items()
        if value not in (None, "", [])
    }
    grounded = grounded_fields(labels, page, schema)
    absent = {k: examples[k] for k in labels if k not in grounded}
    if absent:
        raise ExampleNotFound(page.url, absent)
    return labels


class PageLabels(NamedTuple):
    """The labels of a page, the source of each field, what the LLM cost, and why it gave
    nothing (a model that cannot be reached or a spent budget)."""

    labels: dict[str, Any]
    sources: dict[str, str]
    llm_calls: int
    cost_usd: float
    problems: list[str]


def page_labels(
    page: Page, schema: Schema, examples: Mapping[str, Any] | None = None, llm: Any = None
) -> PageLabels:
    """Labels of ``page`` from every cheap source, then the LLM for what they lack. A person's
    examples win over structured data, structured data over the main-text extractor, and those
    over the model."""
    from crawler.compiler.labels import main_text_labels, snap_main_text, structured_labels
    from crawler.structured import read_structured

    given = example_labels(page, schema, examples) if examples else {}
    data = read_structured(page)
    stated = structured_labels(page, schema, data)
    kind = "/".join(data.syntaxes) or "structured data"
    main = main_text_labels(page, schema)
    labels: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, found in (("examples", given), (kind, stated), ("main text", main)):
        for name, value in found.items():
            if name not in labels:
                labels[name], sources[name] = value, source
    calls, cost, problems = 0, 0.0, []
    if llm is not None and set(schema.properties) - set(labels):
        before_calls, before_cost = llm.label_usage.calls, llm.label_usage.cost
        try:
            told = llm.label(page, schema)  # grounded, well-typed values only
        except CompileError as exc:
            told = {}
            problems.append(f"LLM labelling failed: {exc}")
        calls = llm.label_usage.calls - before_calls
        cost = llm.label_usage.cost - before_cost
        for name, value in told.items():
            if name not in labels:
                labels[name], sources[name] = value, "llm"
    snapped = snap_main_text(
        page, schema, {k: v for k, v in labels.items() if sources.get(k) != "main text"}
    )
    labels.update(snapped)
    return PageLabels(labels, sources, calls, cost, problems)


def template_for(page: Page, schema: Schema, registry: Registry) -> str:
    """The name a new template of ``page`` gets: ``<site>/<schema>``, or ``<site>/<schema>-2``
    (-3, …) when the site already has a template of that name whose layout is another one."""
    site = site_of(page.url) or "unknown"
    base = re.sub(r"[^a-z0-9_.-]+", "-", schema.name.lower()).strip("-") or "item"
    known = set(registry.templates())
    name, n = f"{site}/{base}", 1
    while name in known:
        n += 1
        name = f"{site}/{base}-{n}"
    return check_template_id(name)


def teach(
    page: Page,
    schema: Schema,
    registry: Registry,
    *,
    examples: Mapping[str, Any] | None = None,
    template: str | None = None,
    llm: Any = None,
    fixtures_dir: str | Path | None = None,
    render: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> Lesson:
    """Label ``page``, compile a parser for its template from it (and the template's other
    fixtures in ``fixtures_dir``), publish it when it passes the gate, and keep the page as a
    fixture of the template in ``fixtures_dir``.

    ``template`` defaults to :func:`template_for`. ``llm`` is an
    :class:`~crawler.compiler.llm.LLMGenerator` or None (no model). ``render`` is recorded in
    the template when given (True: its pages are read after rendering).
    Raises :class:`BadInput` / :class:`ExampleNotFound` for unusable examples; every other
    outcome is in the returned :class:`Lesson`.
    """
    from crawler.compiler import compile_fixtures

    name = check_template_id(template) if template else template_for(page, schema, registry)
    labels, sources, calls, cost, problems = page_labels(page, schema, examples, llm)
    lesson = Lesson(name, labels, sources, llm_calls=calls, cost_usd=cost, problems=problems)
    missing = [f for f in schema.required if f not in labels]
    if missing:
        lesson.problems.append(
            f"{page.url}: cannot teach template {name!r}: nothing on the page states "
            f"{', '.join(missing)} (no structured data for it"
            + ("" if llm is not None else ", no LLM configured")
            + "): pass example values, e.g. "
            + " ".join(f'--example {m}="…"' for m in missing)
        )
        return lesson
    person = bool(examples) and set(labels) <= {k for k, v in sources.items() if v == "examples"}
    meta = {
        "review": "reviewed" if person else "unreviewed",
        "labelled_by": sorted(set(sources.values())),
    }
    fixture = Fixture(
        Path(f"<{name}>") / "new",
        name,
        page.url,
        schema.name,
        labels,
        meta=meta,
        partial=True,
        source=page.source,
    )
    lesson.fixture = fixture
    others = []
    if fixtures_dir is not None and Path(fixtures_dir, name).is_dir():
        others = [f for f in load_fixtures(fixtures_dir, name) if f.url != page.url]
    result = compile_fixtures(
        [fixture, *others],
        schema,
        registry,
        name,
        "auto" if llm is not None else "induce",
        reason="new template, taught from "
        + ("examples" if examples else ", ".join(sorted(set(sources.values())))),
        progress=progress,
        llm_generator=llm,
        partial=True,
    )
    lesson.result = result
    lesson.llm_calls += result.llm_calls
    lesson.cost_usd += result.llm_cost
    if not result.published:
        lesson.problems.append(
            f"{page.url}: no parser for template {name!r} passed the gate: "
            + (
                "; ".join(result.report[:3])
                or "; ".join(result.notes[:3])
                or "see the compile report"
            )
        )
        return lesson
    if render:
        registry.update(name, render=True)
    if fixtures_dir is not None:
        lesson.saved = _save_fixture(fixture, Path(fixtures_dir), name, schema)
    return lesson


def _save_fixture(fixture: Fixture, root: Path, template: str, schema: Schema) -> Path:
    folder = root / template
    taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    n = len(taken) + 1
    while f"case-{n:02d}" in taken:
        n += 1
    case = folder / f"case-{n:02d}"
    fixture.save(case, schema.name)
    return case
