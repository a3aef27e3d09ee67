"""The generic spider: ``scrapy crawl site -a start_url=URL -a schema=NAME [-a follow=REGEX] [-a template=SITE/NAME]``."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse
from scrapy.utils.response import get_base_url

from crawler.crawl.middleware import LINKS_KEY
from crawler.exceptions import BadInput, RegistryError, RoutingError
from crawler.links import tree_links
from crawler.schemas import load_schema

FOLLOWED_SCHEMES = frozenset({"http", "https"})


class SiteSpider(Spider):
    """Follows links of one site and extracts an item from every page scrapec has a template for.

    Only http and https links are followed: a link with the start URL's host:port and another
    scheme (``file://127.0.0.1:8000/etc/passwd``, ``ftp://…``) is refused and counted in the stat
    ``scrapec/links_refused/scheme``. ``follow`` (a regex on the URL) limits which links are
    followed (default: every link of the start URL's host); ``items`` (a regex on the URL) marks
    pages that must hold an item, so one that no template fits is quarantined rather than taken
    for navigation. ``template`` forces one template for every page. Pages that route to a
    template whose ``parser.json`` says ``"render": true`` are fetched through Playwright.
    """

    name = "site"
    # the parser worker reads the links of the pages it parses (crawler.crawl.middleware):
    # the reactor thread then parses only pages no template fits
    scrapec_links = True

    def __init__(
        self,
        start_url: str = "",
        schema: str = "",
        follow: str = "",
        template: str = "",
        items: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not start_url.startswith(("http://", "https://")):
            raise BadInput(f"start_url={start_url!r}: pass -a start_url=http(s)://…")
        self.start_url = start_url
        self._options(schema, follow, template, items)
        self.host = urlsplit(start_url).netloc

    def _options(self, schema: str, follow: str, template: str, items: str) -> None:
        """The spider's ``-a`` options, checked (a bad value stops the crawl, named)."""
        self.schema_name = schema or None
        if self.schema_name:
            load_schema(self.schema_name)  # fail early, naming the bad value
        try:
            self.follow = re.compile(follow) if follow else None
        except re.error as exc:
            raise BadInput(f"follow={follow!r}: not a regular expression: {exc}") from None
        try:
            self.items = re.compile(items) if items else None
        except re.error as exc:
            raise BadInput(f"items={items!r}: not a regular expression: {exc}") from None
        self.template = template or None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SiteSpider:
        if kwargs.get("schema"):
            crawler.settings.set("SCRAPEC_SCHEMA", kwargs["schema"], priority="spider")
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        yield self.request(self.start_url)

    def request(self, url: str) -> Request:
        if urlsplit(url).scheme not in FOLLOWED_SCHEMES:  # never a file://, ftp://, s3://, data:
            raise BadInput(f"{url!r}: not an http(s) URL; only http and https are fetched")
        meta: dict[str, Any] = {"scrapec": self.template or True}
        if self.items is not None and self.items.search(url):
            meta["scrapec_item_page"] = True
        if self.renders(url):
            meta["playwright"] = True
        return Request(url, callback=self.parse, meta=meta)

    def renders(self, url: str) -> bool:
        from crawler.crawl.glue import runtime_for

        registry = runtime_for(self.crawler).registry
        try:
            rendered = {t for t in registry.templates() if registry.info(t).data.get("render")}
            if not rendered:  # the common case: no URL needs routing to know
                return False
            return (self.template or registry.route(url, None).template) in rendered
        except (RoutingError, RegistryError):
            return False

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        links = response.meta.pop(LINKS_KEY, None)
        if links is None:  # a page no parser worker read
            links = tree_links(response.selector.root, get_base_url(response), limit=sys.maxsize)
        for url in links or ():
            if self._ours(url) and (self.follow is None or self.follow.search(url)):
                yield self.request(url)

    def _ours(self, url: str) -> bool:
        """Whether ``url`` is an http(s) link of the start URL's host:port."""
        if url.startswith((f"http://{self.host}/", f"https://{self.host}/")):
            return True  # the common case, without splitting the URL
        if self.host not in url:
            return False
        parts = urlsplit(url)
        if parts.netloc != self.host:
            return False
        if parts.scheme not in FOLLOWED_SCHEMES:
            # file://HOST:PORT/etc/passwd has the start URL's host:port: the scheme decides
            stats = getattr(getattr(self, "crawler", None), "stats", None)
            if stats is not None:
                stats.inc_value("scrapec/links_refused/scheme")
            return False
        return True
