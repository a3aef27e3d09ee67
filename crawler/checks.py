"""Checks of an extracted item beyond the schema: grounding (every value comes from the page).

A string value is grounded when, after HTML-entity decoding and whitespace folding, it occurs in
the page: in its source (text and attribute values) or in its text with tags taken out. Fields
the schema marks ``"x-derived": true`` (ISO dates, absolute URLs, currency codes) are exempt.
Numbers are grounded when their digits occur in the page text.
"""

from __future__ import annotations

import html
import re
from typing import Any

from crawler.parsing import Page
from crawler.schemas import Schema

__all__ = ["PageText", "grounding_errors"]

_WS = re.compile(r"\s+")
_NUM_SEPARATORS = re.compile(r"[\s,.'\u00a0\u202f]")


def fold(value: str) -> str:
    return _WS.sub(" ", html.unescape(value)).strip()


class PageText:
    """The folded source and text of a page, computed lazily once per page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._source: str | None = None
        self._text: str | None = None
        self._digits: str | None = None

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
    def digits(self) -> str:
        if self._digits is None:
            self._digits = _NUM_SEPARATORS.sub("", self.text)
        return self._digits

    def contains(self, value: str) -> bool:
        needle = fold(value)
        if not needle:
            return True
        if needle in self.page.source:  # most values stand verbatim in the HTML: no folding needed
            return True
        return needle in self.source or needle in self.text

    def contains_number(self, value: float | int) -> bool:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        digits = _NUM_SEPARATORS.sub("", str(value)).lstrip("-")
        if digits in self.digits:
            return True
        # 12.5 may be printed 12.50
        return isinstance(value, float) and _NUM_SEPARATORS.sub("", f"{value:.2f}") in self.digits


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
