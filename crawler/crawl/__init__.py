"""Scrapy integration: the only package of scrapec that imports scrapy.

Settings (all optional; defaults in brackets):

- ``SCRAPEC_ENABLED`` [True] — turn the components off without removing them;
- ``SCRAPEC_REGISTRY`` ["generated_parsers"] — the parser registry;
- ``SCRAPEC_FIXTURES`` ["fixtures"] — fixtures used to compile new templates and as the gate;
- ``SCRAPEC_STATE_DIR`` [<registry>/.state] — held and quarantined pages;
- ``SCRAPEC_SCHEMA`` [None] — schema name or path for every template (else each template's own);
- ``SCRAPEC_REGEN_SAMPLES`` [3] — held pages of a broken template that trigger regeneration;
- ``SCRAPEC_LAYOUT_THRESHOLD`` [0.5] — layout similarity below which a page is drift;
- ``SCRAPEC_GENERATOR`` ["auto"] — auto | induce | llm for regeneration;
- ``SCRAPEC_EXTRACT_ALL`` [False] — for your own spiders: extract from every response, not only
  those whose request has ``meta["scrapec"] = True`` (or a template name).

Components: :class:`~crawler.crawl.middleware.ScrapecSpiderMiddleware` (extraction, enabled in
``SPIDER_MIDDLEWARES``), :class:`~crawler.crawl.pipeline.ScrapecValidationPipeline` (schema check
of items your own callbacks yield) and :class:`~crawler.crawl.extension.ScrapecExtension` (stats,
end-of-crawl regeneration of held pages). Stats are under ``scrapec/``.
"""
