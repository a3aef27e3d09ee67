"""What the three demo sites share: escaping, dates and money as their pages write them, the
page skeleton, JSON inside a ``<script>``, paging, and the cities the jobs and the news are set in.
"""

from __future__ import annotations

import html
import json
import random
import re
from datetime import date
from typing import Any

__all__ = [
    "CITIES",
    "document",
    "esc",
    "jsonld_script",
    "listing_pages",
    "long_date",
    "money",
    "page_count",
    "pick",
    "script_json",
    "slugify",
]

_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def esc(value: object) -> str:
    """``value`` as HTML text or an attribute value (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def long_date(day: date) -> str:
    """A date as the pages write it.

    >>> long_date(date(2026, 3, 5))
    '5 March 2026'
    """
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def money(value: float) -> str:
    """A price in pounds as the pages write it.

    >>> money(1299)
    '£1,299.00'
    """
    return f"£{value:,.2f}"


def slugify(value: str) -> str:
    """The URL slug of a title.

    >>> slugify("Chef's Knife, Oak")
    'chefs-knife-oak'
    """
    return re.sub(r"[^a-z0-9]+", "-", value.lower().replace("'", "")).strip("-")


def script_json(data: Any) -> str:
    """JSON safe to put inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def jsonld_script(data: dict[str, Any]) -> str:
    """A ``<script type="application/ld+json">`` element holding ``data``."""
    return f'<script type="application/ld+json">\n{script_json(data)}\n</script>\n'


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    """One value of ``[(value, weight), ...]``, drawn with ``rng``."""
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def page_count(count: int, per_page: int) -> int:
    """How many listing pages ``count`` entries fill (at least one)."""
    return max(1, -(-count // per_page))


def listing_pages(site: str, count: int, per_page: int) -> dict[str, int]:
    """The path of every listing page of ``count`` entries, and its number.

    >>> listing_pages("shop", 30, 12)
    {'/shop/page/1.html': 1, '/shop/page/2.html': 2, '/shop/page/3.html': 3}
    """
    return {f"/{site}/page/{n}.html": n for n in range(1, page_count(count, per_page) + 1)}


def document(title: str, body: str, head: str = "", lang: str = "en-GB", style: str = "") -> str:
    """A whole HTML document: doctype, ``<head>`` (charset, viewport, title, ``head``, style)
    and ``body`` (the ``<body>`` element itself)."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n{head}"
        f"<style>{style}</style>\n</head>\n{body}\n</html>\n"
    )


CITIES = (
    "London",
    "Leeds",
    "Manchester",
    "Bristol",
    "Edinburgh",
    "Glasgow",
    "Cardiff",
    "Birmingham",
    "Newcastle upon Tyne",
    "Nottingham",
    "Belfast",
    "Sheffield",
    "Brighton",
    "York",
)
