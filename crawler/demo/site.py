"""The demo site: three made-up sites generated from a seed, with the true item of every page.

One :class:`DemoSite` serves every page of ``shop.demo`` (a shop, class-based markup, JSON-LD on
about half the products; :mod:`crawler.demo.shop`), ``jobs.demo`` (a job board whose detail pages
are built by JavaScript; :mod:`crawler.demo.jobs`) and ``news.demo`` (semantic HTML5, microdata
and JSON-LD; :mod:`crawler.demo.news`) under the path prefixes ``/shop/``, ``/jobs/`` and
``/news/``. Nothing is random at serve time: the same seed gives the same bytes.

>>> site = DemoSite(seed=7)
>>> status, ctype, body = site.render("/shop/product/1.html")
>>> template, item = site.truth("/shop/product/1.html")
>>> template, item["currency"]
('shop.demo/product', 'GBP')
>>> site.redesign = True          # same data and URLs, different markup for shop.demo
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from crawler.demo.common import document, esc
from crawler.demo.jobs import TEMPLATE as JOB_TEMPLATE
from crawler.demo.jobs import Job, JobBoard
from crawler.demo.news import TEMPLATE as ARTICLE_TEMPLATE
from crawler.demo.news import Article, NewsSite
from crawler.demo.shop import TEMPLATE as PRODUCT_TEMPLATE
from crawler.demo.shop import Product, Shop

__all__ = [
    "DEFAULT_BASE_URL",
    "JS_RENDERED",
    "REDESIGNED",
    "TEMPLATES",
    "DemoSite",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8765"
#: template id -> schema name
TEMPLATES: dict[str, str] = {
    PRODUCT_TEMPLATE: "product",
    JOB_TEMPLATE: "job_posting",
    ARTICLE_TEMPLATE: "article",
}
#: templates whose detail pages are built by JavaScript in the browser
JS_RENDERED = frozenset({JOB_TEMPLATE})
#: templates whose markup changes when ``DemoSite.redesign`` is on
REDESIGNED = frozenset({PRODUCT_TEMPLATE})

HTML_TYPE = "text/html; charset=utf-8"
PNG_TYPE = "image/png"
# a valid 1x1 PNG, served for every product and article image
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class DemoSite:
    """Every page of the three demo sites, and the true item of every detail page.

    ``base_url`` is where the site is served (the server sets it); absolute URLs in true items and
    in JSON-LD use it. ``redesign`` switches ``shop.demo`` to its second layout and may be flipped
    at any time: the data and the URLs stay the same.
    """

    def __init__(
        self,
        seed: int = 7,
        redesign: bool = False,
        base_url: str = DEFAULT_BASE_URL,
        products: int = 120,
        jobs: int = 90,
        articles: int = 90,
    ) -> None:
        self.seed = seed
        self.redesign = redesign
        self.base_url = base_url.rstrip("/")
        self._shop = Shop(seed, products, self.url)
        self._board = JobBoard(seed, jobs)
        self._news = NewsSite(seed, articles, self.url)
        self.products = self._shop.products
        self.jobs = self._board.jobs
        self.articles = self._news.articles
        self._details: dict[str, tuple[str, Product | Job | Article]] = {}
        for path, p in self._shop.details.items():
            self._details[path] = (PRODUCT_TEMPLATE, p)
        for path, j in self._board.details.items():
            self._details[path] = (JOB_TEMPLATE, j)
        for path, a in self._news.details.items():
            self._details[path] = (ARTICLE_TEMPLATE, a)
        self._listings: dict[str, Callable[[], str]] = {"/": self._home}
        for path, n in self._shop.listings.items():
            self._listings[path] = partial(self._shop_listing, n)
        for path, n in self._board.listings.items():
            self._listings[path] = partial(self._board.listing, n)
        for path, n in self._news.listings.items():
            self._listings[path] = partial(self._news.listing, n)

    # ---- public API

    def templates(self) -> dict[str, str]:
        """Template id -> schema name."""
        return dict(TEMPLATES)

    def detail_paths(self, template: str) -> list[str]:
        """The paths of the detail pages of one template, in id order."""
        if template not in TEMPLATES:
            raise ValueError(f"unknown demo template {template!r}; known: {sorted(TEMPLATES)}")
        return [path for path, (t, _) in self._details.items() if t == template]

    def listing_paths(self) -> list[str]:
        """The home page and every listing page."""
        return list(self._listings)

    def all_paths(self) -> list[str]:
        """Every HTML page: the home page, the listings and the detail pages."""
        return [*self._listings, *self._details]

    def url(self, path: str) -> str:
        """The absolute URL of a path on this site."""
        return self.base_url + path

    def truth(self, url_or_path: str) -> tuple[str, dict[str, Any]] | None:
        """(template id, true item) of a detail page, or None when it is not one."""
        found = self._details.get(urlsplit(url_or_path).path or "/")
        if found is None:
            return None
        template, obj = found
        if isinstance(obj, Product):
            return template, self._shop.item(obj)
        if isinstance(obj, Job):
            return template, self._board.item(obj)
        return template, self._news.item(obj)

    def render(self, path: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) of a path as the server sends it."""
        path = urlsplit(path).path or "/"
        found = self._details.get(path)
        if found is not None:
            obj = found[1]
            if isinstance(obj, Product):
                page = self._shop.page(obj, self.redesign)
            elif isinstance(obj, Job):
                page = self._board.page(obj, rendered=False)
            else:
                page = self._news.page(obj)
            return 200, HTML_TYPE, page.encode("utf-8")
        listing = self._listings.get(path)
        if listing is not None:
            return 200, HTML_TYPE, listing().encode("utf-8")
        if re.fullmatch(r"/(shop|news)/img/\d+\.png", path):
            return 200, PNG_TYPE, _PNG
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n"
        return 404, HTML_TYPE, self._not_found(path).encode("utf-8")

    def render_dom(self, path: str) -> tuple[int, str, bytes]:
        """Like :meth:`render`, but the document as a browser has it after the page's scripts ran.

        Only ``jobs.demo/job`` pages differ: this mirrors what their inline script builds.
        """
        found = self._details.get(urlsplit(path).path or "/")
        if found is not None and isinstance(found[1], Job):
            return 200, HTML_TYPE, self._board.page(found[1], rendered=True).encode("utf-8")
        return self.render(path)

    # ---- the pages of no one site

    def _shop_listing(self, n: int) -> str:
        return self._shop.listing(n, self.redesign)

    def _home(self) -> str:
        body = (
            "<body>\n<h1>scrapec demo sites</h1>\n<p>Three made-up sites, generated from seed "
            f"{self.seed}. Every page is fictional.</p>\n<ul>\n"
            '<li><a href="/shop/page/1.html">Halden Home Store</a> (shop.demo)</li>\n'
            '<li><a href="/jobs/page/1.html">Workwise jobs</a> (jobs.demo)</li>\n'
            '<li><a href="/news/page/1.html">The Harbour Herald</a> (news.demo)</li>\n'
            "</ul>\n</body>"
        )
        return document("scrapec demo sites", body, style="body{font-family:sans-serif}")

    def _not_found(self, path: str) -> str:
        body = (
            f"<body>\n<h1>Page not found</h1>\n<p>Nothing lives at <code>{esc(path)}</code>.</p>\n"
            '<p><a href="/">Back to the demo sites</a></p>\n</body>'
        )
        return document("Not found", body)
