"""Routing a page to its template: learned URL patterns and a layout fingerprint.

The layout fingerprint of a page is the set of class names and ids of its upper levels, read by
XPath over the parsed tree, so it costs a fraction of the HTML parse. Two pages of one template
share most tokens; pages of different sites share few. The similarity of a page to a template is
the Jaccard index of its tokens and the template's reference tokens (the tokens present on most
of the template's sample pages).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from lxml import etree

__all__ = [
    "Route",
    "fingerprint",
    "learn_url_pattern",
    "reference_fingerprint",
    "similarity",
    "site_of",
    "url_key",
]

_ID_OR_HASH = re.compile(r"\d{3,}|[0-9a-f]{8,}")  # a number or hash in a name: differs page to page
LAYOUT_DEPTH = 7  # elements deeper than this are content (reviews, lists), not layout
_CLASSES = etree.XPath(
    " | ".join("/*" * d + "/@class" for d in range(1, LAYOUT_DEPTH + 1)), smart_strings=False
)
_IDS = etree.XPath(
    " | ".join("/*" * d + "/@id" for d in range(1, LAYOUT_DEPTH + 1)), smart_strings=False
)


def fingerprint(page: Any) -> frozenset[str]:
    """The layout tokens of a page: ``.class`` for every class name and ``#id`` for every id of
    the elements in the top ``LAYOUT_DEPTH`` levels of the tree (deeper markup is content whose
    widgets come and go page to page; names with long numbers or hashes are dropped too).

    ``page`` is a :class:`crawler.parsing.Page` (its parsed tree is reused: one XPath in C) or
    an HTML string.
    """
    if isinstance(page, str):
        root = etree.fromstring(page.encode("utf-8", "replace") or b"<html/>", etree.HTMLParser())
    else:
        root = page.selector.root
    if root is None:
        return frozenset()
    tokens: set[str] = set()
    for value in set(cast(list[str], _CLASSES(root))):
        for name in value.split():
            if not _ID_OR_HASH.search(name):
                tokens.add("." + name)
    for value in cast(list[str], _IDS(root)):
        if value and not _ID_OR_HASH.search(value):
            tokens.add("#" + value)
    return frozenset(tokens)


def similarity(page: frozenset[str], reference: frozenset[str]) -> float:
    """Jaccard index of two token sets (1.0 identical, 0.0 disjoint)."""
    if not page and not reference:
        return 1.0
    union = len(page | reference)
    return len(page & reference) / union if union else 0.0


def reference_fingerprint(samples: Iterable[frozenset[str]], share: float = 0.5) -> frozenset[str]:
    """The tokens present on at least ``share`` of the sample pages of a template."""
    counts: Counter[str] = Counter()
    total = 0
    for tokens in samples:
        counts.update(tokens)
        total += 1
    if not total:
        return frozenset()
    need = max(1, int(total * share + 0.999))
    return frozenset(t for t, n in counts.items() if n >= need)


def site_of(url: str) -> str:
    """The site of a URL: its host name without port and a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def learn_url_pattern(urls: Sequence[str]) -> str | None:
    """A regular expression over ``host + path`` matching the sample URLs of one template.

    Path segments are aligned from the end; a segment equal on every sample stays literal, one
    that varies becomes ``[^/]+`` (keeping a shared file extension); when the samples have
    different depths the head is a free prefix. None when there are no URLs.
    """
    parsed = [urlsplit(u) for u in urls if u]
    if not parsed:
        return None
    hosts = {site_of(u.geturl()) for u in parsed}
    host = re.escape(hosts.pop()) if len(hosts) == 1 else r"[^/]+"
    paths = [[s for s in p.path.split("/") if s] for p in parsed]
    depth = min(len(p) for p in paths)
    varied = any(len(p) != depth for p in paths)
    tail: list[str] = []
    for i in range(1, depth + 1):
        column = [p[-i] for p in paths]
        if len(set(column)) == 1 and not (len(paths) > 1 and column[0].isdigit()):
            tail.append(
                re.escape(column[0])
                if len(paths) > 1 or not _ID_OR_HASH.search(column[0])
                else _shape(column)
            )
        else:
            tail.append(_shape(column))
    tail.reverse()
    prefix = "(?:/[^/]+)*" if varied else ""
    return f"^{host}{prefix}" + "".join("/" + t for t in tail) + "/?$"


def _shape(column: list[str]) -> str:
    """A segment that varies: anything but a slash, keeping a file extension shared by all."""
    exts = {c.rsplit(".", 1)[1] for c in column if "." in c}
    if len(exts) == 1 and all("." in c for c in column):
        return "[^/]+" + re.escape("." + exts.pop())
    return "[^/]+"


def url_key(url: str) -> str:
    """``host + path`` of a URL, the string URL patterns are matched against."""
    parts = urlsplit(url)
    return site_of(url) + (parts.path or "/")


@dataclass(frozen=True)
class Route:
    """Where a page went: the template, how it was chosen, and its layout similarity."""

    template: str
    similarity: float | None
    by: str  # "url", "layout", "given"
