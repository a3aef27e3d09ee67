"""shop.demo, the Halden Home Store: class-based markup, JSON-LD on about half the products, and a
second layout (the redesign) with the same data and the same URLs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crawler.demo.common import document, esc, jsonld_script, listing_pages, money, page_count, pick

__all__ = ["PER_PAGE", "TEMPLATE", "Product", "Shop"]

TEMPLATE = "shop.demo/product"
PER_PAGE = 12


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    series: str
    kind: str
    category: str
    colour: str
    brand: str
    sku: str
    price: float
    description: str
    availability: str
    rating: float | None
    reviews: int
    weight: str
    jsonld: bool


_BRANDS = {
    "Halden": "HAL",
    "Norrvik": "NRV",
    "Brightwell": "BRW",
    "Oakmere": "OAK",
    "Kessler & Finch": "KSF",
    "Lumo": "LMO",
    "Tideway": "TDW",
    "Ashgrove": "ASG",
    "Penrose": "PNR",
    "Vantor": "VNT",
}
_KINDS: dict[str, list[tuple[str, int, int]]] = {
    "Kitchen": [
        ("Cordless Kettle", 24, 89),
        ("Cast Iron Casserole Dish", 39, 179),
        ("Chef's Knife", 19, 129),
        ("Burr Coffee Grinder", 35, 249),
        ("Stand Mixer", 149, 549),
        ("Two-Slice Toaster", 25, 119),
        ("Espresso Machine", 199, 1299),
        ("Glass Storage Jar Set", 12, 45),
    ],
    "Home": [
        ("Linen Duvet Cover", 45, 180),
        ("Merino Wool Throw", 49, 159),
        ("Ceramic Table Lamp", 39, 149),
        ("Stoneware Vase", 15, 69),
        ("Oak Wall Clock", 29, 99),
        ("Cotton Bath Towel Set", 18, 79),
    ],
    "Outdoor": [
        ("Folding Camping Chair", 24, 99),
        ("Insulated Water Bottle", 12, 39),
        ("Solar Garden Lantern", 9, 49),
        ("Two-Person Tent", 79, 399),
        ("Walking Rucksack", 39, 149),
    ],
    "Electronics": [
        ("Bluetooth Speaker", 29, 249),
        ("Wireless Earbuds", 39, 229),
        ("USB-C Charger", 12, 59),
        ("Smart Plug", 9, 29),
        ("Noise-Cancelling Headphones", 89, 379),
        ("27-inch 4K Monitor", 229, 1099),
    ],
}
_SERIES = "Aster Fjord Harbour Linden Orla Marlow Sable Juniper Cove Ridge Wren Alder".split()
_COLOURS = [
    "Slate Grey",
    "Sage Green",
    "Oatmeal",
    "Midnight Blue",
    "Terracotta",
    "Chalk White",
    "Charcoal",
    "Mustard",
]
_OPENERS = [
    "is designed to last for years of everyday use",
    "combines a clean, understated look with practical details",
    "brings reliable performance to busy households",
    "was developed with feedback from hundreds of customers",
    "is the best-selling model in its range",
    "pairs thoughtful design with honest materials",
]
_FEATURES = {
    "Kitchen": [
        "Dishwasher-safe parts make cleaning up quick.",
        "The brushed finish resists fingerprints and water marks.",
        "A wide base keeps it steady on any worktop.",
        "Heat-resistant handles stay cool to the touch.",
    ],
    "Home": [
        "Made from responsibly sourced materials.",
        "It is machine washable at 40 °C.",
        "The soft, textured finish works in any room.",
        "Each piece is finished by hand, so no two are quite the same.",
    ],
    "Outdoor": [
        "It packs down small and weighs less than you would expect.",
        "Weatherproof seams keep the elements out.",
        "Reinforced stitching copes with years of rough use.",
        "Reflective details help you stay visible after dark.",
    ],
    "Electronics": [
        "Battery life of up to 30 hours on a single charge.",
        "Set-up takes less than two minutes with the free app.",
        "Firmware updates arrive automatically over Wi-Fi.",
        "The recycled-plastic casing feels solid and well made.",
    ],
}
_CLOSERS = [
    "Comes with a two-year guarantee.",
    "Supplied in plastic-free packaging.",
    "Free UK delivery on orders over £40.",
    "Backed by our 30-day no-quibble returns policy.",
    "Spare parts are available for at least five years.",
]


def _products(seed: int, count: int) -> list[Product]:
    rng = random.Random(f"{seed}/shop.demo")
    names: set[str] = set()
    skus: set[str] = set()
    out: list[Product] = []
    pid = 1
    while len(out) < count:
        category = rng.choice(sorted(_KINDS))
        kind, low, high = rng.choice(_KINDS[category])
        series, colour = rng.choice(_SERIES), rng.choice(_COLOURS)
        name = f"{series} {kind}, {colour}"
        if name in names:
            continue
        names.add(name)
        brand = rng.choice(sorted(_BRANDS))
        sku = f"{_BRANDS[brand]}-{rng.randint(10000, 99999)}"
        while sku in skus:
            sku = f"{_BRANDS[brand]}-{rng.randint(10000, 99999)}"
        skus.add(sku)
        pence = rng.choice([99, 99, 99, 49, 95, 0])
        price = round(rng.randint(low, high) + pence / 100, 2)
        features = rng.sample(_FEATURES[category], rng.randint(1, 2))
        description = " ".join(
            [
                f"The {series} {kind} from {brand} {rng.choice(_OPENERS)}.",
                *features,
                rng.choice(_CLOSERS),
            ]
        )
        stock = pick(rng, [("In stock", 60), ("few", 15), ("Out of stock", 15), ("Pre-order", 10)])
        if stock == "few":
            stock = f"Only {rng.randint(2, 5)} left in stock"
        rating: float | None = None
        reviews = 0
        if rng.random() < 0.85:
            rating = round(rng.uniform(2.8, 5.0), 1)
            reviews = rng.randint(3, 480)
        weight = f"{rng.uniform(0.1, 9.5):.1f} kg"
        out.append(
            Product(
                id=pid,
                name=name,
                series=series,
                kind=kind,
                category=category,
                colour=colour,
                brand=brand,
                sku=sku,
                price=price,
                description=description,
                availability=stock,
                rating=rating,
                reviews=reviews,
                weight=weight,
                jsonld=rng.random() < 0.5,
            )
        )
        pid += 1
    return out


class Shop:
    """The products of shop.demo (from ``seed``), their true items and their pages in either layout.

    ``url`` makes a path absolute on the server the site is served from (it may move).
    """

    def __init__(self, seed: int, count: int, url: Callable[[str], str]) -> None:
        self.products = _products(seed, count)
        self.url = url
        self.details = {self.path(p): p for p in self.products}
        self.listings = listing_pages("shop", len(self.products), PER_PAGE)

    @staticmethod
    def path(p: Product) -> str:
        return f"/shop/product/{p.id}.html"

    def item(self, p: Product) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": p.name,
            "price": p.price,
            "currency": "GBP",
            "sku": p.sku,
            "brand": p.brand,
            "description": p.description,
            "image": self.url(f"/shop/img/{p.id}.png"),
            "availability": p.availability,
        }
        if p.rating is not None:
            item["rating"] = p.rating
        return item

    def page(self, p: Product, redesign: bool) -> str:
        """The detail page of ``p`` in the first layout, or the second when ``redesign``."""
        return self._page_v2(p) if redesign else self._page_v1(p)

    @staticmethod
    def _stars(rating: float) -> str:
        full = int(rating + 0.5)
        return "★" * full + "☆" * (5 - full)

    def _related(self, p: Product) -> list[Product]:
        n = len(self.products)
        return [self.products[(p.id - 1 + k * 7) % n] for k in (1, 2, 3, 4)]

    def _product_jsonld(self, p: Product) -> str:
        if not p.jsonld:
            return ""
        stock = {"Out of stock": "OutOfStock", "Pre-order": "PreOrder"}.get(
            p.availability, "InStock"
        )
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": p.name,
            "sku": p.sku,
            "brand": {"@type": "Brand", "name": p.brand},
            "description": p.description,
            "image": self.url(f"/shop/img/{p.id}.png"),
            "offers": {
                "@type": "Offer",
                "price": f"{p.price:.2f}",
                "priceCurrency": "GBP",
                "availability": f"https://schema.org/{stock}",
                "url": self.url(self.path(p)),
            },
        }
        if p.rating is not None:
            data["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": p.rating,
                "reviewCount": p.reviews,
            }
        return jsonld_script(data)

    def _specs(self, p: Product) -> list[tuple[str, str]]:
        return [
            ("SKU", p.sku),
            ("Brand", p.brand),
            ("Category", p.category),
            ("Colour", p.colour),
            ("Weight", p.weight),
        ]

    _V1_STYLE = (
        "body{font-family:Georgia,serif;margin:0}#header{background:#2d3b36;color:#fff;padding:1em}"
        "#header a{color:#fff}.product-page{display:grid;grid-template-columns:1fr 1fr;gap:2em;"
        "padding:1em}.price{font-size:1.6em;color:#2d6a4f}table.specs th{text-align:left}"
    )
    _V2_STYLE = (
        "body.theme-2026{font-family:system-ui,sans-serif;margin:0;background:#fafafa}"
        ".site-header{background:#111;color:#eee;padding:.5rem 1rem}.site-header a{color:#eee}"
        ".pdp{display:flex;flex-wrap:wrap;gap:2rem}.pdp-amount{font-weight:700;font-size:2rem}"
    )

    def _v1_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body>\n<div id="header">\n<a class="logo" href="/shop/page/1.html">Halden Home Store'
            '</a>\n<ul class="nav"><li><a href="/shop/page/1.html">Catalogue</a></li>'
            '<li><a href="/">All demo sites</a></li></ul>\n</div>\n'
            f'<div id="content">\n{content}</div>\n'
            '<div id="footer"><p>&copy; 2026 Halden Home Store. Prices include VAT.</p></div>\n'
            "</body>"
        )
        return document(title, body, head, style=self._V1_STYLE)

    def _v2_chrome(self, title: str, content: str, head: str = "") -> str:
        body = (
            '<body class="theme-2026">\n<header class="site-header" id="top">'
            '<div class="site-header__inner"><a class="site-header__logo" href="/shop/page/1.html">'
            'Halden Home</a>\n<nav class="site-nav" aria-label="Main"><a href="/shop/page/1.html">'
            'Shop all</a> <a href="/">All demo sites</a></nav></div></header>\n'
            f'<main id="main-content">\n<div class="container">\n{content}</div>\n</main>\n'
            '<footer class="site-footer"><small>Halden Home Store &middot; all prices include VAT'
            "</small></footer>\n</body>"
        )
        return document(title, body, head, style=self._V2_STYLE)

    def _page_v1(self, p: Product) -> str:
        img = f"/shop/img/{p.id}.png"
        if p.rating is not None:
            rating = (
                f'<div class="rating"><span class="stars">{self._stars(p.rating)}</span> '
                f'<span class="rating-value">{p.rating}</span> out of 5 '
                f'<span class="review-count">({p.reviews} reviews)</span></div>'
            )
        else:
            rating = '<div class="rating no-reviews">No reviews yet</div>'
        stock_class = "out-of-stock" if p.availability == "Out of stock" else "in-stock"
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._specs(p))
        related = "".join(
            f'<li><a href="{self.path(r)}">{esc(r.name)}</a> '
            f'<span class="related-price">{money(r.price)}</span></li>'
            for r in self._related(p)
        )
        content = (
            '<ul class="breadcrumb"><li><a href="/shop/page/1.html">Catalogue</a></li>'
            f'<li class="active">{esc(p.category)}</li></ul>\n'
            f'<div class="product-page">\n<div class="product-gallery"><img class="product-image" '
            f'src="{img}" alt="{esc(p.name)}" width="400" height="400"></div>\n'
            f'<div class="product-main">\n<h1>{esc(p.name)}</h1>\n'
            f'<p class="price">{money(p.price)}</p>\n'
            f'<p class="availability {stock_class}">{esc(p.availability)}</p>\n{rating}\n'
            '<form class="add-to-basket" action="/shop/page/1.html" method="get">'
            '<button type="submit">Add to basket</button></form>\n</div>\n'
            f'<div class="product-description">\n<h2>Description</h2>\n<p>{esc(p.description)}</p>\n'
            f'</div>\n<h2>Specifications</h2>\n<table class="specs">{rows}</table>\n</div>\n'
            f'<div class="related"><h2>You may also like</h2><ul>{related}</ul></div>\n'
        )
        return self._v1_chrome(f"{p.name} | Halden Home Store", content, self._product_jsonld(p))

    def _page_v2(self, p: Product) -> str:
        img = f"/shop/img/{p.id}.png"
        if p.rating is not None:
            reviews = (
                f'<div class="pdp-reviews" aria-label="{self._stars(p.rating)}">Rated '
                f"<strong>{p.rating}</strong>/5 &middot; {p.reviews} reviews</div>"
            )
        else:
            reviews = '<div class="pdp-reviews pdp-reviews--empty">Be the first to review</div>'
        facts = "".join(
            f'<li><span class="pdp-fact-label">{esc(k)}:</span> {esc(v)}</li>'
            for k, v in self._specs(p)
        )
        carousel = "".join(
            f'<a class="carousel-item" href="{self.path(r)}"><span>{esc(r.name)}</span> '
            f"<b>{money(r.price)}</b></a>"
            for r in self._related(p)
        )
        content = (
            '<nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/shop/page/1.html">Shop'
            f'</a></li><li aria-current="page">{esc(p.category)}</li></ol></nav>\n'
            f'<div class="pdp-layout">\n<section class="pdp" data-product-id="{p.id}">\n'
            f'<div class="pdp-media"><figure class="pdp-figure"><img class="pdp-photo" src="{img}" '
            f'alt="{esc(p.name)}" loading="lazy"></figure></div>\n<div class="pdp-details">\n'
            f'<div class="pdp-heading"><h1 class="pdp-name">{esc(p.name)}</h1></div>\n{reviews}\n'
            f'<div class="pdp-copy"><p>{esc(p.description)}</p></div>\n'
            '<div class="pdp-buybox">\n'
            f'<div class="pdp-price-row"><span class="pdp-amount">{money(p.price)}</span> '
            "<small>inc. VAT</small></div>\n"
            f'<div class="pdp-stock">{esc(p.availability)}</div>\n'
            '<button type="button" class="btn btn-primary">Add to basket</button>\n</div>\n'
            f'<ul class="pdp-facts">{facts}</ul>\n</div>\n</section>\n'
            '<section class="carousel"><h2>Customers also viewed</h2>'
            f'<div class="carousel-track">{carousel}</div></section>\n</div>\n'
        )
        return self._v2_chrome(f"{p.name} – Halden Home", content, self._product_jsonld(p))

    def listing(self, n: int, redesign: bool) -> str:
        total = page_count(len(self.products), PER_PAGE)
        chunk = self.products[(n - 1) * PER_PAGE : n * PER_PAGE]
        first = (n - 1) * PER_PAGE + 1
        last = first + len(chunk) - 1
        prev_href = f"/shop/page/{n - 1}.html" if n > 1 else None
        next_href = f"/shop/page/{n + 1}.html" if n < total else None
        head = f'<link rel="next" href="{next_href}">\n' if next_href else ""
        if not redesign:
            cards = "".join(
                f'<li class="product-card"><a href="{self.path(p)}"><img '
                f'src="/shop/img/{p.id}.png" alt="{esc(p.name)}"></a>'
                f'<h3><a href="{self.path(p)}" title="{esc(p.name)}">{esc(p.name)}</a></h3>'
                f'<p class="card-price">{money(p.price)}</p>'
                f'<p class="card-stock">{esc(p.availability)}</p></li>\n'
                for p in chunk
            )
            pager = '<ul class="pager">'
            if prev_href:
                pager += f'<li class="previous"><a href="{prev_href}">&larr; Previous</a></li>'
            pager += f'<li class="current">Page {n} of {total}</li>'
            if next_href:
                pager += f'<li class="next"><a href="{next_href}">Next &rarr;</a></li>'
            pager += "</ul>\n"
            content = (
                f'<h1>Catalogue</h1>\n<p class="result-count">Showing {first}&ndash;{last} of '
                f'{len(self.products)} products</p>\n<ol class="product-grid">\n{cards}</ol>\n'
                f"{pager}"
            )
            return self._v1_chrome(f"Catalogue, page {n} | Halden Home Store", content, head)
        tiles = "".join(
            f'<article class="tile"><a class="tile-link" href="{self.path(p)}">'
            f'<img class="tile-img" src="/shop/img/{p.id}.png" alt="" loading="lazy">'
            f'<span class="tile-name">{esc(p.name)}</span></a>'
            f'<span class="tile-price">{money(p.price)}</span></article>\n'
            for p in chunk
        )
        nav = '<nav class="pagination" aria-label="Pages">'
        if prev_href:
            nav += f'<a class="pagination-prev" rel="prev" href="{prev_href}">Back</a> '
        nav += f"<span>{n} / {total}</span>"
        if next_href:
            nav += f' <a class="pagination-next" rel="next" href="{next_href}">Load more</a>'
        nav += "</nav>\n"
        content = (
            f'<div class="plp">\n<h1 class="plp-title">Shop all</h1>\n'
            f'<div class="plp-grid">\n{tiles}</div>\n{nav}</div>\n'
        )
        return self._v2_chrome(f"Shop all ({n}/{total}) – Halden Home", content, head)
