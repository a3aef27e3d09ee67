"""Structured data a page states about its item, read with extruct: JSON-LD (lenient: trailing
commas and comments), microdata (nested items kept nested) and RDFa; and OpenGraph ``<meta>``.

Every syntax is brought to one shape, an *entity*: a dict with ``@type`` (the schema.org local
name, e.g. ``"Product"``) and property values that are strings, numbers, nested entities or lists
of those. ``brand.name`` of a microdata product is then ``{"brand": {"@type": "Brand", "name": …}}``
— never the product's own ``name``.

A syntax is parsed only when the page has its markup (``application/ld+json``, ``itemscope``,
``typeof=`` / ``vocab=``, ``og:``), so a page without structured data costs a few substring
searches. extruct itself is imported on first use (it takes ~1 s: RDFa needs rdflib).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from crawler.parsing import Page

__all__ = ["StructuredData", "main_entity", "read_structured"]

log = logging.getLogger(__name__)

_SCHEMA_ORG = re.compile(r"^https?://(www\.)?schema\.org/", re.IGNORECASE)
_OG_PREFIXES = frozenset({"og", "product", "article", "book", "profile", "music", "video"})
# schema.org types that are a kind of another, for the few item types the schemas name
_SUBTYPES: dict[str, tuple[str, ...]] = {
    "Article": (
        "NewsArticle",
        "BlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "ReviewNewsArticle",
        "SocialMediaPosting",
        "LiveBlogPosting",
    ),
    "Product": ("IndividualProduct", "ProductModel", "SomeProducts", "Vehicle", "Car"),
    "Event": ("MusicEvent", "SportsEvent", "TheaterEvent", "BusinessEvent", "Festival"),
    "Book": ("Audiobook",),
    "JobPosting": (),
}


@dataclass
class StructuredData:
    """A page's entities (every syntax, document order within a syntax: JSON-LD, microdata,
    RDFa) and its OpenGraph properties (``og:title`` → value, first one wins)."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    opengraph: dict[str, str] = field(default_factory=dict)
    syntaxes: list[str] = field(default_factory=list)  # the syntaxes found, for messages

    def __bool__(self) -> bool:
        return bool(self.entities or self.opengraph)


def _local(name: Any) -> str:
    text = str(name)
    text = _SCHEMA_ORG.sub("", text)
    return text.rsplit("#", 1)[-1] if "#" in text else text


def _types(entity: dict[str, Any]) -> list[str]:
    kind = entity.get("@type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    return [_local(k) for k in kinds]


def _jsonld_entities(page: Page, tree: Any) -> list[dict[str, Any]]:
    from extruct.jsonld import JsonLdExtractor

    extractor = JsonLdExtractor()
    found: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:  # one broken script must not hide the others
            items = extractor.extract_items(script)
        except ValueError as exc:
            log.debug("%s: JSON-LD script not readable: %s", page.url, exc)
            continue
        stack: list[Any] = list(items)
        while stack:
            obj = stack.pop(0)
            if isinstance(obj, list):
                stack[:0] = obj
            elif isinstance(obj, dict):
                graph = obj.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
                rest = {k: _jsonld_value(v) for k, v in obj.items() if k not in ("@graph",)}
                if "@type" in rest:
                    rest["@type"] = _types(rest)
                if rest.keys() - {"@context", "@type", "@id"}:
                    found.append(rest)
    return found


def _jsonld_value(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _jsonld_value(v) for k, v in value.items()}
        if "@type" in out:
            out["@type"] = _types(out)
        if "@value" in out:  # {"@value": "12.99", "@type": "Number"}: the value itself
            return out["@value"]
        return out
    if isinstance(value, list):
        return [_jsonld_value(v) for v in value]
    return value


def _microdata_entity(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": [_local(t) for t in _as_list(item.get("type"))]}
    for key, value in (item.get("properties") or {}).items():
        out[key] = _microdata_value(value)
    if item.get("id"):
        out["@id"] = item["id"]
    return out


def _microdata_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_microdata_value(v) for v in value]
    if isinstance(value, dict) and "properties" in value:
        entity = _microdata_entity(value)
        if "value" in value and len(entity) == 1:
            return value["value"]
        return entity
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _rdfa_entities(page: Page) -> list[dict[str, Any]]:
    from extruct.rdfa import RDFaExtractor

    try:
        nodes = RDFaExtractor().extract(page.source, base_url=page.url or None)
    except Exception as exc:  # rdflib raises many kinds on odd markup; RDFa is optional
        log.debug("%s: RDFa not readable: %s", page.url, exc)
        return []
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict)}

    def value(v: dict[str, Any], depth: int) -> Any:
        if "@value" in v:
            return v["@value"]
        ref = v.get("@id")
        if ref in by_id and depth < 4:
            return convert(by_id[ref], depth + 1)
        return ref

    def convert(node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": [_local(t) for t in _as_list(node.get("@type"))]}
        for key, values in node.items():
            if key.startswith("@") or not _SCHEMA_ORG.match(key):
                continue
            got = [value(v, depth) for v in _as_list(values) if isinstance(v, dict)]
            got = [g for g in got if g is not None]
            if got:
                out[_local(key)] = got[0] if len(got) == 1 else got
        return out

    entities = []
    for node in nodes:
        if isinstance(node, dict) and any(
            _SCHEMA_ORG.match(str(t)) for t in _as_list(node.get("@type"))
        ):
            entity = convert(node)
            if len(entity) > 1:
                entities.append(entity)
    return entities


def read_structured(page: Page) -> StructuredData:
    """Every entity and OpenGraph property the page states (see the module's docstring)."""
    data = StructuredData()
    source = page.source
    tree = page.selector.root
    if "application/ld+json" in source:
        found = _jsonld_entities(page, tree)
        if found:
            data.entities += found
            data.syntaxes.append("JSON-LD")
    if "itemscope" in source:
        from extruct.w3cmicrodata import LxmlMicrodataExtractor

        items = LxmlMicrodataExtractor(nested=True).extract_items(tree, page.url or None)
        found = [_microdata_entity(i) for i in items if isinstance(i, dict)]
        if found:
            data.entities += found
            data.syntaxes.append("microdata")
    if "typeof=" in source or "vocab=" in source:
        found = _rdfa_entities(page)
        if found:
            data.entities += found
            data.syntaxes.append("RDFa")
    if "og:" in source or "product:" in source or "article:" in source:
        # OpenGraph is flat <meta property=… content=…>: read here (extruct's reader needs an
        # lxml.html tree, the page has an lxml.etree one)
        for node in tree.xpath("//meta[@property][@content]"):
            key, val = node.get("property"), node.get("content")
            if key.partition(":")[0] in _OG_PREFIXES and val.strip():
                data.opengraph.setdefault(key, val)
        if data.opengraph:
            data.syntaxes.append("OpenGraph")
    return data


def type_matches(entity: dict[str, Any], wanted: str | None) -> bool:
    """Whether the entity is of the schema.org type ``wanted`` or one of its common subtypes."""
    if not wanted:
        return False
    kinds = set(_types(entity))
    return wanted in kinds or bool(kinds & set(_SUBTYPES.get(wanted, ())))


def main_entity(
    data: StructuredData, wanted: str | None, fields: list[str] | None = None
) -> dict[str, Any] | None:
    """The entity the page is about: of the ``wanted`` type when one is, else the one stating
    most of ``fields``; ties go to the earliest (JSON-LD before microdata before RDFa)."""
    if not data.entities:
        return None
    names = set(fields or [])

    def score(entity: dict[str, Any]) -> tuple[int, int]:
        return (int(type_matches(entity, wanted)), len(names & set(entity)))

    best = max(data.entities, key=score)  # max keeps the first of equal scores
    return best
