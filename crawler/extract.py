"""One page in, one checked item out: route, sandboxed parse, schema and grounding checks.

This is the hot path: a page of a known, healthy template costs one HTML parse, one regular
expression pass for the layout fingerprint, the parser's selectors and one schema check.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.checks import PageText, grounding_errors
from crawler.exceptions import (
    BadInput,
    ParserFailed,
    PolicyViolation,
    RegistryError,
    RoutingError,
    SchemaError,
)
from crawler.history import History
from crawler.parsing import Page, decode_html
from crawler.problems import Problem, ProblemKind, parser_failure
from crawler.registry import Registry
from crawler.schemas import Schema, load_schema
from crawler.settings import Settings
from crawler.workers import WorkerPool, default_pool

__all__ = [
    "Extraction",
    "Extractor",
    "check_page_bytes",
    "extract_html",
    "read_html_file",
]

MAX_PAGE_BYTES = 32 * 1024 * 1024
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])  # never in text: NUL, SOH, …


@dataclass
class Extraction:
    """The outcome for one page: the item, whether it passed every check, and why not.

    ``errors`` are problems (:class:`crawler.problems.Problem`, a ``str`` each: the message)
    when this module made the extraction."""

    url: str
    template: str | None
    parser_version: int | None
    item: dict[str, Any] | None
    valid: bool
    errors: list[str] = field(default_factory=list)
    similarity: float | None = None
    target: str | None = None
    layout: frozenset[str] | None = field(default=None, repr=False)  # fingerprint, when computed
    links: list[str] | None = field(default=None, repr=False)  # absolute links, when computed
    llm_calls: int = 0  # LLM calls this extraction made (labelling or writing a new parser)
    cost_usd: float = 0.0  # what they cost
    learned: str | None = None  # when a template was taught for this page: what and from what
    exception: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def problems(self) -> list[str]:
        """Why the item is not valid (the same list as ``errors``): :class:`Problem` s, each a
        message with its ``kind`` and ``field``."""
        return self.errors

    def to_json(self) -> str:
        """One JSON line (UTF-8 kept readable). Characters that ``str.splitlines()`` or a
        terminal would act on (U+0085, U+2028, U+2029, C1 controls) and lone surrogates, which
        cannot be encoded, are written as ``\\uXXXX`` escapes: same JSON value, one line."""
        order = [
            "target",
            "url",
            "template",
            "parser_version",
            "item",
            "valid",
            "errors",
            "similarity",
            "llm_calls",
            "cost_usd",
            "learned",
        ]
        import re

        data = {k: getattr(self, k) for k in order}
        data["errors"] = [str(e) for e in self.errors]
        line = json.dumps(data, ensure_ascii=False, sort_keys=False)
        if line.isascii():
            return line
        return re.sub("[\x7f-\x9f\u2028\u2029\ud800-\udfff]", lambda m: f"\\u{ord(m[0]):04x}", line)


def check_page_bytes(body: bytes, name: str) -> None:
    """Raise :class:`BadInput` for a body that cannot be an HTML page (empty, binary, too large)."""
    if not body or body.isspace():
        raise BadInput(f"{name}: empty page")
    if len(body) > MAX_PAGE_BYTES:
        raise BadInput(
            f"{name}: page of {len(body) / 1e6:.1f} MB is larger than the {MAX_PAGE_BYTES // 2**20} MiB limit"
        )
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 with BOM
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) // 20 or (b"<" not in head and b"<" not in body[:65536]):
        raise BadInput(f"{name}: not HTML (binary data or no markup)")


def read_html_file(path: str | Path, url: str | None = None) -> tuple[str, str]:
    """Read a saved page; its URL comes from ``url``, else ``<base href>``, else a sibling ``meta.json``."""
    from crawler.fixtures import MAX_JSON_BYTES, read_input_file

    file = Path(path)
    body = read_input_file(file, MAX_PAGE_BYTES)  # a FIFO, a device, a folder: refused
    check_page_bytes(body, str(file))
    html = decode_html(body)
    if not url:
        base = Page(html[:4096]).css("base::attr(href)").get() if "<base" in html[:4096] else None
        url = base
    meta_file = file.parent / "meta.json"
    if not url and os.path.lexists(meta_file):
        try:
            meta = json.loads(read_input_file(meta_file, MAX_JSON_BYTES))
        except ValueError as exc:
            raise BadInput(f"{meta_file}: not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise BadInput(f"{meta_file}: expected a JSON object, got {type(meta).__name__}")
        url = meta.get("url")
        if url is not None and not isinstance(url, str):
            raise BadInput(f"{meta_file}: 'url' must be a string, got {url!r}")
    return html, url or f"file://{file.resolve()}"


class Extractor:
    """Extraction over one registry; keeps loaded parsers and schemas between pages.

    Parsers run in worker processes (:mod:`crawler.workers`; ``pool``, default the process's
    shared pool), with the schema and grounding checks; ``in_process=True`` runs them in this
    process instead, under the in-process limits only (a C call that hangs or crashes then takes
    the caller with it)."""

    def __init__(
        self,
        registry: str | Path | Registry | None = None,
        schema: str | Schema | None = None,
        grounding: bool = True,
        record: bool = False,
        in_process: bool = False,
        pool: WorkerPool | None = None,
    ) -> None:
        if registry is None:  # SCRAPEC_REGISTRY, read now (never at import)
            registry = Settings.from_env().registry
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        self.schema = load_schema(schema) if isinstance(schema, str) else schema
        self.grounding = grounding
        self.in_process = in_process
        self._pool = pool
        if not in_process:
            self.pool.prestart()  # its imports run while this process does its own work
        # with ``record``, every item that passes all checks becomes its URL's last good item
        self.history: History | None = None
        if record and self.registry.root.is_dir():
            self.history = History(self.registry.root / "history.sqlite")

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            self._pool = default_pool()
        return self._pool

    def schema_for(self, template: str) -> Schema | None:
        if self.schema is not None:
            return self.schema
        return self.registry.info(template).load_schema()

    def extract_page(
        self, page: Page, template: str | None = None, layout: bool = False, links: bool = False
    ) -> Extraction:
        """One page through its template's parser and the checks; with ``layout``, the result
        carries the page's layout fingerprint, with ``links`` its absolute links
        (:mod:`crawler.links`), both computed in the worker, which has the tree."""
        route_similarity = None
        if template is None:
            try:
                route = self.registry.route(page.url, None, page)
            except RoutingError as exc:
                unrouted = Problem.of(ProblemKind.NO_TEMPLATE, None, str(exc))
                return Extraction(page.url, None, None, None, False, [unrouted])
            template, route_similarity = route.template, route.similarity
        try:
            if self.in_process:
                parser = self.registry.active(template)
                version = parser.version
            else:
                version, source = self.registry.active_source(template)
            schema = self.schema_for(template)
        except (RegistryError, SchemaError, BadInput, PolicyViolation, ParserFailed) as exc:
            refused = isinstance(exc, PolicyViolation | ParserFailed)  # it does not load
            kind = ProblemKind.POLICY if refused else ProblemKind.SETUP
            unusable = Problem.of(kind, None, str(exc))
            return Extraction(page.url, template, None, None, False, [unusable])
        tokens: frozenset[str] | None = None
        found_links: list[str] | None = None
        if self.in_process:
            try:
                item = parser.run(page)
            except ParserFailed as exc:
                failure = parser_failure(exc)
                return Extraction(
                    page.url, template, version, None, False, [failure], route_similarity
                )
            errors: list[str] = list(schema.errors(item)) if schema is not None else []
            if self.grounding:
                errors += grounding_errors(item, PageText(page), schema)
        else:
            work = self.pool.run(
                source,
                page.source,
                page.url,
                template=template,
                version=version,
                schema=schema,
                grounding=self.grounding,
                layout=layout,
                links=links,
            )
            if work.item is None:
                reason = (
                    work.failure
                    or work.policy
                    or Problem.of(ProblemKind.EXCEPTION, None, "the parser returned no item")
                )
                return Extraction(
                    page.url,
                    template,
                    version,
                    None,
                    False,
                    [reason],
                    route_similarity,
                    links=work.links,
                )
            item, errors, tokens = work.item, list(work.errors), work.layout
            found_links = work.links
        if not errors and self.history is not None and page.url:
            self.history.record(page.url, template, version, item)
        return Extraction(
            page.url,
            template,
            version,
            item,
            not errors,
            errors,
            route_similarity,
            layout=tokens,
            links=found_links,
        )

    def extract_html(
        self, html: str | bytes, url: str = "", template: str | None = None
    ) -> Extraction:
        if isinstance(html, bytes):
            check_page_bytes(html, url or "page")
        return self.extract_page(Page(html, url), template)


def extract_html(
    html: str | bytes,
    url: str = "",
    *,
    registry: str | Path | Registry | None = None,
    template: str | None = None,
    schema: str | None = None,
    in_process: bool = False,
) -> Extraction:
    """Extract one item from an HTML string (or bytes) with the registry's parser for its template.

    The template is found from the URL and the layout unless given. The result says whether the
    item passed the schema and grounding checks, and lists the errors when not. The parser runs
    in a worker process unless ``in_process=True``.
    """
    extractor = Extractor(registry, schema, record=True, in_process=in_process)
    return extractor.extract_html(html, url, template)
