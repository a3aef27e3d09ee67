"""Scrapy commands of scrapec, registered by the ``scrapy.commands`` entry point (pyproject.toml)."""
