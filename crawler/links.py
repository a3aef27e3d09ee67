"""The links of a page, as the generic spider follows them: every ``<a href>``, made absolute
against the page's base URL (``<base href>`` in the first 4 KiB, as Scrapy's
``response.urljoin`` reads it), without the fragment, each once, in document order.

It runs where the page's tree already is: in the parser worker, which parses every item page
(so the crawl's reactor thread parses nothing), or in the spider for pages no worker saw.
``absolute_links`` gives the same URLs as ``response.urljoin(href).split("#")[0]`` for every
href, at a fraction of the cost: a root-relative path with nothing to resolve is joined by
concatenation, anything else goes through :func:`urllib.parse.urljoin`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_LINKS = 5000  # more links than this on one page: the spider reads them itself

# "/a/b.html?x=1": one slash, no dot segment, nothing urljoin would strip, resolve or cut
_PLAIN_PATH = re.compile(r"/(?!/)[^\x00-\x20\\#;]*(?<!\?)\Z")


def base_url(html_head: str, url: str) -> str:
    """The base URL of a page: its ``<base href>`` (in ``html_head``), else ``url``."""
    from w3lib.html import get_base_url

    return str(get_base_url(html_head[:4096], url))


def absolute_links(hrefs: Iterable[str], base: str) -> list[str]:
    """``hrefs`` made absolute against ``base``, fragments cut, duplicates dropped."""
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    out: dict[str, None] = {}
    for href in hrefs:
        href = str(href)
        if origin and _PLAIN_PATH.match(href) and "/." not in href and "//" not in href:
            url = origin + href
        else:
            url = urljoin(base, href).split("#", 1)[0]
        out[url] = None
    return list(out)


def tree_links(root: Any, base: str, limit: int = MAX_LINKS) -> list[str] | None:
    """The links of an lxml tree (see :func:`absolute_links`); None past ``limit`` hrefs."""
    hrefs = root.xpath("//a/@href")
    if len(hrefs) > limit:
        return None
    return absolute_links(hrefs, base)
