"""Checks of an extracted item beyond the schema: grounding (every value comes from the page).

A string value is grounded when, after HTML-entity decoding and whitespace folding, it occurs in
the page: in its source (text and attribute values) or in its text with tags taken out. Fields
the schema marks ``"x-derived": true`` (ISO dates, absolute URLs, currency codes) are exempt.
Numbers are grounded when the page writes them as a number (``1,299.50`` grounds 1299.5 but
not 99).
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from crawler.parsing import Page
from crawler.schemas import Schema

__all__ = ["PageText", "grounding_errors", "shown_share"]

_WS = re.compile(r"\s+")
_NUM_SEPARATORS = re.compile(r"[\s,.'\u00a0\u202f]")
# a run of written numbers: digits with thousands or decimal separators (spaces too) between them
_NUMBER_RUN = re.compile(r"\d[\d,.'\s\u00a0\u202f]*")


def fold(value: str) -> str:
    return _WS.sub(" ", html.unescape(value)).strip()


class PageText:
    """The folded source and text of a page, computed lazily once per page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._source: str | None = None
        self._text: str | None = None
        self._numbers: set[str] | None = None

    @property
    def source(self) -> str:
        if self._source is None:
            self._source = fold(self.page.source)
        return self._source

    @property
    def text(self) -> str:
        if self._text is None:
            root = self.page.selector.root
            self._text = fold(" ".join(root.itertext()) if root is not None else "")
        return self._text

    @property
    def numbers(self) -> set[str]:
        """The digits of every number the page writes, as digit strings: ``£1,299.50`` gives
        ``129950``. Digit groups split by spaces or by markup (``1 299 €``, ``£<b>12</b>.99``)
        are joined as well as kept apart, up to four groups."""
        if self._numbers is None:
            found: set[str] = set()
            for run in _NUMBER_RUN.findall(self.text):
                groups = [g for g in (_NUM_SEPARATORS.sub("", part) for part in run.split()) if g]
                for i in range(len(groups)):
                    for j in range(i + 1, min(i + 4, len(groups)) + 1):
                        found.add("".join(groups[i:j]))
            self._numbers = found
        return self._numbers

    def contains(self, value: str) -> bool:
        needle = fold(value)
        if not needle:
            return True
        if needle in self.page.source:  # most values stand verbatim in the HTML: no folding needed
            return True
        return needle in self.source or needle in self.text

    def contains_number(self, value: float | int) -> bool:
        """Whether the page writes this number as a number of its own (``99`` is not grounded
        by ``1,299``), in any of its usual spellings: 12, 12.0, 12.00; 12.5, 12.50, 12.500."""
        value = abs(value)
        spellings = {f"{value:.1f}", f"{value:.2f}", f"{value:.3f}"}
        if float(value).is_integer():
            spellings.add(str(int(value)))
        else:
            spellings.add(format(Decimal(repr(float(value))), "f"))  # 1.234e-05: 0.00001234
        return any(_NUM_SEPARATORS.sub("", s) in self.numbers for s in spellings)


def grounding_errors(
    item: dict[str, Any], page: Page | PageText, schema: Schema | None
) -> list[str]:
    """Fields whose values do not occur in the page, as ``field: value not in page``."""
    text = page if isinstance(page, PageText) else PageText(page)
    errors = []
    for name, value in item.items():
        if value is None or (schema is not None and schema.is_derived(name)):
            continue
        values = value if isinstance(value, list) else [value]
        for one in values:
            if isinstance(one, str):
                ok = text.contains(one)
            elif isinstance(one, int | float) and not isinstance(one, bool):
                ok = text.contains_number(one)
            else:
                continue
            if not ok:
                errors.append(f"{name}: value {_short(one)!r} does not occur in the page")
                break
    return errors


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
