"""The helper API of generated parsers: the only module a parser may import.

A parser is a module with one function, ``parse(page: Page) -> dict``. It reads the page with
CSS or XPath and cleans values with the helpers below::

    >>> from crawler.parsing import Page, text, price, absolute
    >>> page = Page(
    ...     '<html><h1> Dune </h1><p class="price">£12.50</p><img src="/img/dune.jpg"></html>',
    ...     "http://shop.example/p/1",
    ... )
    >>> text(page.css("h1"))
    'Dune'
    >>> price(page.css("p.price::text").get())
    12.5
    >>> absolute(page, page.css("img::attr(src)").get())
    'http://shop.example/img/dune.jpg'

Every helper accepts ``None`` (or an empty selection) and then returns ``None`` (or ``[]``), so
a missing field never raises. Selections are parsel ``SelectorList`` objects; a parser may use
``.css()``, ``.xpath()``, ``.get()``, ``.getall()`` and ``.attrib`` on them. Regular expressions
go through :func:`regex` / :func:`regex_all`, which run with a time-out.
"""

from __future__ import annotations

import codecs
import html as _html
import json
import re
import threading
from collections.abc import Iterable
from datetime import date as _date
from typing import Any
from urllib.parse import urljoin

import regex as _regex
from lxml import etree
from parsel import Selector, SelectorList
from w3lib.url import safe_url_string

__all__ = [
    "Page",
    "absolute",
    "clean",
    "currency",
    "date",
    "first",
    "join",
    "labelled",
    "ld",
    "lines",
    "number",
    "paragraphs",
    "price",
    "regex",
    "regex_all",
    "split",
    "text",
    "texts",
    "union",
]

REGEX_TIMEOUT = 0.25  # seconds per regex call

_WS = re.compile(r"\s+")
_BOM = {
    codecs.BOM_UTF8: "utf-8",
    codecs.BOM_UTF16_LE: "utf-16-le",
    codecs.BOM_UTF16_BE: "utf-16-be",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


class _PageSelector(Selector):
    """A parsel Selector without the EXSLT regex namespace.

    EXSLT ``re:test()`` runs Python's ``re`` with no time-out; parsers use :func:`regex` instead.
    """

    _default_namespaces: dict[str, str] = {}


def _sniff(body: bytes, declared: str | None) -> tuple[str, int]:
    """(codec name, BOM length): BOM, then the declared (HTTP) charset, then ``<meta charset>``,
    then UTF-8. A charset name that is unknown, or names a codec that is not a text encoding
    an HTML page can be written in, is ignored: a page's markup must read as ASCII in its
    charset, which rules out ``hex``, ``zlib``, ``base64``, ``rot13`` (not text encodings),
    ``unicode_escape``, ``utf-7``, ``punycode``, ``idna`` (they rewrite ASCII), EBCDIC and
    UTF-16/32 (a meta tag readable as ASCII cannot be in them)."""
    for bom, name in _BOM.items():
        if body.startswith(bom):
            return name, len(bom)
    candidates = [declared] if declared else []
    found = _META_CHARSET.search(body[:4096])
    if found:
        candidates.append(found.group(1).decode("ascii", "replace"))
    for name in candidates:
        usable = page_codec(name)
        if usable is not None:
            return usable, 0
    return "utf-8", 0


_PROBE = b'<a href="x+-y\\u0041\\n">&#38; =;\'/~</a> Az09'  # markup as an ASCII page writes it


def page_codec(name: str) -> str | None:
    """The codec's canonical name when a page's markup can be written in it (see
    :func:`_sniff`), else None: ``page_codec("Latin-1")`` is ``"iso8859-1"``, ``page_codec("zlib")``
    is None."""
    try:
        codec = codecs.lookup(name)
        if _PROBE.decode(codec.name, errors="replace") != _PROBE.decode("ascii"):
            return None
    except (LookupError, UnicodeError, ValueError, TypeError):
        # unknown, not a text encoding (bytes.decode refuses it), fails on ASCII, or cannot
        # replace what it does not decode (idna)
        return None
    return codec.name


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode page bytes (see :func:`_sniff`); bytes that do not decode become U+FFFD."""
    name, skip = _sniff(body, declared)
    return body[skip:].decode(name, errors="replace")


_parsers = threading.local()


def _parse_tree(body: bytes) -> Any:
    """Parse UTF-8 bytes with a per-thread lxml HTML parser (recovering from broken markup)."""
    parser = getattr(_parsers, "html", None)
    if parser is None:
        parser = _parsers.html = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    if b"\x00" in body:
        body = body.replace(b"\x00", b"")
    root = None
    if body and not body.isspace():
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError:
            root = None
    if root is None:
        root = etree.fromstring(b"<html/>", parser)
    return root


_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class Page:
    """One HTML page and its URL.

    ``page.css(query)`` and ``page.xpath(query)`` return a parsel ``SelectorList``;
    ``page.url`` is the page URL; ``page.jsonld()`` the JSON-LD objects of the page;
    ``page.meta(name)`` the ``content`` of ``<meta name|property=name>``.

    ``html`` may be text or the bytes of the response (decoded by BOM, ``encoding``,
    ``<meta charset>``, else UTF-8).

    >>> page = Page(b'<html><meta charset="iso-8859-1"><h1>Caf\\xe9</h1></html>', "http://shop.example/p/1")
    >>> page.url, page.css("h1::text").get()
    ('http://shop.example/p/1', 'Café')
    """

    __slots__ = ("url", "_selector", "_body", "_jsonld", "_source")

    def __init__(self, html: str | bytes, url: str = "", encoding: str | None = None) -> None:
        if isinstance(html, bytes):
            name, skip = _sniff(html, encoding)
            body = html[skip:] if skip else html
            if name == "utf-8":
                try:
                    source = body.decode("utf-8")
                except UnicodeDecodeError:
                    source = body.decode("utf-8", errors="replace")
                    body = source.encode("utf-8")
            else:
                source = body.decode(name, errors="replace")
                body = source.encode("utf-8")
        else:
            source = html
            body = html.encode("utf-8", errors="replace")
        self.url = url
        self._source = source
        self._body: bytes | None = body  # parsed on first use: routing by URL needs no tree
        self._selector: _PageSelector | None = None
        self._jsonld: list[str] | None = None

    @property
    def _sel(self) -> _PageSelector:
        if self._selector is None:
            body, self._body = self._body or b"", None
            self._selector = _PageSelector(
                root=_parse_tree(body), type="html", base_url=self.url or None
            )
        return self._selector

    @property
    def source(self) -> str:
        """The decoded HTML of the page."""
        return self._source

    @property
    def selector(self) -> Selector:
        """The underlying parsel Selector (not available to parsers)."""
        return self._sel

    def css(self, query: str) -> SelectorList[_PageSelector]:
        """Nodes matching a CSS selector (parsel syntax: ``::text``, ``::attr(name)``).

        >>> page = Page('<html><a class="next" href="/p/2">Next</a></html>', "http://shop.example/p/1")
        >>> page.css("a.next::attr(href)").get(), page.css("a::text").getall()
        ('/p/2', ['Next'])
        """
        return self._sel.css(query)

    def xpath(self, query: str) -> SelectorList[_PageSelector]:
        """Nodes matching an XPath 1.0 expression.

        >>> page = Page("<html><dl><dt>Brand</dt><dd>Acme</dd></dl></html>", "http://shop.example/p/1")
        >>> page.xpath("//dt[.='Brand']/following-sibling::dd[1]/text()").get()
        'Acme'
        """
        return self._sel.xpath(query)

    def meta(self, name: str) -> str | None:
        """The content of ``<meta name=NAME>``, ``<meta property=NAME>`` (OpenGraph) or
        ``<meta itemprop=NAME>``, cleaned, or None.

        >>> page = Page('<html><meta property="og:title" content=" Dune "></html>', "http://shop.example/p/1")
        >>> page.meta("og:title"), page.meta("description")
        ('Dune', None)
        """
        for node in self._sel.xpath("//meta[@content]"):
            attrib = node.attrib
            if (
                attrib.get("name") == name
                or attrib.get("property") == name
                or attrib.get("itemprop") == name
            ):
                return clean(attrib["content"])
        return None

    def jsonld(self, type: str | None = None) -> list[dict[str, Any]]:
        """The JSON-LD objects of the page (``@graph`` flattened), optionally only those of ``@type``.

        Scripts that are not valid JSON are skipped.

        >>> page = Page('<html><script type="application/ld+json">{"@type": "Product", "name": "Dune"}</script></html>')
        >>> page.jsonld("Product"), page.jsonld("Offer")
        ([{'@type': 'Product', 'name': 'Dune'}], [])
        """
        if self._jsonld is None:
            self._jsonld = self._sel.xpath('//script[@type="application/ld+json"]/text()').getall()
        found: list[dict[str, Any]] = []  # parsed anew per call: callers never share objects
        for raw in self._jsonld:
            try:
                data = json.loads(raw, strict=False)
            except ValueError:  # a trailing comma (a common slip) is read, as JSON-LD readers do
                try:
                    data = json.loads(_TRAILING_COMMA.sub(r"\1", raw), strict=False)
                except ValueError:
                    continue
            stack = data if isinstance(data, list) else [data]
            while stack:
                obj = stack.pop(0)
                if isinstance(obj, dict):
                    graph = obj.pop("@graph", None)
                    if isinstance(graph, list):
                        stack.extend(graph)
                    if obj.keys() - {"@context"}:
                        found.append(obj)
                elif isinstance(obj, list):
                    stack.extend(obj)
        if type is None:
            return found
        out = []
        for obj in found:
            kind = obj.get("@type")
            if kind == type or (isinstance(kind, list) and type in kind):
                out.append(obj)
        return out


def clean(value: Any) -> str | None:
    """Fold whitespace (``&nbsp;`` too) and strip; ``None`` or blank gives ``None``.

    Text read from the page is already decoded, so entities are not decoded again:
    ``AT&amp;amp;T`` in the HTML reads ``AT&amp;T``.

    >>> clean("  Dune:   Part One  ")
    'Dune: Part One'
    >>> clean(Page("<html><p>AT&amp;amp;T\u00a0 Inc </p></html>").css("p::text").get())
    'AT&amp;T Inc'
    >>> clean("   ") is None
    True
    """
    if value is None:
        return None
    folded = _WS.sub(" ", str(value)).strip()
    return folded or None


def _node_text(node: Selector | str) -> str | None:
    if isinstance(node, str):
        return clean(node)
    root = node.root
    if isinstance(root, str):  # a text node or attribute value
        return clean(root)
    if root.find(".//script") is None and root.find(".//style") is None:
        return clean(" ".join(root.itertext()))
    return clean(
        " ".join(node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall())
    )


def text(nodes: SelectorList[Any] | Selector | str | None) -> str | None:
    """The cleaned text of the first node of a selection (all its descendant text, scripts and
    styles left out) that has text, or None.

    >>> page = Page("<html><h1> The <em>Dune</em>  Book </h1></html>", "http://shop.example/p/1")
    >>> text(page.css("h1")), text(page.css("h2"))
    ('The Dune Book', None)
    """
    if nodes is None:
        return None
    if isinstance(nodes, SelectorList):
        for node in nodes:
            value = _node_text(node)
            if value:
                return value
        return None
    return _node_text(nodes)


def texts(nodes: SelectorList[Any] | None) -> list[str]:
    """The cleaned text of every node of a selection, blanks dropped (for list fields).

    >>> page = Page("<html><ul><li>Sci-fi</li><li> </li><li>Classic</li></ul></html>")
    >>> texts(page.css("li"))
    ['Sci-fi', 'Classic']
    """
    if nodes is None:
        return []
    out = []
    for node in nodes:
        value = _node_text(node)
        if value:
            out.append(value)
    return out


_BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt figcaption footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_SKIPPED = frozenset(("script", "style", "template", "noscript"))


def _lines_of(root: Any, out: list[str]) -> None:
    """Append the lines of an element to ``out``: text broken at ``<br>`` and block elements."""
    current: list[str] = [root.text or ""]
    stack = [(child, False) for child in reversed(root)]
    while stack:
        el, closing = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if closing:
            if tag in _BLOCKS:
                out.append(" ".join(current))
                current = []
            current.append(el.tail or "")
            continue
        if not tag or tag in _SKIPPED:  # comments, scripts: only their tail is text
            current.append(el.tail or "")
            continue
        if tag == "br":
            out.append(" ".join(current))
            current = [el.tail or ""]
            continue
        if tag in _BLOCKS:
            out.append(" ".join(current))
            current = []
        current.append(el.text or "")
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    out.append(" ".join(current))


def lines(nodes: SelectorList[Any] | None) -> list[str]:
    """The text of every node of a selection, one entry per line: broken at ``<br>`` and at block
    elements (for list values written one per line in one element), blanks dropped.

    >>> lines(Page("<html><td>Pete Docter<br><a>Bob</a> Peterson</td></html>").css("td"))
    ['Pete Docter', 'Bob Peterson']
    """
    if nodes is None:
        return []
    out: list[str] = []
    for node in nodes:
        root = node.root
        if isinstance(root, str):
            out.append(root)
        elif root is not None:
            _lines_of(root, out)
    return [v for v in (clean(x) for x in out) if v]


# block elements of prose (the lines' blocks and the few more a body text is laid out in)
_PROSE_BLOCKS = _BLOCKS | frozenset(
    "body caption center details fieldset figure legend menu summary".split()
)
_BREAK = "\x00"  # a <br> while a paragraph is read (the HTML parser strips NUL from pages)


def _paragraphs_of(root: Any, skipped: set[Any], out: list[str]) -> None:
    """Append the paragraphs of an element to ``out``: text broken at block elements, a ``<br>``
    a line break, inline text run together as a browser shows it; ``skipped`` elements (and
    scripts, styles) are not read, their tails are."""
    current: list[str] = [root.text or ""]

    def flush() -> None:
        found = [clean(line) for line in "".join(current).split(_BREAK)]
        paragraph = "\n".join(line for line in found if line)
        if paragraph:
            out.append(paragraph)
        current.clear()

    stack = [(child, False) for child in reversed(root)]
    while stack:
        el, closing = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if closing:
            if tag in _PROSE_BLOCKS:
                flush()
            current.append(el.tail or "")
            continue
        if not tag or tag in _SKIPPED or el in skipped:  # comments, scripts: only their tail
            current.append(el.tail or "")
            continue
        if tag == "br":
            current.append(_BREAK + (el.tail or ""))
            continue
        if tag in _PROSE_BLOCKS:
            flush()
        current.append(el.text or "")
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    flush()


def paragraphs(nodes: SelectorList[Any] | None, skip: str | None = None) -> str | None:
    """A body text: each node's paragraphs (broken at blocks, ``<br>`` a line break, inline
    text run together), joined by blank lines; elements matching ``skip`` (an XPath relative to
    each node) left out.

    >>> page = Page("<div><p>Rain <a>fell</a>.</p><aside>Ad</aside><p>It stopped.</p></div>")
    >>> paragraphs(page.css("div"), skip=".//aside")
    'Rain fell.\\n\\nIt stopped.'
    """
    if nodes is None:
        return None
    out: list[str] = []
    read: set[Any] = set()
    for node in nodes:
        root = node.root
        if isinstance(root, str):
            value = clean(root)
            if value:
                out.append(value)
            continue
        if root is None or any(a in read for a in root.iterancestors()):
            continue
        read.add(root)
        skipped = {s.root for s in node.xpath(skip)} if skip else set()
        _paragraphs_of(root, skipped, out)
    return "\n\n".join(out) or None


def split(values: Any, sep: str = ",") -> list[str]:
    """Each value (a string or a list of them) split at ``sep``, cleaned, blanks dropped.

    >>> split("Action, Drama,")
    ['Action', 'Drama']
    >>> split(["Pete Docter / Bob Peterson", "Lee Unkrich"], "/")
    ['Pete Docter', 'Bob Peterson', 'Lee Unkrich']
    """
    if values is None:
        return []
    out = []
    for value in values if isinstance(values, list) else [values]:
        if value is None:
            continue
        for part in str(value).split(sep):
            one = clean(part)
            if one:
                out.append(one)
    return out


def union(*values: Any) -> list[Any]:
    """The values of several places as one list, in order, blanks and repeats dropped:
    ``union(texts(a), texts(b))`` for a field written in more than one place.

    >>> union(["Canon", "Canon, Inc"], "Canon", None, [])
    ['Canon', 'Canon, Inc']
    """
    out: list[Any] = []
    seen: set[Any] = set()
    for value in values:
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str):
                one = clean(one)
            if one is None or isinstance(one, (list, dict)):
                continue
            if one not in seen:  # as each place writes it: "Acme" and "ACME" are both kept
                seen.add(one)
                out.append(one)
    return out


def join(values: Iterable[str | None] | None, sep: str = " ") -> str | None:
    """Join the non-empty values with ``sep``, each cleaned; None when there are none.

    >>> join(["12 Main St", None, " Springfield "], ", ")
    '12 Main St, Springfield'
    >>> join(None) is None
    True
    """
    if values is None:
        return None
    parts = [v for v in (clean(v) for v in values) if v]
    return sep.join(parts) if parts else None


def first(*values: Any) -> Any:
    """The first value that is not None, empty or blank (fallbacks: ``first(a, b, c)``);
    a selection counts as its first match (``.get()``).

    >>> page = Page('<html><meta property="og:title" content="Dune"><h1> </h1></html>')
    >>> first(text(page.css("h1")), page.css("h2::text"), page.meta("og:title"))
    'Dune'
    """
    for value in values:
        if isinstance(value, SelectorList):
            value = value.get()
        if value is None:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        if isinstance(value, (list, dict)) and not value:
            continue
        return value
    return None


_NUMBER = re.compile(r"[-+]?\d[\d.,\s\u00a0\u202f']*")


def number(value: Any) -> float | int | None:
    """The first number in a string: ``'£1,234.50'`` → 1234.5, ``'1.234,50 €'`` → 1234.5, ``'3'`` → 3.

    Thousands separators (``,`` ``.`` space ``'``) and a decimal comma are recognised.

    >>> number("£1,234.50"), number("1.234,50 €"), number("12,5"), number("Rating: 3 of 5")
    (1234.5, 1234.5, 12.5, 3)
    >>> number("n/a") is None
    True
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    found = _NUMBER.search(str(value))
    if not found:
        return None
    raw = re.sub(r"[\s\u00a0\u202f']", "", found.group(0)).rstrip(".,")
    sign = ""
    if raw[:1] in "+-":
        sign, raw = raw[0], raw[1:]
    if "," in raw and "." in raw:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        raw = raw.replace(thousands, "").replace(decimal, ".")
    elif raw.count(",") == 1 and len(raw.rpartition(",")[2]) != 3:
        raw = raw.replace(",", ".")  # decimal comma: "12,5"
    elif "," in raw:
        raw = raw.replace(",", "")  # thousands: "1,234" or "1,234,567"
    elif raw.count(".") > 1:
        raw = raw.replace(".", "")  # thousands: "1.234.567"
    try:
        result = float(sign + raw)
    except ValueError:
        return None
    return int(result) if result.is_integer() and "." not in raw else result


_CURRENCIES = {
    "$": "USD",
    "US$": "USD",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "CHF": "CHF",
    "USD": "USD",
    "GBP": "GBP",
    "EUR": "EUR",
    "JPY": "JPY",
    "CAD": "CAD",
    "AUD": "AUD",
    "INR": "INR",
    "CNY": "CNY",
    "SEK": "SEK",
    "NOK": "NOK",
    "DKK": "DKK",
    "PLN": "PLN",
    "BRL": "BRL",
    "MXN": "MXN",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "R$": "BRL",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "MX$": "MXN",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "Kč": "CZK",
    "Ft": "HUF",
    "zł": "PLN",
    "NZD": "NZD",
    "HKD": "HKD",
    "SGD": "SGD",
    "CZK": "CZK",
    "HUF": "HUF",
    "RUB": "RUB",
    "TRY": "TRY",
    "ZAR": "ZAR",
    "kr": "SEK",
}
_CURRENCY = re.compile("|".join(re.escape(k) for k in sorted(_CURRENCIES, key=len, reverse=True)))


def currency(value: Any) -> str | None:
    """The ISO 4217 code of the currency written in a string (``'£12'`` → ``'GBP'``), or None.

    >>> currency("£12"), currency("12.00 EUR"), currency("R$ 1.234,56"), currency("12")
    ('GBP', 'EUR', 'BRL', None)
    """
    if value is None:
        return None
    found = _CURRENCY.search(str(value))
    return _CURRENCIES[found.group(0)] if found else None


def price(value: Any) -> float | int | None:
    """The amount of a price string, read with price-parser: an int when it is whole
    (``'$1,299.00'`` → 1299), else a float.

    >>> price("$1,299.00"), price("1.299 kr"), price("2.499,-"), price("R$ 1.234,56")
    (1299, 1299, 2499, 1234.56)
    >>> price("Out of stock") is None
    True
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    from price_parser import Price

    amount = Price.fromstring(str(value)[:200]).amount
    if amount is None:
        return None
    result = float(amount)
    return int(result) if result.is_integer() else result


_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "janv", "janvier", "januar", "enero"),
            ("feb", "february", "fev", "février", "februar", "febrero"),
            ("mar", "march", "mars", "märz", "marzo"),
            ("apr", "april", "avr", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juil", "juillet", "juli", "julio"),
            ("aug", "august", "août", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "décembre", "decembre", "dezember", "diciembre"),
        ]
    )
    for m in names
}
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?))?"
)
_NUMERIC = re.compile(r"\b(\d{1,4})[/.](\d{1,2})[/.](\d{2,4})\b")
_WORDY = re.compile(
    r"(?:(\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:de\s+)?)?([A-Za-zéûä]{3,9})\.?,?\s+(?:de\s+)?(?:(\d{1,2})(?:st|nd|rd|th)?,?\s+)?(\d{4})"
)


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return _date(year, month, day).isoformat()
    except ValueError:
        return None


def date(value: Any, dayfirst: bool = False) -> str | None:
    """An ISO 8601 date (``YYYY-MM-DD``, with ``THH:MM[:SS]`` kept when the input has a time).

    Reads ISO dates, ``March 5, 2024``, ``5 March 2024``, ``5. März 2024``, ``Mar 2024``
    (→ ``2024-03-01``), numeric ``03/05/2024`` (month first unless ``dayfirst=True``), and other
    languages and relative dates with dateparser. None when no date is found.

    >>> date("5. März 2024"), date("Posted: December 6, 2010"), date("05/18/2011")
    ('2024-03-05', '2010-12-06', '2011-05-18')
    >>> date("03/05/2024"), date("03/05/2024", dayfirst=True), date("Mar 2024")
    ('2024-03-05', '2024-05-03', '2024-03-01')
    >>> date("2024-03-05T10:30:00Z"), date("N/A")
    ('2024-03-05T10:30:00Z', None)
    """
    s = clean(value)
    if not s:
        return None
    m = _ISO.search(s)
    if m:
        day = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if day and m.group(4):
            return f"{day}T{m.group(4)}"
        return day
    for m in _WORDY.finditer(s):
        month = _MONTHS.get(m.group(2).lower())
        if month:
            return _iso(int(m.group(4)), month, int(m.group(1) or m.group(3) or 1))
    m = _NUMERIC.search(s)
    if m:
        a, b, c = (int(x) for x in m.groups())
        if a > 31:
            return _iso(a, b, c)
        year = c + 2000 if c < 100 else c
        month, dom = (b, a) if dayfirst or a > 12 else (a, b)
        return _iso(year, month, dom)
    if 4 <= len(s) <= 60 and any(ch.isalpha() for ch in s) and any(ch.isdigit() for ch in s):
        return _dateparser(s, dayfirst)  # a date needs a number: "N/A" is no date
    return None


def _dateparser(s: str, dayfirst: bool) -> str | None:
    """Other languages and relative dates ("hace 2 días", "3 weeks ago") through dateparser
    (its first call loads its language data: about a second)."""
    import dateparser

    settings = {
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "DATE_ORDER": "DMY" if dayfirst else "MDY",
    }
    try:
        found = dateparser.parse(s, settings=settings)  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):
        return None
    return found.date().isoformat() if found is not None else None


def absolute(page: Page, url: str | None) -> str | None:
    """``url`` made absolute against the page URL (and its ``<base href>``), percent-encoded
    where a URL may not hold the character; None stays None.

    >>> absolute(Page("<html></html>", "http://shop.example/p/"), "img/Big cat|2.jpg")
    'http://shop.example/p/img/Big%20cat%7C2.jpg'
    >>> page = Page('<html><base href="/shop/"><a href="p/2">x</a></html>', "http://shop.example/a/b")
    >>> absolute(page, page.css("a::attr(href)").get())
    'http://shop.example/shop/p/2'
    """
    url = clean(url)
    if not url:
        return None
    base = page.css("base::attr(href)").get() if "<base" in page.source[:4096] else None
    joined = urljoin(urljoin(page.url, base) if base else page.url, url)
    return safe_url_string(joined)  # "a b.jpg" → "a%20b.jpg": a URL, as a browser sends it


def labelled(page: Page, label: str) -> str | None:
    """The value written beside a label, e.g. ``<b>ISBN-13:</b> 978…`` or ``<dt>Year</dt><dd>2004</dd>``.

    Finds the element whose own text is ``label`` (case, a trailing colon and spaces ignored) and
    returns the text after it: its tail, else the next element's text; else a text node written
    ``Label: value``.

    >>> page = Page(
    ...     "<html><p><b>ISBN-13:</b> 978-0441013593</p><dl><dt>Year</dt><dd>1965</dd></dl>"
    ...     "<p>Pages: 412</p></html>",
    ...     "http://shop.example/p/1",
    ... )
    >>> labelled(page, "ISBN-13"), labelled(page, "year"), labelled(page, "Pages")
    ('978-0441013593', '1965', '412')
    """
    want = label.strip().rstrip(":").strip().lower()
    if not want:
        return None
    literal = want.replace('"', "")
    nodes = page.xpath(
        "//*[not(self::script or self::style)]"
        f"[translate(normalize-space(text()), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ:', 'abcdefghijklmnopqrstuvwxyz')"
        f' = "{literal}"]'
    )
    for node in nodes:
        tail = clean(" ".join(node.xpath("following-sibling::node()[1][self::text()]").getall()))
        if tail:
            tail = tail.lstrip(":").strip()
        if tail:
            return tail
        nxt = text(node.xpath("following-sibling::*[1]"))
        if nxt:
            return nxt
    # "Label: value" written in one text node
    lower = (
        "translate(normalize-space(), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    )
    for raw in page.xpath(f'//text()[contains({lower}, "{literal}")]').getall():
        head, sep, rest = (clean(raw) or "").partition(":")
        if sep and head.strip().lower() == want and rest.strip():
            return rest.strip()
    return None


def ld(page: Page, path: str, type: str | None = None) -> Any:
    """A value from the page's JSON-LD by dotted path: ``ld(page, "offers.price", "Product")``.

    Lists on the way are entered at their first element; the first object (of ``type``) that has
    the path wins. Strings are cleaned. None when no object has it.

    >>> page = Page(
    ...     '<html><script type="application/ld+json">{"@type": "Product", "name": "Dune",'
    ...     ' "offers": [{"price": "12.50", "priceCurrency": "GBP"}]}</script></html>',
    ...     "http://shop.example/p/1",
    ... )
    >>> ld(page, "offers.price", "Product"), ld(page, "name"), ld(page, "sku")
    ('12.50', 'Dune', None)
    """
    for obj in page.jsonld(type):
        value: Any = obj
        for key in path.split("."):
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                break
        if isinstance(value, list):  # ["http://…/a.png"]: the first entry
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("name") or value.get("url") or value.get("@id")
        if value is not None and value != "":  # JSON-LD strings often carry HTML entities
            return clean(_html.unescape(value)) if isinstance(value, str) else value
    return None


def regex(pattern: str, value: Any, group: int | str = 0) -> str | None:
    """The first match of ``pattern`` in ``value`` (``group`` of it), or None; a list is searched
    entry by entry, the first entry that matches wins (``regex(r"MSRP: \\$(\\S+)", texts(...), 1)``).
    Time-limited: a pattern that runs too long gives None.

    >>> regex(r"ISBN (\\d+)", "ISBN 9780441013593, paperback", 1)
    '9780441013593'
    >>> regex(r"MSRP: \\$(\\S+)", ["In stock", "MSRP: $24.99"], 1)
    '24.99'
    """
    if value is None:
        return None
    for one in value if isinstance(value, list) else [value]:
        if one is None:
            continue
        try:
            m = _regex.search(pattern, str(one), timeout=REGEX_TIMEOUT)
        except TimeoutError:
            return None
        if m:
            found = m.group(group)
            return clean(found) if found is not None else None
    return None


def regex_all(pattern: str, value: Any, group: int | str = 0) -> list[str]:
    """Every match of ``pattern`` in ``value`` (``group`` of each); a list is searched entry by
    entry (``regex_all(r"(\\d+) min", texts(...), 1)``). Time-limited: a pattern that runs too
    long gives [].

    >>> regex_all(r"(\\d+) min", ["Prep 15 min", "Cook 40 min"], 1)
    ['15', '40']
    """
    if value is None:
        return []
    out = []
    for one in value if isinstance(value, list) else [value]:
        if one is None:
            continue
        try:
            matches = list(_regex.finditer(pattern, str(one), timeout=REGEX_TIMEOUT))
        except TimeoutError:
            return []
        for m in matches:
            found = clean(m.group(group))
            if found:
                out.append(found)
    return out
