"""Checks of an extracted item beyond the schema: grounding (every value comes from the page).

Grounding matches whole values as the page's text shows them, never its markup:

* A string value is grounded when, whitespace folded, it occurs in the page's text (every text
  node, scripts included: JSON-LD is text; comments are not), in an attribute value (``alt``,
  ``content``, …; never a tag or attribute name), or among the decoded strings of its JSON-LD
  (``"Caf\\u00e9"`` in the script grounds ``Café``). A value that still holds entities
  (``AT&amp;T``) is also tried decoded. Fast path: a value standing verbatim in the HTML where a
  scan of the source shows text content (after a ``>``, not in a tag, a comment or CDATA) needs
  no text built; any doubt goes to the text.
* A number is grounded when the page writes that number as a number, in its text or an
  attribute value: ``£12.50`` and ``12,50 €`` ground 12.5 but not 1250 or 50; ``1,299.50`` grounds
  1299.5 but not 99; ``12.500`` grounds 12.5 and 12500 (the page does not say which it means).
  Digit groups split by spaces or by markup (``1 299 €``, ``£<b>12</b>.99``) are read together.
* A block text (a field the schema marks ``"x-main-text": true``: an article's body, read as
  paragraphs from several elements) is grounded line by line, each line as a string value or,
  whitespace ignored, in the page's text: inline markup runs together (``Rain <a>fell</a>.``
  reads ``Rain fell.``) and the asides it leaves out break no line.
* Fields the schema marks ``"x-derived": true`` (ISO dates, absolute URLs, currency codes) are not
  looked for in the page.
* A URL field (a property, or the items of an array property, with ``"format": "uri"``; derived
  or not) must be an absolute ``http``/``https`` URL with a host: ``file:///etc/passwd``,
  ``ftp://…``, ``javascript:…`` and relative URLs fail. A property lists other schemes it allows
  with ``"x-schemes"``, e.g. ``"x-schemes": ["http", "https", "data"]`` for inline images. One
  exception: on a page that is itself a local file (a saved page read without its URL, so its
  URL is ``file://…``) its links resolve to ``file:`` URLs, and ``file`` is allowed too.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from urllib.parse import urlsplit

from lxml import etree

from crawler.parsing import Page
from crawler.problems import Problem, ProblemKind
from crawler.schemas import Schema

__all__ = ["PageText", "grounded_fields", "grounding_errors", "shown_share", "url_error"]

_WS = re.compile(r"\s+")
_TEXT_NODES = etree.XPath("//text()", smart_strings=False)  # comments and PIs are not text()
_ATTRIBUTE_VALUES = etree.XPath("//@*", smart_strings=False)
# a run of written numbers in folded text: digits with separators (spaces too) between them
_NUMBER_RUN = re.compile(r"\d[\d,.' ]*")
_SEPARATORS = ",.'"
_LEADING_DIGITS = re.compile(r"\d+")
_NOT_VERBATIM = frozenset("<>&\"'")  # values with these are never taken from the raw source
_TEXT_WITH = etree.XPath("//text()[contains(., $n)]", smart_strings=False)
_FAST_OCCURRENCES = 16  # raw-source occurrences of a value looked at before building the text
HTTP_SCHEMES = ("http", "https")
# the wording of grounding problems (what they mean is their kind, never these words)
NOT_SHOWN = "{field}: value {value!r} does not occur in the page"
NOT_ALLOWED_URL = "{field}: {value!r} is not an allowed URL: {why}"


def fold(value: str) -> str:
    """Entities decoded, whitespace folded (the form of values in messages and the share)."""
    return _WS.sub(" ", html.unescape(value)).strip()


def _fold_ws(value: str) -> str:
    return " ".join(value.split())


def _strings(query: etree.XPath, root: Any) -> list[str]:
    """The strings an XPath query of text nodes or attribute values finds under ``root``."""
    if root is None:
        return []
    found = query(root)  # smart_strings=False: plain str
    return cast(list[str], found) if isinstance(found, list) else []


class PageText:
    """What a page shows, computed lazily once per page: its text, attribute values, JSON-LD
    strings and the numbers it writes."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._text: str | None = None
        self._attributes: str | None = None
        self._structured: str | None = None
        self._runs: list[tuple[str, str]] | None = None
        self._attribute_runs: list[tuple[str, str]] | None = None
        self._dense: str | None = None

    @property
    def text(self) -> str:
        """Every text node, joined by a space and whitespace folded (scripts' text included)."""
        if self._text is None:
            root = self.page.selector.root
            self._text = _fold_ws(" ".join(_strings(_TEXT_NODES, root)))
        return self._text

    @property
    def attributes(self) -> str:
        """Every attribute value, whitespace folded, NUL between two (no value spans two)."""
        if self._attributes is None:
            root = self.page.selector.root
            # NUL is no space to str.split, and the parser strips it from pages: a separator
            self._attributes = _fold_ws("\x00".join(_strings(_ATTRIBUTE_VALUES, root)))
        return self._attributes

    @property
    def structured(self) -> str:
        """Every string of the page's JSON-LD, decoded and folded, NUL between two."""
        if self._structured is None:
            found: list[str] = []
            stack: list[Any] = list(self.page.jsonld())
            while stack:
                value = stack.pop()
                if isinstance(value, str):
                    found.append(_fold_ws(value))
                elif isinstance(value, dict):
                    stack.extend(value.values())
                elif isinstance(value, list):
                    stack.extend(value)
            self._structured = "\x00".join(found)
        return self._structured

    @property
    def runs(self) -> list[tuple[str, str]]:
        """The runs of written numbers in the text (digits with separators between them), each
        with its digits alone: the readings of a run are made of a stretch of its digits."""
        if self._runs is None:
            self._runs = _runs_in(self.text)
        return self._runs

    @property
    def attribute_runs(self) -> list[tuple[str, str]]:
        """The runs of written numbers in the attribute values, as :attr:`runs`."""
        if self._attribute_runs is None:
            self._attribute_runs = _runs_in(self.attributes)
        return self._attribute_runs

    def shows(self, value: Any) -> bool:
        """Whether the page shows one value: a string as text (:meth:`contains`), a number as a
        written number (:meth:`contains_number`). Other values (a boolean, an object) are not
        looked for: they pass. The one decision of grounding, for the checks, the labellers and
        the LLM's labels."""
        if isinstance(value, str):
            return self.contains(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.contains_number(value)
        return True

    def contains(self, value: str) -> bool:
        """Whether the page shows ``value`` (whitespace folded) as text or an attribute value."""
        needle = _fold_ws(value)
        if not needle:
            return True
        if self._verbatim_in_text(needle):
            return True
        if needle in self.text or needle in self.attributes or needle in self.structured:
            return True
        if "&" in needle:  # a value that kept its entities: "AT&amp;T" is shown as "AT&T"
            decoded = fold(needle)
            if decoded != needle:
                return self.contains(decoded)
        return False

    def contains_prose(self, value: str) -> bool:
        """Whether the page shows a block text (a field the schema marks ``"x-main-text": true``,
        read from several elements): each of its lines as :meth:`contains` does, or, whitespace
        ignored, in the page's text (inline markup run together: ``Rain <a>fell</a>.`` shows
        ``Rain fell.``, a paragraph before an aside that was left out still shows)."""
        for line in value.splitlines():
            if self.contains(line):
                continue
            if "".join(line.split()) not in self.dense:
                return False
        return True

    @property
    def dense(self) -> str:
        """The page's :attr:`text` with all whitespace removed."""
        if self._dense is None:
            self._dense = "".join(self.text.split())
        return self._dense

    def _verbatim_in_text(self, needle: str) -> bool:
        """The fast path: ``needle`` stands in the raw HTML at a place that is text content.

        Sound for a needle without ``< > & " '``: from a ``>`` to the needle there is no ``<``
        (not in a tag), no quote (a ``>`` inside a quoted attribute value is followed by its
        closing quote before any markup), and no unclosed ``<!--`` or ``<![CDATA[`` before it.
        """
        if _NOT_VERBATIM.intersection(needle):
            return False
        source = self.page.source
        start = source.find(needle)
        for _ in range(_FAST_OCCURRENCES):
            if start < 0:
                return False
            if _in_text(source, start):
                return True
            start = source.find(needle, start + 1)
        return False

    def _node_number(self, forms: set[str]) -> bool:
        """The fast path for numbers: a text node that holds one of ``forms`` as written (or
        with trailing zeros, ``12.50``) reads as it. The nodes are found by one XPath in C;
        the page's whole text is built only when none does (a node's readings are a subset of
        the whole text's, where nodes are joined by spaces: this path never grounds more)."""
        root = self.page.selector.root
        if root is None:
            return False
        for form in forms:
            _whole, dot, _fraction = form.partition(".")
            written = [form, f"{form}0", f"{form}00"] if dot else [form]
            if dot:
                written += [w.replace(".", ",") for w in written]
            for needle in written:
                found = _TEXT_WITH(root, n=needle)
                for node in found[:_FAST_OCCURRENCES] if isinstance(found, list) else ():
                    if _runs_read(_runs_in(_fold_ws(str(node))), forms):
                        return True
        return False

    def contains_number(self, value: float | int) -> bool:
        """Whether the page writes this number as a number (``99`` is not grounded by ``1,299``
        nor ``1250`` by ``12.50``), in any usual spelling: 12, 12.0, 12.00; 12.5, 12,50."""
        wanted = _canonical_forms(value)
        if not wanted:
            return False
        return self._node_number(wanted) or self._reads_number(wanted)

    def _reads_number(self, wanted: set[str]) -> bool:
        """Whether the text or an attribute value reads as one of the ``wanted`` forms (the
        attribute values are read only when the text does not)."""
        return _runs_read(self.runs, wanted) or _runs_read(self.attribute_runs, wanted)


def _runs_read(runs: list[tuple[str, str]], wanted: set[str]) -> bool:
    """Whether one of ``runs`` (from :func:`_runs_in`) reads as one of the ``wanted`` forms.

    Every reading of a run (canonical: ``0012.50`` → ``12.5``) is a stretch of the run's
    digits, so only runs holding a wanted form's digits are read: 3 runs, not 3,000."""
    keys = {form.replace(".", "") for form in wanted}
    return any(
        any(key in digits for key in keys) and not wanted.isdisjoint(_readings_of(run))
        for run, digits in runs
    )


def _in_text(source: str, start: int) -> bool:
    """Whether ``source[start]`` is text content: from the last ``>`` before it there is no
    ``<`` (not in a tag), no quote (a ``>`` inside a quoted attribute value is followed by its
    closing quote before any markup; the tag it closes has no unclosed quote either), and no
    unclosed ``<!--`` or ``<![CDATA[`` before it."""
    close = source.rfind(">", 0, start)
    opened = source.rfind("<", 0, close)
    return (
        close >= 0
        and source.rfind("<", 0, start) < close
        and source.count('"', opened + 1, close) % 2 == 0
        and source.count("'", opened + 1, close) % 2 == 0
        and source.find('"', close, start) < 0
        and source.find("'", close, start) < 0
        and source.rfind("<!--", 0, start) <= source.rfind("-->", 0, start)
        and source.rfind("<![", 0, start) <= source.rfind("]]>", 0, start)
    )


def _canonical(whole: str, fraction: str = "") -> str:
    """``007``, ``50`` → ``7.5``; ``12``, ``00`` → ``12``."""
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _canonical_forms(value: float | int) -> set[str]:
    """The canonical forms of a number value: exact, and rounded to 1–3 decimals when that is
    the same number up to float noise (``12.990000000000002`` is the ``12.99`` of the page)."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {str(abs(value))}
    if not math.isfinite(value):
        return set()
    value = abs(value)
    forms = set()
    try:
        whole, _, fraction = format(Decimal(repr(value)), "f").partition(".")
    except InvalidOperation:  # pragma: no cover - repr of a finite float is a decimal
        return set()
    forms.add(_canonical(whole, fraction))
    tolerance = 1e-9 * max(1.0, value)
    for places in (1, 2, 3):
        rounded = f"{value:.{places}f}"
        if abs(float(rounded) - value) <= tolerance:
            whole, _, fraction = rounded.partition(".")
            forms.add(_canonical(whole, fraction))
    return forms


def _grouped(parts: list[str], sep: str) -> bool:
    """Whether ``parts`` are thousands groups: 1–3 digits, then groups of 3 (or the Indian
    1,23,456: groups of 2, then 3)."""
    if not parts[0] or len(parts[0]) > 3 or not all(p.isdigit() for p in parts):
        return False
    rest = parts[1:]
    if all(len(p) == 3 for p in rest):
        return True
    return sep == "," and len(rest[-1]) == 3 and all(len(p) == 2 for p in rest[:-1])


def _readings(written: str) -> Iterator[str]:
    """The numbers a string of digits and separators may mean, in canonical form; for one that
    is no number as a whole (``03.05.2026``, ``1.2.3``), each of its digit groups."""
    written = written.strip(_SEPARATORS)
    if not written:
        return
    if written.isdigit():
        yield _canonical(written)
        return
    found = False
    for reading in _whole_readings(written):
        found = True
        yield reading
    if not found:
        for group in re.split(r"[,.']+", written):
            yield _canonical(group)


def _whole_readings(written: str) -> Iterator[str]:
    """The readings of digits with separators as one number: thousands, decimal, or both."""
    for sep in _SEPARATORS:  # every separator a thousands separator: 1,299 · 1.234.567 · 1'299
        if sep in written:
            parts = written.split(sep)
            if all(p.isdigit() for p in parts) and _grouped(parts, sep):
                yield _canonical("".join(parts))
            break
    decimal = max(written.rfind("."), written.rfind(","))
    if decimal < 0:
        return
    whole, fraction = written[:decimal], written[decimal + 1 :]
    if not fraction.isdigit() or not whole:
        return
    if whole.isdigit():
        yield _canonical(whole, fraction)
        return
    thousands = {c for c in whole if not c.isdigit()}
    if len(thousands) != 1 or written[decimal] in thousands:
        return
    sep = thousands.pop()
    parts = whole.split(sep)
    if _grouped(parts, sep):
        yield _canonical("".join(parts), fraction)


def _joins(left: str, right: str) -> bool:
    """Whether two space-split parts of a number run may be one number: a separator between
    them (``12`` ``.99``, written across markup) or a group of three digits (``1 299``)."""
    if left[-1] in _SEPARATORS or right[0] in _SEPARATORS:
        return True
    lead = _LEADING_DIGITS.match(right)
    return lead is not None and len(lead.group(0)) == 3


_RUN_SEPARATORS = str.maketrans("", "", _SEPARATORS + " ")


def _runs_in(text: str) -> list[tuple[str, str]]:
    """The number runs of ``text``, each with its digits alone (separators and spaces cut)."""
    runs = _NUMBER_RUN.findall(text)
    if not runs:
        return []
    digits = "\x00".join(runs).translate(_RUN_SEPARATORS).split("\x00")  # 2 calls, not 3,000
    return list(zip(runs, digits, strict=True))


def _readings_of(run: str) -> set[str]:
    """Every number a run writes, in canonical form (``1299.5``, ``12``): all readings of an
    ambiguous one (``1,299`` gives ``1299`` and ``1.299``)."""
    found: set[str] = set()
    parts = run.split()
    for i in range(len(parts)):
        written = parts[i]
        found.update(_readings(written))
        for j in range(i + 1, min(i + 4, len(parts))):
            if not _joins(parts[j - 1], parts[j]):
                break
            written += parts[j]
            found.update(_readings(written))
    return found


def url_error(value: Any, schemes: tuple[str, ...] = HTTP_SCHEMES) -> str | None:
    """Why ``value`` is not an absolute URL of one of ``schemes`` with a host, or None if it is.

    >>> url_error("file:///etc/passwd")
    "scheme 'file' is not allowed (only http, https)"
    """
    if not isinstance(value, str):
        return None  # the schema check names a value of the wrong type
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL: {exc}"
    if not parts.scheme:
        return "not an absolute URL"
    if parts.scheme not in schemes:
        return f"scheme {parts.scheme!r} is not allowed (only {', '.join(schemes)})"
    if parts.scheme in HTTP_SCHEMES and not host:
        return "no host"
    return None


def _url_schemes(schema: Schema, name: str) -> tuple[str, ...] | None:
    """The schemes a URL field allows, or None when the field is not a URL."""
    prop = schema.properties.get(name)
    if not isinstance(prop, dict):
        return None
    target = prop.get("items") if prop.get("type") == "array" else prop
    if not isinstance(target, dict):
        return None
    schemes = target.get("x-schemes", prop.get("x-schemes"))
    if target.get("format") != "uri" and schemes is None:
        return None
    if not isinstance(schemes, list) or not all(isinstance(s, str) for s in schemes):
        return HTTP_SCHEMES
    return tuple(s.lower() for s in schemes)


def grounding_errors(
    item: dict[str, Any], page: Page | PageText, schema: Schema | None
) -> list[Problem]:
    """Fields whose values do not occur in the page, as ``field: value … does not occur in the
    page`` (problems of kind ``grounding``), and URL fields of a scheme the schema does not
    allow, as ``field: 'file:///x' is not an allowed URL: scheme 'file' is not allowed (only
    http, https)`` (kind ``url``)."""
    text = page if isinstance(page, PageText) else PageText(page)
    errors: list[Problem] = []
    local = text.page.url.startswith("file:")  # a saved page: its links resolve to file: URLs
    for name, value in item.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if schema is not None:
            schemes = _url_schemes(schema, name)
            if schemes is not None:
                if local:
                    schemes = (*schemes, "file")
                for one in values:
                    why = url_error(one, schemes)
                    if why is not None:
                        message = NOT_ALLOWED_URL.format(field=name, value=_short(one), why=why)
                        errors.append(Problem.of(ProblemKind.URL, name, message))
                        break
            if schema.is_derived(name):
                continue
        prose = schema is not None and bool(schema.properties.get(name, {}).get("x-main-text"))
        for one in values:
            if not (
                text.contains_prose(one) if prose and isinstance(one, str) else text.shows(one)
            ):
                message = NOT_SHOWN.format(field=name, value=_short(one))
                errors.append(Problem.of(ProblemKind.GROUNDING, name, message))
                break
    return errors


def grounded_fields(
    item: dict[str, Any], page: Page | PageText, schema: Schema | None
) -> dict[str, Any]:
    """The fields of ``item`` that pass :func:`grounding_errors` (each value shown by the page,
    each URL of an allowed scheme); the others are left out."""
    text = page if isinstance(page, PageText) else PageText(page)
    return {
        name: value
        for name, value in item.items()
        if not grounding_errors({name: value}, text, schema)
    }


def _short(value: Any) -> Any:
    return value[:80] + "…" if isinstance(value, str) and len(value) > 80 else value


def shown_share(item: dict[str, Any], page: Page) -> float:
    """The share of an item's text (values of 3 characters or more, by length) that a page
    shows as visible text, scripts and templates left out: near 1 when the page carries the
    item's data in its markup, near 0 when a script has yet to put it there."""
    root = page.selector.root
    if root is None:
        return 0.0
    shown = fold(
        " ".join(
            root.xpath(
                "//body//text()[not(ancestor::script or ancestor::style or ancestor::template"
                " or ancestor::noscript)]"
            )
        )
    )
    values = [
        fold(v)
        for value in item.values()
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, str) and len(fold(v)) >= 3 and not v.startswith(("http://", "https://"))
    ]
    total = sum(len(v) for v in values)
    if not total:
        return 0.0
    # weighted by length: a shell's header or menu may well name the company or the city, but
    # not the title and the description
    return sum(len(v) for v in values if v in shown) / total
