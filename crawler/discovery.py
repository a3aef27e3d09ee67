"""New templates met during a crawl: a page no template fits gets one, when something says what
its item is.

Two ways, each cheap before it is costly:

- fixtures saved for a template that is not in the registry yet and whose pages look like this
  one (same site, layout similarity at least the threshold): the template is compiled from them
  (:func:`compile_from_fixtures`);
- a page that states an item of the schema in structured data — or, with an LLM configured,
  that the crawl says is an item page — is held under ``<site>/<schema>`` until enough such
  pages are there to compile that template (:func:`held_template`; the runtime holds and
  regenerates it like any broken template).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crawler.fixtures import Fixture
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.routing import fingerprint, reference_fingerprint, similarity, site_of
from crawler.schemas import Schema, load_schema

__all__ = ["compile_from_fixtures", "held_template", "matching_fixtures"]


def matching_fixtures(
    page: Page, fixtures: list[Fixture], registry: Registry, threshold: float
) -> tuple[str, list[Fixture]] | None:
    """The template not in the registry whose fixtures look most like ``page`` (same site,
    layout similarity at least ``threshold``), with its fixtures; None when none does."""
    if not fixtures:
        return None
    tokens = fingerprint(page)
    groups: dict[str, list[Fixture]] = {}
    for f in fixtures:
        groups.setdefault(f.template, []).append(f)
    known = set(registry.templates())
    best, score = None, 0.0
    for template, cases in groups.items():
        if template in known:
            continue
        if cases[0].url and site_of(cases[0].url) != site_of(page.url):
            continue
        value = similarity(tokens, reference_fingerprint(fingerprint(c.page()) for c in cases))
        if value > score:
            best, score = template, value
    if best is None or score < threshold:
        return None
    return best, groups[best]


def compile_from_fixtures(
    page: Page,
    fixtures: list[Fixture],
    registry: Registry,
    schema: Schema | None,
    generator: str,
    threshold: float,
    llm_generator: Callable[[], Any] = lambda: None,
    log: Callable[[str], None] | None = None,
) -> tuple[str, bool] | None:
    """A page no template fits: the template compiled for it from fixtures that match it, and
    True — or False when another process compiled it a moment ago; None when no fixtures match
    or nothing passed the gate. ``llm_generator()`` gives the LLM for the compiler (None: from
    the environment); it is asked only when a template is compiled."""
    from crawler.compiler import compile_fixtures

    say = log or (lambda _m: None)
    found = matching_fixtures(page, fixtures, registry, threshold)
    if found is None:
        return None
    template, cases = found
    registry.refresh()  # another process may have compiled it a moment ago
    if template in registry.templates():
        return template, False
    schema = schema or load_schema(next((f.schema for f in cases if f.schema), "") or "product")
    say(f"[{template}] new template met at {page.url}: compiling from {len(cases)} fixtures")
    result = compile_fixtures(
        cases,
        schema,
        registry,
        template,
        generator if generator != "repair" else "auto",
        "new template met during a crawl",
        progress=say,
        llm_generator=llm_generator(),
    )
    if not result.published:
        say(f"[{template}] could not compile: {'; '.join(result.report[:3])}")
        return None
    return template, True


def held_template(
    page: Page, schema: Schema | None, item_page: bool, llm: Callable[[], bool]
) -> str | None:
    """The template ``<site>/<schema>`` a page of a site with no template is held under: when it
    states an item of the schema in structured data, or (when ``llm()`` says an LLM can label
    it) when the crawl says it is an ``item_page``. None: nothing says it holds an item."""
    if schema is None:
        return None
    from crawler.compiler.labels import structured_labels

    labels = structured_labels(page, schema)
    stated = bool(labels) and set(schema.required) <= set(labels)
    if not stated and not (item_page and llm()):
        return None
    return f"{site_of(page.url) or 'unknown'}/{schema.name}"
