"""Scrapy settings of the scrapec project (``scrapy crawl site``)."""

from __future__ import annotations

from crawler.fetch import launch_options

BOT_NAME = "scrapec"
SPIDER_MODULES = ["crawler.crawl.spiders"]
NEWSPIDER_MODULE = "crawler.crawl.spiders"
ROBOTSTXT_OBEY = True
REMOTE_CONTROL_ENABLED = False  # it opens a code-executing control server otherwise
TELNETCONSOLE_ENABLED = False
CONCURRENT_REQUESTS_PER_DOMAIN = 8
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

SPIDER_MIDDLEWARES = {"crawler.crawl.middleware.ScrapecSpiderMiddleware": 900}
# pages are processed in a thread (parsers in worker processes), off the reactor; after redirects,
# retries and decompression (a low number is near the engine)
DOWNLOADER_MIDDLEWARES = {"crawler.crawl.middleware.ScrapecDownloaderMiddleware": 50}
EXTENSIONS = {"crawler.crawl.extension.ScrapecExtension": 500}

# JavaScript rendering through scrapy-playwright and Debian's chromium, only for requests whose
# meta asks for it (templates whose parser.json says "render": true).
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = launch_options()
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

COMMANDS_MODULE = "crawler.crawl.commands"  # scrapy savefixture
