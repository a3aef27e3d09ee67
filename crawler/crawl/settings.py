"""Scrapy settings of the scrapec project (``scrapy crawl site``)."""

from __future__ import annotations

BOT_NAME = "scrapec"
SPIDER_MODULES = ["crawler.crawl.spiders"]
NEWSPIDER_MODULE = "crawler.crawl.spiders"
ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
CONCURRENT_REQUESTS_PER_DOMAIN = 8
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# the scrapec components, REMOTE_CONTROL_ENABLED=False and, when scrapy-playwright is installed,
# rendering of the requests whose meta asks for it (templates whose parser.json says
# "render": true) through Debian's chromium
ADDONS = {"crawler.crawl.Addon": 100}
