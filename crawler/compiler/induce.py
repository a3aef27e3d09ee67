"""Wrapper induction: a parser from labelled pages, with no LLM.

For each field, find the nodes that hold the labelled value on the sample pages (an element's
text, a text node — an element's own text or the tail after a child, e.g.
``<strong>ISBN-13</strong>: 978…`` — an attribute value, a JSON-LD property, or a substring of a
node), propose selectors for them, from anchors that survive redesigns (ids, itemprop, the label
text beside a value, classes) to positional paths, run every candidate on every sample page, and
keep the cheapest one that is exact on all of them. Each field becomes one line of a readable
parser module.

A block-text field (the schema marks it ``"x-main-text": true``: an article's body) is read with
:func:`crawler.parsing.paragraphs` from a container: the containers whose paragraphs make the
labelled text are found by :func:`crawler.compiler.body.readings` (the deepest element holding
nearly all of it, the elements under it that hold none of it skipped), so a label that differs a
little from the page's paragraphs (a caption or a list left out) still finds its container; the
rule chosen must read the labelled text exactly (whitespace folded) on every sample.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.compiler.labels import lower_alnum
from crawler.fixtures import normalise
from crawler.parsing import (
    Page,
    absolute,
    clean,
    currency,
    date,
    first,
    ld,
    lines,
    number,
    paragraphs,
    price,
    regex,
    regex_all,
    split,
    text,
    texts,
    union,
)
from crawler.schemas import Schema

__all__ = ["FieldResult", "Induction", "Rule", "induce", "render_parser"]

_SKIP_TAGS = {"script", "style", "noscript", "head", "title"}
_ATTRS = ("content", "href", "src", "title", "alt", "value", "datetime", "data-src")
# an id or class a framework generated (a long number, a hash, digits only): no anchor
_GENERATED_NAME = re.compile(r"\d{4,}|[0-9a-f]{10,}|^\d+$")
# a name that ends in a number ("post-12", "item_3"): likely the page's own record, costs more
_NUMBERED_NAME = re.compile(r"[a-z][-_]?\d+$", re.IGNORECASE)
NUMBERED_COST = 3.0
MAX_NODES = 12  # value nodes per sample page used to propose selectors
MAX_TEXT = 600  # longest element text considered as a whole-element value


def _literal(value: str) -> str:
    """An XPath string literal for ``value``."""
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    parts = value.split('"')
    return "concat(" + ", '\"', ".join(f'"{p}"' for p in parts) + ")"


@dataclass(frozen=True)
class Rule:
    """How one field is read: a query, how its result is taken, and a conversion."""

    query: str  # XPath, or a JSON-LD path for kind "ld"
    kind: str = "text"  # text | texts | lines | paragraphs | ld
    convert: str = ""  # "" | number | date | absolute | currency
    pattern: str | None = None  # regex with one group, applied to the text
    ld_type: str | None = None
    cost: float = 0.0
    sep: str | None = None  # list values written in one text, split at this separator
    skip: str | None = None  # kind "paragraphs": XPath (relative to the container) not read

    def apply(self, page: Page) -> Any:
        if self.kind == "paragraphs":  # a block text keeps its paragraph breaks
            return paragraphs(page.xpath(self.query), self.skip)
        if self.kind == "ld":
            value: Any = ld(page, self.query, self.ld_type)
            if isinstance(value, list):
                value = value[0] if value else None
        elif self.kind in ("texts", "lines"):
            nodes = page.xpath(self.query)
            values = texts(nodes) if self.kind == "texts" else lines(nodes)
            if self.sep:
                values = split(values, self.sep)
            if self.pattern:
                values = regex_all(self.pattern, values, 1)
            return [self._convert(page, v) for v in values] or None
        elif self.pattern:  # the first node whose text has the pattern: rows may move
            value = regex(self.pattern, texts(page.xpath(self.query)), 1)
        else:
            value = text(page.xpath(self.query))
        if self.pattern and self.kind == "ld":
            value = regex(self.pattern, value, 1)
        return self._convert(page, value)

    def _convert(self, page: Page, value: Any) -> Any:
        if value is None:
            return None
        if self.convert == "number":
            return number(value)
        if self.convert == "price":
            return price(value)
        if self.convert == "date":
            return date(value)
        if self.convert == "absolute":
            return absolute(page, str(value))
        if self.convert == "currency":
            return currency(value)
        return clean(value) if isinstance(value, str) else value

    def code(self) -> str:
        if self.kind == "paragraphs":
            skip = f", skip={self.skip!r}" if self.skip else ""
            return f"paragraphs(page.xpath({self.query!r}){skip})"
        if self.kind == "ld":
            inner = f"ld(page, {self.query!r}" + (f", {self.ld_type!r})" if self.ld_type else ")")
        else:
            reader = "texts" if self.pattern and self.kind == "text" else self.kind
            inner = f"{reader}(page.xpath({self.query!r}))"
        if self.sep:
            inner = f"split({inner}, {self.sep!r})"
        if self.pattern:
            reader = "regex" if self.kind in ("text", "ld") else "regex_all"
            inner = f"{reader}({self.pattern!r}, {inner}, 1)"
        if self.convert == "absolute":
            return f"absolute(page, {inner})"
        if self.convert:
            return f"{self.convert}({inner})"
        return inner


@dataclass
class FieldResult:
    """How a field is read (one rule, or several whose values are united / tried in turn) and
    how it did on the samples."""

    name: str
    rule: Rule | None
    exact: int
    total: int
    candidates: int = 0
    note: str = ""
    rules: tuple[Rule, ...] = ()  # several places: union (list fields) or fallbacks (first)
    held_out: float | None = (
        None  # leave-one-out: share of samples a rule induced without them fits
    )
    required: bool = False
    nearest: list[str] = field(default_factory=list)  # per sample: labelled value, nearest text
    chosen_by: str = ""  # why another rule than the cheapest exact one was chosen

    @property
    def ok(self) -> bool:
        return self.exact == self.total

    @property
    def parts(self) -> tuple[Rule, ...]:
        return self.rules or ((self.rule,) if self.rule is not None else ())

    @property
    def made(self) -> bool:
        """Whether the field is in the parser (exact on every sample)."""
        return self.ok and bool(self.parts)

    def how(self) -> str:
        parts = self.parts
        if not parts:
            return "none"
        kinds = "+".join(sorted({("regex " if r.pattern else "") + r.kind for r in parts}))
        return f"union of {len(parts)} {kinds}" if len(parts) > 1 else kinds

    def code(self, many: bool) -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0].code()
        inner = ", ".join(r.code() for r in parts)
        return f"union({inner})" if many else f"first({inner})"

    def apply(self, page: Page, many: bool) -> Any:
        values = [r.apply(page) for r in self.parts]
        if len(values) == 1:
            return values[0]
        return union(*values) if many else first(*values)

    def reason(self) -> str:
        if self.made:
            return ""
        if not self.parts:
            return self.note or "value not found in the pages"
        return f"exact on {self.exact}/{self.total} samples ({self.note or 'no selector fits every sample'})"


@dataclass
class Induction:
    """The outcome of induction for one template."""

    template: str
    schema: Schema
    fields: list[FieldResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every field made (none left out)."""
        return all(f.made or not f.parts and f.ok for f in self.fields)

    @property
    def usable(self) -> bool:
        """Every required field is made: a parser of the other fields can be published."""
        return all(f.made for f in self.fields if f.required)

    @property
    def missing(self) -> dict[str, str]:
        """Fields left out of the parser, with the reason."""
        return {
            f.name: f.reason() for f in self.fields if not f.made and not (f.ok and not f.parts)
        }

    def source(self, note: str = "") -> str:
        return render_parser(self.template, self.schema, self.fields, note)

    def field_report(self) -> dict[str, dict[str, Any]]:
        """Per field, for ``parser.json``: how it is read, exactness and the hold-out estimate."""
        out: dict[str, dict[str, Any]] = {}
        for f in self.fields:
            entry: dict[str, Any] = {"how": f.how(), "exact": f"{f.exact}/{f.total}"}
            if f.held_out is not None:
                entry["held_out"] = round(f.held_out, 3)
            if f.chosen_by:
                entry["chosen_by"] = f.chosen_by
            if not f.made and not (f.ok and not f.parts):
                entry["missing"] = f.reason()
            out[f.name] = entry
        return out

    def problems(self) -> list[str]:
        out = []
        for f in self.fields:
            if f.made or (f.ok and not f.parts):
                continue
            kind = "required field" if f.required else "left out"
            out.append(f"{f.name}: {kind}: {f.reason()}")
            if f.required:
                out += [f"  {line}" for line in f.nearest]
        return out


def render_parser(
    template: str, schema: Schema, fields: Sequence[FieldResult], note: str = ""
) -> str:
    """The parser module: a docstring saying where it came from, then one line per field."""
    used = {"Page"}
    lines = []
    missing = []
    for result in fields:
        if not result.parts:
            if result.ok:  # no sample has a value: the field stays, empty
                lines.append(f"        {result.name!r}: None,")
            else:
                missing.append(result)
            continue
        if not result.made:
            missing.append(result)
            continue
        expr = result.code(schema.is_list(result.name))
        for helper in (
            "texts",
            "text",
            "lines",
            "paragraphs",
            "split",
            "number",
            "price",
            "date",
            "absolute",
            "currency",
            "regex_all",
            "regex",
            "ld",
            "union",
            "first",
        ):
            if re.search(rf"\b{helper}\(", expr):
                used.add(helper)
        lines.append(f"        {result.name!r}: {expr},")
    stamp = time.strftime("%Y-%m-%d")
    left_out = ""
    if missing:
        left_out = "\n\nLeft out (no selector fits every sample):\n" + "\n".join(
            f"- {r.name}: {r.reason()}" for r in missing
        )
    doc = f'"""{template}, schema {schema.name}.\n\nGenerated {stamp} by induce{" " + note if note else ""}. Do not edit by hand: regenerate.{left_out}\n"""'
    imports = "from crawler.parsing import " + ", ".join(
        sorted(used, key=lambda s: (s != "Page", s))
    )
    body = "\n".join(lines)
    return (
        f"{doc}\n\n{imports}\n\n\ndef parse(page: Page) -> dict:\n    return {{\n{body}\n    }}\n"
    )


# ---------------------------------------------------------------------------------------------
# Finding the nodes that hold a value


@dataclass(frozen=True)
class _Hit:
    element: Any  # lxml element
    mode: str  # "element" | "text" (element's own text) | "tail" (text after element) | "@attr"
    substring: tuple[str, str] | None = None  # (before, after) context when only part matches


class _PageIndex:
    """Texts, tails and attributes of one page, cleaned, for value lookup."""

    def __init__(self, page: Page) -> None:
        self.page = page
        root = page.selector.root
        self.root = root
        self.tree = root.getroottree() if root is not None else None
        self.by_value: dict[str, list[_Hit]] = {}
        self.strings: list[tuple[str, _Hit]] = []
        self._texts: set[str] | None = None
        if root is None:
            return
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            tag = el.tag.lower()
            if tag in _SKIP_TAGS or any(
                a.tag in _SKIP_TAGS for a in el.iterancestors() if isinstance(a.tag, str)
            ):
                if tag == "meta" and (el.get("property") or el.get("name") or el.get("itemprop")):
                    value = clean(el.get("content"))  # <meta property="og:title" content="…">
                    if value:
                        self._add(value, _Hit(el, "@content"))
                if tag in ("title",) or el.tail is None:
                    continue
            else:
                full = " ".join(el.itertext())
                if full and len(full) <= MAX_TEXT * 3:
                    value = clean(full)
                    if value and len(value) <= MAX_TEXT:
                        self._add(value, _Hit(el, "element"))
                if el.text:
                    value = clean(el.text)
                    if value:
                        self._add(value, _Hit(el, "text"))
                for attr in _ATTRS:
                    raw = el.get(attr)
                    if raw:
                        value = clean(raw)
                        if value:
                            self._add(value, _Hit(el, "@" + attr))
            if el.tail and el.getparent() is not None:
                value = clean(el.tail)
                if value:
                    self._add(value, _Hit(el, "tail"))

    def has_text(self, label: str) -> bool:
        """Whether an element of the page reads exactly ``label`` (as XPath's normalize-space)."""
        if self._texts is None:
            self._texts = set()
            if self.root is not None:
                for el in self.root.iter():
                    if isinstance(el.tag, str) and len(el) <= 4:
                        full = "".join(el.itertext())
                        if full and len(full) <= 200:
                            value = clean(full)
                            if value:
                                self._texts.add(value)
        return label in self._texts

    def _add(self, value: str, hit: _Hit) -> None:
        self.by_value.setdefault(value, []).append(hit)
        self.strings.append((value, hit))

    def find(self, target: Any, convert: str) -> list[_Hit]:
        """Nodes whose value equals ``target`` (after ``convert``); whole nodes before substrings."""
        if isinstance(target, str) and not convert:
            key = clean(target) or ""
            hits = list(self.by_value.get(key, []))
            if hits:
                return _prefer(hits)[:MAX_NODES]
            out = []
            for value, hit in self.strings:
                if hit.mode in ("element",) and len(value) > 200:
                    continue
                pos = value.find(key)
                if pos >= 0 and key:
                    out.append(_Hit(hit.element, hit.mode, (value[:pos], value[pos + len(key) :])))
                    if len(out) >= MAX_NODES:
                        break
            return out
        want = normalise(target)
        out = []
        loose = []  # "4.9 out of 5 (170 reviews)": the number, with other text around it
        for value, hit in self.strings:
            if len(value) > 80 and convert != "absolute":
                continue
            got = Rule("", convert=convert)._convert(self.page, value)
            if got is not None and normalise(got) == want:
                if convert in ("number", "price") and not _BARE_NUMBER.fullmatch(value):
                    loose.append(hit)
                    for m in _NUMBER_TOKEN.finditer(value):  # "MSRP: $36,050 Invoice: …"
                        if normalise(number(m.group(0))) == want:
                            context = (value[: m.start()], value[m.end() :])
                            loose.append(_Hit(hit.element, hit.mode, context))
                            break
                else:
                    out.append(hit)
                if len(out) >= MAX_NODES * 2:
                    break
        out = out or loose
        if not out and convert in ("number", "price"):
            # a number inside a longer text: "£36,000 – £42,000 a year"
            for value, hit in self.strings:
                if len(value) > 120 or hit.mode == "element":
                    continue
                for m in _NUMBER_TOKEN.finditer(value):
                    if normalise(number(m.group(0))) == want:
                        out.append(
                            _Hit(hit.element, hit.mode, (value[: m.start()], value[m.end() :]))
                        )
                if len(out) >= MAX_NODES:
                    break
        return _prefer(out)[:MAX_NODES]


_NUMBER_TOKEN = re.compile(r"\d[\d.,]*\d|\d")
_BARE_NUMBER = re.compile(r"[^\w\s]?\s*[\d.,]+\s*[^\w\s]?")


def _prefer(hits: list[_Hit]) -> list[_Hit]:
    """Deepest, most specific nodes first; text nodes before attributes."""
    order = {"text": 0, "tail": 1, "element": 2}
    return sorted(hits, key=lambda h: (order.get(h.mode, 3), -len(list(h.element.iterancestors()))))


# ---------------------------------------------------------------------------------------------
# Proposing selectors


def _holds(name: str, avoid: frozenset[str]) -> bool:
    """Whether an id or class holds a value of the samples (``product-SKU-002``, ``brand-acme``):
    such a name changes from page to page, so it is no anchor."""
    slug = lower_alnum(name)
    return slug in avoid or any(len(v) >= 3 and v in slug for v in avoid)


def _anchors(el: Any, avoid: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
    """XPaths that select an element by what it is rather than where it is, with their cost.

    An id becomes ``id("x")``: libxml2 indexes HTML ids, so it is a lookup, not a scan.
    """
    tag = _tag(el)
    out: list[tuple[str, float]] = []
    ident = el.get("id")
    if ident and not _GENERATED_NAME.search(ident) and len(ident) < 60 and not _holds(ident, avoid):
        out.append(
            (f"id({_literal(ident)})", 1.0 + NUMBERED_COST * bool(_NUMBERED_NAME.search(ident)))
        )
    for attr in ("itemprop", "property", "name"):
        value = el.get(attr)
        if value and len(value) < 60 and not _holds(value, avoid):
            out.append((f"//{tag}[@{attr}={_literal(value)}]", 1.0))
    classes = (el.get("class") or "").split()
    good = [
        c for c in classes if not _GENERATED_NAME.search(c) and len(c) < 50 and not _holds(c, avoid)
    ]
    numbered = NUMBERED_COST * any(_NUMBERED_NAME.search(c) for c in good)
    if good:
        if len(good) == len(classes) and not any(_holds(c, avoid) for c in classes):
            # several classes: one of them may be a state ("in-stock"), so the full set costs more
            out.append(
                (
                    f"//{tag}[@class={_literal(' '.join(classes))}]",
                    (2.0 if len(classes) == 1 else 2.7) + numbered,
                )
            )
        if len(classes) > 1:
            for c in good:
                pred = f'[contains(concat(" ", normalize-space(@class), " "), {_literal(" " + c + " ")})]'
                out.append((f"//{tag}{pred}", 2.5 + NUMBERED_COST * bool(_NUMBERED_NAME.search(c))))
    return out


def _tag(el: Any) -> str:
    return str(el.tag).lower()


def _step(el: Any, positional: bool) -> str:
    tag = _tag(el)
    if not positional:
        return tag
    parent = el.getparent()
    if parent is None:
        return tag
    same = [c for c in parent if isinstance(c.tag, str) and c.tag == el.tag]
    if len(same) == 1:
        return tag
    return f"{tag}[{same.index(el) + 1}]"


def _previous(el: Any, count: int) -> Iterable[Any]:
    """The elements among the ``count`` siblings before ``el`` (comments and the like skipped,
    but counted)."""
    sibling = el.getprevious()
    for _ in range(count):
        if sibling is None:
            return
        if isinstance(sibling.tag, str):
            yield sibling
        sibling = sibling.getprevious()


def _suffix(hit: _Hit) -> str:
    if hit.mode == "text":
        return "/text()"
    if hit.mode == "tail":
        return "/following-sibling::text()[1]"
    if hit.mode.startswith("@"):
        return "/" + hit.mode
    return ""


_LABEL_TAGS = frozenset({"th", "dt", "label", "legend", "caption"})


class _Labels:
    """What may serve as a label: short text with letters that is not a value of the sample
    items, and — with two pages or more — that also occurs on another page of the template
    (text on one page only is data, such as a product name, not a label)."""

    def __init__(self, avoid: set[str | None], indexes: Sequence[_PageIndex]) -> None:
        self.avoid = avoid
        self.indexes = indexes
        self.slugs = frozenset(lower_alnum(v) for v in avoid if v)
        self.required_on: Sequence[_PageIndex] = ()  # pages that show the field: each has its label
        self.field_words: tuple[str, ...] = ()  # the field's name in words: "date", "posted"
        self.many = (
            False  # a list field: its label may be singular or plural ("Director:"/"Directors:")
        )
        self._seen: dict[str, bool] = {}

    def forms(self, label: str) -> tuple[str, ...]:
        """The spellings of a label that mean it: for a list field singular and plural."""
        if not self.many:
            return (label,)
        stem, colon = (label[:-1], ":") if label.endswith(":") else (label, "")
        if not stem or not stem[-1].isalpha():
            return (label,)
        if stem.endswith("y") and stem[-2:-1] not in ("a", "e", "o", "u", ""):
            return (label, stem[:-1] + "ies" + colon)  # "Category:" / "Categories:"
        if stem.endswith("ies"):
            return (label, stem[:-3] + "y" + colon)
        if stem.endswith("s"):
            if stem.endswith(("ss", "us", "is")) or len(stem) <= 3:
                return (label,)  # "Address", "Status": not plurals
            return (label, stem[:-1] + colon)
        return (label, stem + "s" + colon)

    def affinity(self, label: str) -> float:
        """A cost bonus for a label that names the field ("Director:" for ``director``): of two
        labels beside the same value, the one that says what the field is."""
        slug = lower_alnum(label)
        if not slug:
            return 0.0
        for word in self.field_words:
            if len(word) >= 3 and (word in slug or (len(slug) >= 4 and slug in word)):
                return 0.4
        return 0.0

    def doubt(self, el: Any, label: str) -> float:
        """A cost for a label on one labelled page that is not written as one: one page cannot
        tell a label from data beside the value (a brand, a name) by repetition, so such a
        text serves only where no anchor of the element itself does ("SKU:", ``<th>`` do)."""
        if len(self.indexes) >= 2 or label.endswith(":") or _tag(el) in _LABEL_TAGS:
            return 0.0
        return 1.0

    def test(self, label: str) -> str:
        """The XPath predicate of an element that reads the label (in any of its forms)."""
        return " or ".join(f"normalize-space()={_literal(f)}" for f in self.forms(label))

    def of(self, el: Any) -> str | None:
        if sum(isinstance(c.tag, str) for c in el) > 1:
            return None  # a label is a leaf (or wraps one element): not a menu of links
        value = clean("".join(el.itertext()))
        if not value or len(value) > 40 or value in self.avoid:
            return None
        if "|" in value or len(value.split()) > 5:
            return None
        if not any(ch.isalpha() for ch in value):
            return None
        if len(self.indexes) < 2:
            return value
        known = self._seen.get(value)
        if known is None:
            forms = self.forms(value)
            shown = [any(i.has_text(f) for f in forms) for i in self.indexes]
            known = self._seen[value] = sum(shown) >= 2 and all(
                any(i.has_text(f) for f in forms) for i in self.required_on
            )
        return value if known else None


def _propose(hit: _Hit, many: bool, labels: _Labels) -> Iterable[tuple[str, float]]:
    """XPath candidates for a hit, each with a cost (lower is simpler and sturdier)."""
    el = hit.element
    suffix = _suffix(hit)
    slugs = labels.slugs
    tag = _tag(el)
    # 1. the element's own anchors
    for base, cost in _anchors(el, slugs):
        yield f"{base}{suffix}", cost + 1
    # 2. a label beside the value: <b>Vendor:</b> Value Books, <th>Brand</th><td>…</td>
    if hit.mode == "tail":
        label = labels.of(el)
        if label:
            yield (
                f"//{tag}[{labels.test(label)}]/following-sibling::text()[1]",
                2.0 - labels.affinity(label) + labels.doubt(el, label),
            )
    else:
        # a label beside the element, or beside an ancestor:
        # <th>Brand</th><td>…</td>, <td>Address:</td><td><b>803 Harkrider St,<br>…</b></td>
        down: list[str] = []
        for depth, box in enumerate([el, *el.iterancestors()]):
            if depth > 3 or not isinstance(box.tag, str) or _tag(box) in ("body", "html"):
                break
            path = "".join(f"/{step}" for step in reversed(down))
            for distance, sibling in enumerate(_previous(box, 2), start=1):
                label = labels.of(sibling)
                if label:
                    weight = 2.0 if depth == 0 else 2.4 + depth * 0.3
                    yield (
                        f"//{_tag(sibling)}[{labels.test(label)}]/following-sibling::{_tag(box)}[1]{path}{suffix}",
                        weight
                        + distance * 0.5
                        - labels.affinity(label)
                        + labels.doubt(sibling, label),
                    )
            down.append(_tag(box))
        parent = el.getparent()
        if parent is not None and hit.mode == "text":
            for child in parent:
                if child is el or not isinstance(child.tag, str):
                    continue
                label = labels.of(child)
                if label and child.tail is None:
                    yield (
                        f"//{_tag(parent)}[{_tag(child)}[{labels.test(label)}]]/{tag}{suffix}",
                        3.0 - labels.affinity(label),
                    )
                break
        # a label written just before the value inside its parent: <div class=a>By: <a>…</a></div>
        if parent is not None and hit.mode != "tail":
            before = el.getprevious()
            lead = clean(before.tail if before is not None else parent.text)
            if lead and len(lead) <= 24 and lead.endswith(":"):
                for base, cost in _anchors(parent, slugs):
                    yield (
                        f"{base}[starts-with(normalize-space(), {_literal(lead)})]/{tag}{suffix}",
                        cost + 1.2,
                    )
    # 3. anchored ancestors, then a path down to the element
    chain = [el]
    for depth, anc in enumerate(el.iterancestors(), start=1):
        if not isinstance(anc.tag, str) or depth > 8:
            break
        for base, cost in _anchors(anc, slugs):
            loose = "/".join(_step(x, False) for x in reversed(chain))
            yield f"{base}//{tag}{suffix}", cost + 1.5 + 0.2 * depth
            yield f"{base}/{loose}{suffix}", cost + 2 + 0.3 * depth
            if not many:
                exact = "/".join(_step(x, True) for x in reversed(chain))
                yield f"{base}/{exact}{suffix}", cost + 3 + 0.4 * depth
        chain.append(anc)
    # 4. the absolute path
    steps = [_step(x, True) for x in reversed(list(el.iterancestors()))] + [_step(el, not many)]
    yield "/" + "/".join(steps) + suffix, 12.0 + 0.1 * len(steps)


def _regex_for(before: str, after: str, numeric: bool = False, words: int = 1) -> str | None:
    """A pattern with one group taking the value between the literal words around it.

    Only the non-digit context next to the value is kept (``£36,000 – £`` gives ``–\\s*£``), so
    the pattern does not hard-code another value of the page.
    """
    head = re.search(r"[^\d]{0,24}$", before)
    tail = re.match(r"[^\d]{0,12}", after)
    left = head.group(0) if head else ""
    right = tail.group(0) if tail else ""
    if left and len(left) < len(before) and before[-len(left) - 1].isalnum() and left[0].isalnum():
        left = left.split(" ", 1)[1] if " " in left else ""  # never half a word: "ate Posted"
    if right and len(right) < len(after) and after[len(right)].isalnum() and right[-1].isalnum():
        right = right.rsplit(" ", 1)[0] if " " in right.strip() else ""
    left, right = left.strip(), right.strip()
    tokens = left.split()
    for keep in range(1, len(tokens) + 1):  # the label: the last ``words`` words with letters
        if sum(any(ch.isalpha() for ch in w) for w in tokens[-keep:]) > words:
            left = " ".join(tokens[-keep + 1 :])
            break

    def literal(words: str) -> str:
        return re.escape(words).replace("\\ ", "\\s+")

    start = literal(left) + r"\s*" if left else ("^" if not before.strip() else "")
    end = r"\s*" + literal(right) if right else ("$" if not after.strip() else "")
    if not start and not end:
        return None
    if numeric:  # a number ends where its digits end: no right-hand context needed
        return f"{start}(\\d[\\d.,]*)" if start else None
    return f"{start}(.+?){end}"


def _jsonld_paths(page: Page, target: Any, convert: str) -> list[tuple[str, str | None]]:
    """Dotted JSON-LD paths whose value equals ``target``."""
    want = normalise(target)
    found: list[tuple[str, str | None]] = []

    def walk(obj: Any, path: str, kind: str | None, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key.startswith("@"):
                    continue
                walk(value, f"{path}.{key}" if path else key, kind, depth + 1)
        elif isinstance(obj, list):
            if obj:
                walk(obj[0], path, kind, depth)
        elif obj is not None and path:
            got = Rule("", convert=convert)._convert(
                page, clean(obj) if isinstance(obj, str) else obj
            )
            if got is not None and normalise(got) == want:
                found.append((path, kind))

    for obj in page.jsonld():
        kind = obj.get("@type")
        walk(obj, "", kind if isinstance(kind, str) else None, 0)
    return found


# ---------------------------------------------------------------------------------------------
# Induction


def _converters(schema: Schema, name: str) -> list[str]:
    kind = schema.field_type(name)
    if kind in ("number", "integer"):
        prop = schema.properties.get(name, {})
        words = f"{name} {prop.get('description', '')}".lower()
        if re.search(r"price|cost|amount|fee|msrp|salary|pay\b", words):
            return ["price", "number"]  # "1.299 kr" is 1299: read as a price, else a number
        return ["number"]
    if schema.is_derived(name):
        prop = schema.properties.get(name, {})
        if prop.get("format") == "uri":
            return ["absolute", ""]
        if "currency" in name or "ISO 4217" in str(prop.get("description", "")):
            return ["currency", ""]
        return ["date", ""]
    return [""]


MAX_VALUES = 6  # values of a list field per sample page used to propose selectors
MAX_PARTS = 4  # selectors united into one field at most
MAX_COVER = 600  # candidates evaluated on every sample when no single one fits
MAX_FOLDS = 5  # leave-one-out folds at most


def _blank(value: Any) -> bool:
    return value in (None, [], "")


def _gather(
    name: str,
    schema: Schema,
    samples: Sequence[tuple[Page, dict[str, Any]]],
    indexes: Sequence[_PageIndex],
    values: Sequence[Any],
    present: Sequence[int],
    labels: _Labels,
    numbers: Sequence[Rule],
    partial: bool,
) -> dict[Rule, None]:
    """Candidate rules for a field from the nodes holding its values on (up to) two sample pages;
    for a list field from every value, so that values written in different places all count."""
    many = schema.is_list(name)
    candidates: dict[Rule, None] = {}
    for convert in _converters(schema, name):
        if convert == "currency":  # "£35.99": the currency stands with the amount
            for rule in numbers:
                if rule.kind != "ld":
                    candidates[Rule(rule.query, "text", "currency", cost=0.5)] = None
        for i in present[:2]:
            value = values[i]
            targets = (value if isinstance(value, list) else [value]) if many else [value]
            page = samples[i][0]
            for target in targets[:MAX_VALUES]:
                for path, kind in _jsonld_paths(page, target, convert):
                    # labels from a labeller often come from this very JSON-LD: reading it back
                    # is exact on them but fails on pages without it, so prefer the page's markup
                    candidates[
                        Rule(path, "ld", convert, ld_type=kind, cost=11.5 if partial else 1.5)
                    ] = None
                for hit, pattern in _patterns(indexes[i].find(target, convert), convert):
                    # text a reader sees before an attribute (an image's alt repeats the heading)
                    extra = 1.2 if hit.mode.startswith("@") and convert != "absolute" else 0.0
                    if pattern and hit.mode == "element":
                        extra += 1.0  # a text over several nodes: the neighbours may change
                    if pattern and not pattern.endswith(("$", ")")):
                        extra += 0.5  # the next words are part of the rule
                    if pattern and re.search(
                        r"[A-Za-z]\w*:\s*\W?$", hit.substring[0] if hit.substring else ""
                    ):
                        extra -= (
                            1.5  # "MSRP: $…": a label in the text anchors it, a position does not
                        )
                    if pattern and _names_data(pattern, labels.avoid):
                        continue  # "Acme\s+Weight:": a value of the samples is no anchor
                    if hit.substring:
                        lead = hit.substring[0][-24:]
                        if sum(ch.isalpha() for ch in lead) < 3:
                            extra += 1.0  # "in", "$": too little to anchor on
                        extra -= labels.affinity(lead.split(":")[0][-20:] if ":" in lead else "")
                    for query, base_cost in _propose(hit, many, labels):
                        cost = base_cost + extra + (3 if pattern else 0)
                        kind = "texts" if many else "text"
                        candidates[Rule(query, kind, convert, pattern, cost=cost)] = None
                    if many and not pattern and not hit.mode.startswith("@"):
                        # values one per line in one element: <td>Pete Docter<br>Bob Peterson</td>
                        box = hit.element
                        if hit.mode == "tail":
                            box = box.getparent()
                        if box is not None:
                            for query, base_cost in _propose(_Hit(box, "element"), many, labels):
                                candidates[Rule(query, "lines", convert, cost=base_cost - 0.05)] = (
                                    None
                                )
            if many and isinstance(value, list) and len(value) >= 2 and not convert:
                # values in one text with a separator: "Action, Drama"
                for sep in (", ", "; ", " / ", " | ", ","):
                    joined = sep.join(str(v) for v in value)
                    for hit in indexes[i].find(joined, ""):
                        if hit.substring or hit.mode.startswith("@"):
                            continue
                        for query, base_cost in _propose(hit, many, labels):
                            rule = Rule(query, "texts", "", cost=base_cost + 0.5, sep=sep.strip())
                            candidates[rule] = None
    return candidates


def _gather_main_text(
    name: str,
    schema: Schema,
    samples: Sequence[tuple[Page, dict[str, Any]]],
    indexes: Sequence[_PageIndex],
    values: Sequence[Any],
    present: Sequence[int],
    labels: _Labels,
    numbers: Sequence[Rule],
    partial: bool,
) -> dict[Rule, None]:
    """Candidate rules for a block-text field: the paragraphs of each container whose text makes
    the labelled value on (up to) three sample pages, with the elements that sample skips, or
    the elements every sample skips (a box of links on one page, share buttons on another).
    The deepest container costs least; a query selecting more than one element costs more."""
    from crawler.compiler.body import readings

    candidates: dict[Rule, None] = {}
    found = []
    for i in present[:3]:
        value = values[i]
        if not isinstance(value, str):
            continue
        page = samples[i][0]
        for path, kind in _jsonld_paths(page, value, ""):  # "articleBody" in the JSON-LD
            candidates[Rule(path, "ld", ld_type=kind, cost=11.5 if partial else 1.5)] = None
        found.append(readings(page, value)[:3])
    every = " | ".join(
        dict.fromkeys(
            part
            for group in found
            if group and group[0].skip
            for part in group[0].skip.split(" | ")
        )
    )
    pages = [samples[i][0] for i in present[:3]]
    for group in found:
        for rank, reading in enumerate(group):  # the first is the deepest clean container
            for query, cost in _propose(_Hit(reading.element, "element"), False, labels):
                # one container: a query that also selects others (comments in <article>s)
                # may read them on another page
                many = any(_count(query, page) > 1 for page in pages)
                for skip in dict.fromkeys((reading.skip, every or None)):
                    extra = rank + 2.0 * many + (0.3 + 0.1 * skip.count(" | ") if skip else 0.0)
                    candidates[Rule(query, "paragraphs", cost=cost + extra, skip=skip)] = None
    return candidates


def _count(query: str, page: Page) -> int:
    try:
        return len(page.xpath(query))
    except Exception:  # noqa: BLE001 - a query the page cannot run selects nothing
        return 0


def _names_data(pattern: str, values: set[str | None]) -> bool:
    """Whether a pattern's literal context holds a value of the sample items."""
    literal = re.sub(r"\\s[+*]|\\(.)|\(\.\+\?\)|\(\\d\[\\d\.,\]\*\)|[\^$]", r" \1 ", pattern)
    words = clean(literal) or ""
    return any(
        v and len(v) >= 3 and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", words) for v in values
    )


def _patterns(hits: list[_Hit], convert: str) -> Iterable[tuple[_Hit, str | None]]:
    """Each hit with the pattern that takes its value out of a longer text (None for a whole
    node); a value inside a text gets a pattern anchored on one, and one on two, words before it."""
    numeric = convert in ("number", "price")
    for hit in hits:
        if not hit.substring:
            yield hit, None
            continue
        seen = set()
        for words in (1, 2):
            pattern = _regex_for(*hit.substring, numeric=numeric, words=words)
            if pattern is not None and pattern not in seen:
                seen.add(pattern)
                yield hit, pattern


def _run(rule: Rule, page: Page) -> Any:
    try:
        return rule.apply(page)
    except Exception:  # noqa: BLE001 - an XPath a page cannot run is just a bad candidate
        return _FAILED


_FAILED = object()


def _same(got: Any, expected: Any) -> bool:
    if got is _FAILED:
        return False
    want, have = normalise(expected), normalise(got)
    if want in ([], ""):
        want = None
    if have in ([], ""):
        have = None
    if isinstance(want, float) and isinstance(have, float):
        return abs(want - have) < 1e-9
    return bool(want == have)


def _too_many(rule: Rule, page: Page, expected: Any) -> bool:
    """Whether a list rule selects far more nodes than there are values (so it cannot be exact
    or sound): decided from the node count, before reading and cleaning every node's text."""
    if rule.kind not in ("texts", "lines") or rule.sep:
        return False
    try:
        return len(page.xpath(rule.query)) > 2 * len(_members(expected)) + 2
    except Exception:  # noqa: BLE001 - a query the page cannot run
        return True


def _members(value: Any) -> list[Any]:
    if _blank(value) or value is _FAILED:
        return []
    return [normalise(v) for v in (value if isinstance(value, list) else [value])]


def _choose(
    candidates: dict[Rule, None],
    samples: Sequence[tuple[Page, dict[str, Any]]],
    values: Sequence[Any],
    many: bool,
) -> tuple[tuple[Rule, ...], int]:
    """The cheapest rule exact on every sample; when none is, the fewest rules whose union (a
    list field) or fallbacks (``first``) are exact, each of them never wrong on any sample."""
    n = len(samples)
    ranked = sorted(candidates, key=lambda r: (r.cost, len(r.query)))
    best: Rule | None = None
    best_exact = -1
    for rule in ranked:
        if best is not None and best_exact == n and rule.cost > best.cost:
            break
        exact = 0
        for i, (page, _) in enumerate(samples):
            if exact + (n - i) <= best_exact:
                break  # cannot beat the best any more
            exact += not _too_many(rule, page, values[i]) and _same(_run(rule, page), values[i])
        if exact > best_exact:
            best, best_exact = rule, exact
    if best is None:
        return (), 0
    if best_exact == n:
        return (best,), n
    # several places: every rule must be sound (only right values, or nothing) on every sample
    wanted = {(i, v) for i, value in enumerate(values) for v in _members(value)}
    sound: list[tuple[Rule, set[tuple[int, Any]], float]] = []
    for rule in ranked[:MAX_COVER]:
        covers: set[tuple[int, Any]] = set()
        order = 0.0
        ok = True
        for i, (page, _) in enumerate(samples):
            if _too_many(rule, page, values[i]):
                ok = False
                break
            got = _run(rule, page)
            if got is _FAILED:
                ok = False
                break
            members = _members(got)
            expected = _members(values[i])
            if many:
                if any(m not in expected for m in members):
                    ok = False
                    break
            elif members and not _same(got, values[i]):
                ok = False
                break
            covers |= {(i, m) for m in members}
            order += sum(expected.index(m) for m in members) / max(1, len(members))
        if ok and covers:
            sound.append((rule, covers, order))
    chosen: list[tuple[Rule, float]] = []
    covered: set[tuple[int, Any]] = set()
    while covered != wanted and len(chosen) < MAX_PARTS:
        pick = None
        pick_key: tuple[int, float] = (0, 0.0)
        for rule, covers, order in sound:
            key = (len(covers - covered), -rule.cost)
            if key[0] and (pick is None or key > pick_key):
                pick, pick_key = (rule, covers, order), key
        if pick is None:
            break
        rule, covers, order = pick
        chosen.append((rule, order))
        covered |= covers
    if covered != wanted or not chosen:
        return (best,), best_exact
    parts = tuple(r for r, _ in (sorted(chosen, key=lambda x: x[1]) if many else chosen))
    result = FieldResult("", None, 0, n, rules=parts)
    exact = sum(_same(result.apply(page, many), values[i]) for i, (page, _) in enumerate(samples))
    if exact <= best_exact:
        return (best,), best_exact
    return parts, exact


def _nearest(index: _PageIndex, value: Any) -> str:
    """The page text most like ``value`` (for a message: what the page writes instead)."""
    import difflib

    want = clean(str(value[0] if isinstance(value, list) and value else value)) or ""
    pool = list({v for v, _ in index.strings if len(v) <= 200})
    close = difflib.get_close_matches(want, pool, n=1, cutoff=0.3)
    return close[0] if close else "(nothing alike)"


def induce_field(
    name: str,
    schema: Schema,
    samples: Sequence[tuple[Page, dict[str, Any]]],
    indexes: list[_PageIndex],
    partial: bool = False,
    numbers: Sequence[Rule] = (),
    folds: bool = True,
) -> FieldResult:
    """The cheapest rule (or union of rules) exact on every sample; with ``partial``, a sample
    whose item lacks the field does not know it (a labeller's gap), so it is not checked there.
    ``numbers`` are the rules chosen for number fields: a currency is first looked for in the
    text of a price. With ``folds``, the field is induced again without each sample in turn and
    checked on it (leave-one-out): ``held_out`` is the share that holds."""
    many = schema.is_list(name)
    # the values of the sample items are data, never labels ("In stock" is not a label); every
    # page counts here, also those whose labels do not know this field
    labels = _Labels(
        {
            clean(str(v))
            for _, item in samples
            for value in item.values()
            for v in (value if isinstance(value, list) else [value])
            if isinstance(v, str | int | float)
        },
        indexes,
    )
    if partial:
        known = [i for i, (_, item) in enumerate(samples) if name in item]
        samples = [samples[i] for i in known]
        indexes = [indexes[i] for i in known]
    required = name in schema.required
    values = [item.get(name) for _, item in samples]
    present = [i for i, v in enumerate(values) if not _blank(v)]
    if not present:
        return FieldResult(
            name, None, len(samples), len(samples), note="no sample has a value", required=required
        )
    labels.required_on = [indexes[i] for i in present]
    labels.many = many
    labels.field_words = tuple(w for w in re.split(r"[^a-z0-9]+", name.lower()) if w)
    main_text = bool(schema.properties.get(name, {}).get("x-main-text")) and not many
    collect = _gather_main_text if main_text else _gather
    candidates = collect(name, schema, samples, indexes, values, present, labels, numbers, partial)
    parts, exact = _choose(candidates, samples, values, many)
    result = FieldResult(
        name,
        parts[0] if parts else None,
        exact,
        len(samples),
        len(candidates),
        "" if parts else "value not found in the pages",
        rules=parts if len(parts) > 1 else (),
        required=required,
    )
    if not result.ok:
        result.nearest = [
            f"{samples[i][0].url or i}: labelled {values[i]!r}, nearest text {_nearest(indexes[i], values[i])!r}"
            for i in present
            if not _same(result.apply(samples[i][0], many) if parts else None, values[i])
        ][:5]
    if folds and result.made and len(samples) >= 2:

        def gather(
            some: Sequence[tuple[Page, dict[str, Any]]],
            their: Sequence[_PageIndex],
            vals: Sequence[Any],
            shown: Sequence[int],
        ) -> dict[Rule, None]:
            return collect(name, schema, some, their, vals, shown, labels, numbers, partial)

        cases = _fold_cases(gather, samples, indexes, values, present)
        held_out, votes = _held_out(cases, samples, values, many)
        result.held_out = held_out
        if votes:
            # prefer what holds out: the rule chosen without the most samples that is still
            # exact on all of them (it may come from pages the full run did not propose from)
            parts, count = max(votes.items(), key=lambda kv: (kv[1], -sum(r.cost for r in kv[0])))
            if parts != result.parts and count > votes.get(result.parts, 0):
                result.rule, result.rules = parts[0], parts if len(parts) > 1 else ()
                result.chosen_by = f"leave-one-out: chosen without {count} of {len(cases)} samples"
    return result


_Fold = tuple[int, dict[Rule, None], list[tuple[Page, dict[str, Any]]], list[Any]]


_Gather = Callable[
    [Sequence[tuple[Page, dict[str, Any]]], Sequence[_PageIndex], Sequence[Any], Sequence[int]],
    dict[Rule, None],
]


def _fold_cases(
    gather: _Gather,
    samples: Sequence[tuple[Page, dict[str, Any]]],
    indexes: Sequence[_PageIndex],
    values: Sequence[Any],
    present: Sequence[int],
) -> list[_Fold]:
    """For each sample left out (at most :data:`MAX_FOLDS`), the candidates the others give."""
    out: list[_Fold] = []
    for k in range(min(len(samples), MAX_FOLDS)):
        rest = [j for j in range(len(samples)) if j != k]
        sub_present = [j for j, i in enumerate(rest) if i in present]
        if not sub_present:
            continue
        sub_samples = [samples[i] for i in rest]
        sub_values = [values[i] for i in rest]
        sub = gather(sub_samples, [indexes[i] for i in rest], sub_values, sub_present)
        out.append((k, sub, sub_samples, sub_values))
    return out


def _held_out(
    cases: list[_Fold],
    samples: Sequence[tuple[Page, dict[str, Any]]],
    values: Sequence[Any],
    many: bool,
) -> tuple[float | None, dict[tuple[Rule, ...], int]]:
    """The share of left-out samples that the rule chosen without them reads right, and how
    often each rule chosen in a fold is exact on every sample (it held out)."""
    if not cases:
        return None, {}
    held = 0
    votes: dict[tuple[Rule, ...], int] = {}
    for k, candidates, sub_samples, sub_values in cases:
        parts, _ = _choose(candidates, sub_samples, sub_values, many)
        if not parts:
            continue
        fold = FieldResult("", None, 0, 0, rules=parts)
        if _same(fold.apply(samples[k][0], many), values[k]):
            held += 1
            if all(_same(fold.apply(p, many), values[i]) for i, (p, _) in enumerate(samples)):
                votes[parts] = votes.get(parts, 0) + 1
    return held / len(cases), votes


def induce(
    template: str,
    schema: Schema,
    samples: Sequence[tuple[Page, dict[str, Any]]],
    progress: Callable[[str], None] | None = None,
    partial: bool = False,
) -> Induction:
    """Induce a parser for ``template`` from labelled sample pages (``(page, expected item)``).

    With ``partial``, labels come from labellers that know only some fields of some pages: a
    missing key is unknown rather than empty.
    """
    start = time.perf_counter()
    indexes = [_PageIndex(page) for page, _ in samples]
    result = Induction(template, schema)
    names = list(schema.properties) or sorted({k for _, item in samples for k in item})
    numbers: list[Rule] = []
    done: dict[str, FieldResult] = {}
    # number fields first: their rules are candidates for a currency
    for name in sorted(names, key=lambda n: schema.field_type(n) not in ("number", "integer")):
        field_result = done[name] = induce_field(name, schema, samples, indexes, partial, numbers)
        if field_result.made:
            numbers.extend(r for r in field_result.parts if r.convert in ("number", "price"))
        if progress:
            state = "ok" if field_result.made else f"{field_result.exact}/{field_result.total}"
            progress(f"induce {template} {name}: {state}")
    result.fields = [done[name] for name in names]
    result.seconds = time.perf_counter() - start
    return result
