"""The spider middleware that turns responses into checked items through the scrapec runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.crawl.runtime import publish_stats, runtime_for
from crawler.runtime import PageOutcome, Runtime


class ScrapecSpiderMiddleware:
    """Adds the items scrapec extracts from a response to the callback's output.

    A response is extracted when its request has ``meta["scrapec"]`` (True, or a template id),
    or when ``SCRAPEC_EXTRACT_ALL`` is on. Pages that fail are held; when a template is
    regenerated, the items of its held pages come out with the response that triggered it.
    """

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.extract_all = crawler.settings.getbool("SCRAPEC_EXTRACT_ALL", False)
        self.render_probe = crawler.settings.getbool("SCRAPEC_RENDER_PROBE", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecSpiderMiddleware:
        return cls(crawler, runtime_for(crawler))

    def items_for(self, response: Response) -> list[dict[str, Any]]:
        flag = response.meta.get("scrapec", self.extract_all or None)
        if not flag or not isinstance(response, TextResponse):
            return []
        template = flag if isinstance(flag, str) else None
        item_page = bool(response.meta.get("scrapec_item_page"))
        outcome = self.runtime.process(
            response.body, response.url, response.encoding, template, item_page
        )
        publish_stats(self.crawler, self.runtime)
        return items_of(outcome)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        for item in self.items_for(response):
            yield item
        async for r in result:
            yield r

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        yield from self.items_for(response)
        yield from result


def items_of(outcome: PageOutcome) -> list[dict[str, Any]]:
    """The feed items of an outcome: its own item and those of released pages, with provenance."""
    out = []
    for one in outcome.all():
        if one.status == "ok" and one.item is not None:
            out.append(
                {**one.item, "_url": one.url, "_template": one.template, "_version": one.version}
            )
    return out
