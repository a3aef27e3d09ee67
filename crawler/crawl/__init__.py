"""Scrapy integration: the only package of scrapec that imports scrapy.

Enable it in a project's ``settings.py`` with the add-on::

    ADDONS = {"crawler.crawl.Addon": 100}

:class:`Addon` installs :class:`~crawler.crawl.middleware.ScrapecDownloaderMiddleware` (pages
processed off the reactor), :class:`~crawler.crawl.middleware.ScrapecSpiderMiddleware`
(extraction from responses whose request has ``meta["scrapec"]``, or every response with
``SCRAPEC_EXTRACT_ALL``) and :class:`~crawler.crawl.extension.ScrapecExtension` (stats,
end-of-crawl regeneration of held pages). :class:`~crawler.crawl.pipeline.ScrapecValidationPipeline`
(schema check of items your own callbacks yield) is enabled by hand in ``ITEM_PIPELINES``.

The ``SCRAPEC_*`` settings, their defaults and meanings are :class:`crawler.settings.Settings`;
``crawler.crawl.glue`` reads them once per crawler. Stats are under ``scrapec/``.
"""

from __future__ import annotations

from crawler.crawl.addon import Addon

__all__ = ["Addon"]
