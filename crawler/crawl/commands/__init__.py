"""Scrapy commands of scrapec (``COMMANDS_MODULE = "crawler.crawl.commands"``)."""
