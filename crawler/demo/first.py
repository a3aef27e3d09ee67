"""A site scrapec has never seen, for the first meeting: product pages that state their item in
different ways, and pages that break the rules.

=============================  ==============================================================
``/jsonld/p/<i>.html``         JSON-LD only (with a trailing comma), a nested brand object
``/micro/p/<i>.html``          microdata only; the brand's ``itemprop="name"`` comes first
``/rdfa/p/<i>.html``           RDFa only
``/plain/p/<i>.html``          no structured data: taught from example values (or an LLM)
``/js/p/<i>.html``             the item (markup and JSON-LD) is written by a script
``/big/p/<i>.html``            JSON-LD product padded to about 100 KB (benchmarks)
``/broken/404``, ``/500``      error statuses
``/broken/pdf|png|json``       not HTML
``/broken/huge``               a 50 MB page
``/broken/loop``               a redirect loop
``/broken/hang.html``          a page whose script never arrives (rendering never finishes)
=============================  ==============================================================

:meth:`FirstSite.item` is the truth of product ``i`` (the same on every kind of page).

    python -m crawler.demo.first --port 8766
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["KINDS", "FirstSite", "main"]

KINDS = ("jsonld", "micro", "rdfa", "plain", "js", "big")
HTML = "text/html; charset=utf-8"
_COLOURS = ("Blue", "Red", "Green", "Black", "White", "Copper", "Steel", "Cream")
_THINGS = ("Kettle", "Toaster", "Teapot", "Grinder", "Blender", "Juicer", "Mixer", "Scale")
_BRANDS = ("Acme", "Hearth & Co", "Brightline", "Nordvik")


class FirstSite:
    """The pages of the never-seen shop (``render(path)`` as :class:`DemoServer` serves)."""

    redesign = False
    seed = 0

    def __init__(self, products: int = 120, hang_seconds: float = 60.0) -> None:
        self.products = products
        self.hang_seconds = hang_seconds
        self.base_url = ""

    def item(self, i: int) -> dict[str, Any]:
        """The product ``i`` as the pages show it."""
        name = f"{_COLOURS[i % len(_COLOURS)]} {_THINGS[(i // 8) % len(_THINGS)]} {100 + i}"
        return {
            "name": name,
            "price": round(9.99 + (i * 7) % 90, 2),
            "currency": "GBP",
            "sku": f"FS-{5000 + i}",
            "brand": _BRANDS[i % len(_BRANDS)],
        }

    # -- pages ---------------------------------------------------------------------------------

    def _visible(self, item: dict[str, Any], micro: bool = False, rdfa: bool = False) -> str:
        """The product's markup; with ``micro`` or ``rdfa`` its attributes of that syntax."""

        def attr(prop: str) -> str:
            if micro:
                return f' itemprop="{prop}"'
            if rdfa:
                return f' property="{prop}"'
            return ""

        brand = (
            f'<div class="maker" itemprop="brand" itemscope itemtype="https://schema.org/Brand">'
            f'<span itemprop="name">{item["brand"]}</span></div>'
            if micro
            else f'<div class="maker" property="brand" typeof="Brand"><span property="name">'
            f"{item['brand']}</span></div>"
            if rdfa
            else f'<div class="maker">{item["brand"]}</div>'
        )
        scope = ""
        if micro:
            scope = ' itemscope itemtype="https://schema.org/Product"'
        elif rdfa:
            scope = ' vocab="https://schema.org/" typeof="Product"'
        offer = (
            ' itemprop="offers" itemscope itemtype="https://schema.org/Offer"'
            if micro
            else ' property="offers" typeof="Offer"'
            if rdfa
            else ""
        )
        price = f"{item['price']:.2f}"
        currency = (
            '<meta itemprop="priceCurrency" content="GBP">'
            if micro
            else '<meta property="priceCurrency" content="GBP">'
            if rdfa
            else ""
        )
        return (
            f'<main><article class="product"{scope}>{brand}'
            f'<h1 class="title"{attr("name")}>{item["name"]}</h1>'
            f'<div class="offer"{offer}><span class="amount"{attr("price")}>£{price}</span>'
            f"{currency}</div>"
            f'<p class="code">Item code: <span{attr("sku")}>{item["sku"]}</span></p>'
            f'<p class="blurb">A fine {item["name"].lower()} for every kitchen.</p>'
            "</article></main>"
        )

    @staticmethod
    def _jsonld(item: dict[str, Any]) -> str:
        # a trailing comma, as real sites write it: lenient readers take it
        return (
            '<script type="application/ld+json">{"@context": "https://schema.org", '
            f'"@type": "Product", "name": {json.dumps(item["name"])}, "sku": "{item["sku"]}", '
            f'"brand": {{"@type": "Brand", "name": {json.dumps(item["brand"])}}}, '
            f'"offers": {{"@type": "Offer", "price": "{item["price"]:.2f}", '
            '"priceCurrency": "GBP",},}</script>'
        )

    def page(self, kind: str, i: int) -> str:
        item = self.item(i)
        head = f"<title>{item['name']} | First Shop</title>"
        nav = '<header><a href="/">First Shop</a> <a href="/basket">Basket</a></header>'
        foot = "<footer>First Shop Ltd · <a href='/about'>About</a></footer>"
        if kind in ("jsonld", "big"):
            head += self._jsonld(item)
            body = self._visible(item)
            if kind == "big":  # about 100 KB of the reviews and related products real pages carry
                reviews = "".join(
                    f'<li class="review"><b>Reviewer {n}</b><p>{"Works well and looks good. " * 12}'
                    f"</p></li>"
                    for n in range(280)
                )
                body += f'<section class="reviews"><ul>{reviews}</ul></section>'
        elif kind == "micro":
            body = self._visible(item, micro=True)
        elif kind == "rdfa":
            body = self._visible(item, rdfa=True)
        elif kind == "plain":
            body = self._visible(item)
        elif kind == "js":
            markup = json.dumps(self._visible(item))
            data = json.dumps(self._jsonld(item).split(">", 1)[1].rsplit("<", 1)[0])
            body = (
                '<div id="app">Loading…</div><script>'
                f"document.getElementById('app').innerHTML = {markup};"
                "var s = document.createElement('script'); s.type = 'application/ld+json';"
                f"s.text = {data}; document.head.appendChild(s);</script>"
            )
        else:
            raise KeyError(kind)
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{nav}{body}{foot}</body></html>"

    def render(self, path: str) -> tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body[, headers]) of ``path``."""
        path = urlsplit(path).path or "/"
        parts = path.strip("/").split("/")
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if path == "/":
            links = "".join(
                f'<li><a href="/{k}/p/{i}.html">{k} {i}</a></li>'
                for k in KINDS
                for i in range(1, min(self.products, 20) + 1)
            )
            return 200, HTML, f"<html><body><ul>{links}</ul></body></html>".encode()
        if len(parts) == 3 and parts[0] in KINDS and parts[1] == "p" and parts[2].endswith(".html"):
            try:
                i = int(parts[2][:-5])
            except ValueError:
                return 404, HTML, b"<html><body>not found</body></html>"
            if 1 <= i <= self.products:
                return 200, HTML, self.page(parts[0], i).encode("utf-8")
        if parts[0] == "broken" and len(parts) == 2:
            return self._broken(parts[1])
        if path == "/never.js":
            time.sleep(self.hang_seconds)  # the script that never comes
            return 200, "text/javascript", b""
        return 404, HTML, b"<html><body>not found</body></html>"

    def _broken(self, name: str) -> tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]:
        if name == "404":
            return 404, HTML, b"<html><body>no such product</body></html>"
        if name == "500":
            return 500, HTML, b"<html><body>internal error</body></html>"
        if name == "pdf":
            return 200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"
        if name == "png":
            return 200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)
        if name == "json":
            return 200, "application/json", b'{"name": "not a page"}'
        if name == "huge":
            return 200, HTML, b"<html><body>" + b"<p>padding</p>" * (50 * 2**20 // 14)
        if name == "loop":
            return 302, HTML, b"", {"Location": "/broken/loop"}
        if name == "hang.html":
            return (
                200,
                HTML,
                b"<html><head><script src='/never.js'></script></head><body>wait</body></html>",
            )
        return 404, HTML, b"<html><body>not found</body></html>"


def main(argv: list[str] | None = None) -> int:
    from crawler.demo.server import DemoServer

    parser = argparse.ArgumentParser(description="serve the never-seen shop on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    server = DemoServer(FirstSite(), port=args.port)
    print(f"serving {server.base_url}/ (Ctrl-C stops)")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
