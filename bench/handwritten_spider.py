"""The baseline of ``bench/crawl.py``: a plain Scrapy spider with hand-written parsel callbacks.

    scrapy runspider bench/handwritten_spider.py -a start_url=URL -a follow=REGEX \\
        -s SCRAPEC_ENABLED=0 -s SCRAPEC_STATS_FILE=stats.json -O items.jsonl

It follows links exactly as the generic spider (``crawler/crawl/spiders/site.py``) does: every
``<a href>`` of the start URL's host whose URL matches ``follow``; on the demo shop's product pages
and the demo news site's article pages it extracts the fields of the ``product`` and ``article``
schemas with selectors written by hand for the demo markup. When the crawl closes it writes its
Scrapy stats as JSON to ``SCRAPEC_STATS_FILE`` (the file the scrapec extension writes for the
generic spider), so both crawls are measured from the same numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse

PRODUCT = re.compile(r"/shop/product/\d+\.html$")
ARTICLE = re.compile(r"/news/\d{4}/\d{2}/[^/]+\.html$")
_NOT_PRICE = re.compile(r"[^\d.]")
_WS = re.compile(r"\s+")
_CURRENCIES = {"£": "GBP", "$": "USD", "€": "EUR"}


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = _WS.sub(" ", value).strip()
    return value or None


class HandwrittenSpider(Spider):
    name = "handwritten"

    def __init__(self, start_url: str = "", follow: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.follow = re.compile(follow) if follow else None
        self.host = urlsplit(start_url).netloc

    async def start(self) -> AsyncIterator[Any]:
        yield Request(self.start_url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        path = urlsplit(response.url).path
        if PRODUCT.search(path):
            yield self.product(response)
        elif ARTICLE.search(path):
            yield self.article(response)
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href).split("#", 1)[0]
            if urlsplit(url).netloc != self.host:
                continue
            if self.follow is not None and not self.follow.search(url):
                continue
            yield Request(url, callback=self.parse)

    def product(self, response: TextResponse) -> dict[str, Any]:
        main = response.css("div.product-main")
        price_text = main.css("p.price::text").get("")
        specs = {
            _clean(row.css("th::text").get()): _clean(row.css("td::text").get())
            for row in response.css("table.specs tr")
        }
        item: dict[str, Any] = {
            "name": _clean(main.css("h1::text").get()),
            "price": float(_NOT_PRICE.sub("", price_text)) if price_text else None,
            "currency": next((c for s, c in _CURRENCIES.items() if s in price_text), None),
            "sku": specs.get("SKU"),
            "brand": specs.get("Brand"),
            "description": _clean(response.css("div.product-description p::text").get()),
            "image": response.urljoin(response.css("img.product-image::attr(src)").get("")),
            "availability": _clean(main.css("p.availability::text").get()),
        }
        rating = main.css("span.rating-value::text").get()
        if rating:
            item["rating"] = float(rating)
        item["_url"] = response.url
        return item

    def article(self, response: TextResponse) -> dict[str, Any]:
        story = response.css("article.story")
        image = story.css("img[itemprop=image]::attr(src)").get()
        return {
            "headline": _clean(story.css("h1[itemprop=headline]::text").get()),
            "author": [a for a in map(_clean, story.css("[itemprop=author]::text").getall()) if a],
            "date_published": story.css("time[itemprop=datePublished]::attr(datetime)").get(),
            "section": _clean(story.css("[itemprop=articleSection]::text").get()),
            "summary": _clean(story.css("p.standfirst::text").get()),
            "image": response.urljoin(image) if image else None,
            "_url": response.url,
        }

    def closed(self, reason: str) -> None:
        """Write the crawl's stats to ``SCRAPEC_STATS_FILE``.

        This runs before the core stats extension sets ``elapsed_time_seconds`` (the spider
        connects to ``spider_closed`` first), so it is computed here the same way: now minus
        ``start_time``.
        """
        path = self.settings.get("SCRAPEC_STATS_FILE")
        if not path or self.crawler.stats is None:
            return
        stats = dict(self.crawler.stats.get_stats())
        start = stats.get("start_time")
        if "elapsed_time_seconds" not in stats and isinstance(start, datetime):
            stats["elapsed_time_seconds"] = (datetime.now(tz=UTC) - start).total_seconds()
        stats["finish_reason"] = reason
        out = {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
        Path(path).write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
