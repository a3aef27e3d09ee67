"""Labellers: where the labelled values that induction learns from come from, without an LLM.

* :func:`structured_labels` — structured data in the page (JSON-LD, microdata, RDFa, OpenGraph,
  read with extruct by :mod:`crawler.structured`), mapped onto the schema by property names;
* :func:`history_labels` — the last good item of the same URL (a redesign keeps the data);
* :func:`context_labels` — the label text that stood beside each value in the old layout
  (``SKU``, ``Publisher:``), looked up again in the new layout.

Every label is grounded: a non-derived string value that does not occur in the page is dropped.
A labeller returns only the fields it knows; absent keys mean "unknown", not "empty".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crawler.checks import grounded_fields
from crawler.parsing import Page, absolute, clean, currency, date, labelled, number
from crawler.schemas import Schema
from crawler.structured import StructuredData, main_entity, read_structured, type_matches

__all__ = [
    "context_labels",
    "field_contexts",
    "history_labels",
    "main_text_labels",
    "merge_labels",
    "schema_type",
    "snap_main_text",
    "structured_labels",
]

# schema field -> JSON-LD / microdata / OpenGraph names to try, in order
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "og:title"),
    "title": ("title", "name", "headline", "og:title"),
    "headline": ("headline", "name", "og:title"),
    "price": ("offers.price", "price", "offers.lowPrice", "product:price:amount"),
    "currency": ("offers.priceCurrency", "priceCurrency", "product:price:currency"),
    "image": ("image.url", "image", "og:image"),
    "brand": ("brand.name", "brand", "manufacturer.name"),
    "author": ("author.name", "author", "creator.name"),
    "company": ("hiringOrganization.name", "hiringOrganization"),
    "location": (
        "jobLocation.address.addressLocality",
        "jobLocation.name",
        "location.name",
        "location",
    ),
    "salary_min": ("baseSalary.value.minValue",),
    "salary_max": ("baseSalary.value.maxValue",),
    "summary": ("description", "abstract", "og:description"),
    "section": ("articleSection",),
    "isbn_13": ("isbn",),
    "organizer": ("organizer.name",),
    "availability": ("offers.availability",),
    "rating": ("aggregateRating.ratingValue",),
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _convert(schema: Schema, name: str, value: Any, page: Page) -> Any:
    if value is None or value == "":
        return None
    kind = schema.field_type(name)
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if kind in ("number", "integer"):
        return number(value)
    if not isinstance(value, str):
        return None
    prop = schema.properties.get(name, {})
    if prop.get("format") == "uri":
        return absolute(page, value)
    if schema.is_derived(name) and "date" in name:
        return date(value)
    if schema.is_derived(name) and "currency" in name:
        return currency(value) or (value if re.fullmatch(r"[A-Z]{3}", value) else None)
    return clean(value)


def _path_values(entity: dict[str, Any], path: str, many: bool) -> list[Any]:
    """The values of a dotted path in an entity; lists on the way are entered (every element
    when ``many``, for authors; the first otherwise)."""
    values: list[Any] = [entity]
    for key in path.split("."):
        step: list[Any] = []
        for value in values:
            if isinstance(value, list):
                value = [v for v in value if isinstance(v, dict)]
                value = value if many else value[:1]
                step.extend(v.get(key) for v in value)
            elif isinstance(value, dict):
                step.append(value.get(key))
        values = [v for v in step if v is not None]
        if not values:
            return []
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out if many else out[:1]


def schema_type(schema: Schema) -> str | None:
    """The schema.org type of the schema's item: ``x-schema-org-type``, else its ``title``
    without spaces (``"Job Posting"`` is ``JobPosting``)."""
    doc = schema.document
    named = doc.get("x-schema-org-type") or doc.get("title")
    return re.sub(r"\s+", "", named) if isinstance(named, str) and named.strip() else None


def lower_alnum(value: str) -> str:
    """Only the letters and digits, lower case: ``In Stock`` and ``InStock`` compare equal,
    ``"Brand-ACME 2"`` is ``"brandacme2"``."""
    return re.sub(r"[^a-z0-9]", "", value.lower())


_SCHEMA_ORG = re.compile(r"https?://(www\.)?schema\.org/", re.IGNORECASE)


def _as_written(page: Page, value: str) -> str | None:
    """A structured value as the page writes it: ``https://schema.org/InStock`` is ``In stock``
    when the page shows that text (schema.org enumerations are URLs). An enumeration the page
    does not write (it shows "Only 4 left in stock") is a code, not a label of a text field."""
    if not _SCHEMA_ORG.match(value):
        return value  # grounding decides whether the page has it
    want = lower_alnum(value.rstrip("/").rsplit("/", 1)[-1])
    if want:
        for text in page.xpath("//body//text()[string-length(normalize-space()) < 60]").getall():
            if lower_alnum(text) == want:
                return clean(text) or value
    return None


def structured_labels(
    page: Page, schema: Schema, data: StructuredData | None = None
) -> dict[str, Any]:
    """Values the page states in structured data (:mod:`crawler.structured`: JSON-LD, microdata,
    RDFa, OpenGraph), mapped onto the schema by property names: from the entity of the schema's
    type (:func:`schema_type`), else OpenGraph, else ``itemprop`` attributes outside any item."""
    data = data if data is not None else read_structured(page)
    wanted = schema_type(schema)
    entity = main_entity(data, wanted, list(schema.properties))
    if entity is not None and not type_matches(entity, wanted):
        entity = None  # a page's Organization or BreadcrumbList does not name its product
    labels: dict[str, Any] = {}
    for name in schema.properties:
        keys = _SYNONYMS.get(name, ()) + (name, _camel(name))
        many = schema.is_list(name)
        for key in keys:
            if ":" in key:
                raw: list[Any] = [data.opengraph[key]] if key in data.opengraph else []
            elif entity is not None:
                raw = _path_values(entity, key, many)
            else:
                raw = []
            if not raw and "." not in key and ":" not in key and entity is None:
                # itemprop with no itemscope around it (extruct reads items only); never one
                # inside a nested item (a brand's name is not the product's)
                raw = page.xpath(
                    f'//*[@itemprop="{key}"][not(ancestor::*[@itemscope][@itemprop])]'
                    f"[not(@itemscope)]/@content"
                    f' | //*[@itemprop="{key}"][not(@content)][not(@itemscope)]'
                    f"[not(ancestor::*[@itemscope][@itemprop])]"
                ).getall()
                raw = [clean(re.sub(r"<[^>]+>", " ", r)) for r in raw]
            values = [
                v for v in (_convert(schema, name, r, page) for r in raw) if v not in (None, "")
            ]
            if (
                values
                and not schema.is_derived(name)
                and schema.field_type(name) == "string"
                and schema.properties.get(name, {}).get("format") != "uri"
            ):
                values = [w for w in (_as_written(page, v) for v in values) if w]
            if values:
                labels[name] = values if many else values[0]
                break
    return grounded_fields(labels, page, schema)


def main_text_labels(page: Page, schema: Schema) -> dict[str, Any]:
    """The schema's main-text fields (``x-main-text``, an article's body) read from the page's
    main content (:mod:`crawler.compiler.body`); nothing for a schema without one."""
    if not any(p.get("x-main-text") for p in schema.properties.values()):
        return {}
    from crawler.compiler.body import main_text_labels as read

    return dict(read(page, schema))


def snap_main_text(page: Page, schema: Schema, labels: dict[str, Any]) -> dict[str, Any]:
    """``labels`` with each main-text value that did not come from the main-text labeller (an
    LLM's, a person's, an ``articleBody``) replaced by what the page's container of that text
    reads (:func:`crawler.compiler.body.readings`), so induction can match it exactly; a value
    no clean container holds is kept as it is."""
    fields = [n for n, p in schema.properties.items() if p.get("x-main-text")]
    if not any(isinstance(labels.get(n), str) for n in fields):
        return labels
    from crawler.compiler.body import readings

    out = dict(labels)
    for name in fields:
        if isinstance(out.get(name), str):
            found = readings(page, out[name])
            if found and found[0].clean:
                out[name] = found[0].text
    return out


def history_labels(page: Page, last_good: dict[str, Any] | None, schema: Schema) -> dict[str, Any]:
    """The last good item of the same URL, kept only where its values occur in the new page."""
    if not last_good:
        return {}
    return grounded_fields(
        {k: v for k, v in last_good.items() if k in schema.properties}, page, schema
    )


def field_contexts(
    samples: Iterable[tuple[Page, dict[str, Any]]], schema: Schema
) -> dict[str, set[str]]:
    """For each field, the label texts that stood beside its value in labelled pages."""
    contexts: dict[str, set[str]] = {}
    for page, item in samples:
        root = page.selector.root
        if root is None:
            continue
        for name, value in item.items():
            if name not in schema.properties or value in (None, "", []):
                continue
            first = value[0] if isinstance(value, list) else value
            want = clean(str(first))
            for el in root.iter():
                if not isinstance(el.tag, str) or el.tag in ("script", "style"):
                    continue
                candidates = []
                tail = clean(el.tail)
                if tail and tail.lstrip(":").strip() == want:
                    candidates.append(el)
                own = clean("".join(el.itertext()))
                if own == want and el.getprevious() is not None:
                    candidates.append(el.getprevious())
                for label_el in candidates:
                    label = clean("".join(label_el.itertext()))
                    if (
                        label
                        and len(label) <= 40
                        and any(c.isalpha() for c in label)
                        and label != want
                    ):
                        contexts.setdefault(name, set()).add(label.rstrip(":").strip())
    return contexts


def context_labels(page: Page, contexts: dict[str, set[str]], schema: Schema) -> dict[str, Any]:
    """Values found beside the old labels in a new page (``labelled``), converted and grounded."""
    labels: dict[str, Any] = {}
    for name, texts in contexts.items():
        for label in sorted(texts):
            value = labelled(page, label)
            converted = _convert(schema, name, value, page) if value else None
            if converted not in (None, ""):
                labels[name] = [converted] if schema.is_list(name) else converted
                break
    return grounded_fields(labels, page, schema)


def merge_labels(*sources: dict[str, Any]) -> dict[str, Any]:
    """The first source that knows a field wins."""
    out: dict[str, Any] = {}
    for source in sources:
        for key, value in source.items():
            out.setdefault(key, value)
    return out
