"""A pipeline for items your own callbacks yield: schema check with a reason for every drop."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.schemas import Schema, load_schema


class ScrapecValidationPipeline:
    """Validates every item against ``SCRAPEC_SCHEMA`` (fields starting with ``_`` are provenance
    and are not checked); invalid items are dropped with the errors as reason."""

    def __init__(self, crawler: Crawler, schema: Schema) -> None:
        self.crawler = crawler
        self.schema = schema

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecValidationPipeline:
        if not crawler.settings.getbool("SCRAPEC_ENABLED", True):
            raise NotConfigured("SCRAPEC_ENABLED is off")
        name = crawler.settings.get("SCRAPEC_SCHEMA")
        if not name:
            raise NotConfigured("SCRAPEC_SCHEMA is not set: nothing to validate against")
        return cls(crawler, load_schema(name))

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        data = {k: v for k, v in ItemAdapter(item).asdict().items() if not k.startswith("_")}
        errors = self.schema.errors(data)
        stats = self.crawler.stats
        if errors:
            if stats is not None:
                stats.inc_value("scrapec/pipeline/dropped")
            raise DropItem("; ".join(errors))
        if stats is not None:
            stats.inc_value("scrapec/pipeline/valid")
        return item
