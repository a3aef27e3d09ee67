"""scrapec: a scraper compiler. Generate a small deterministic parser per site template, verify it
against saved pages, cache it, run it on every page, regenerate it only when it breaks.

>>> from crawler import extract
>>> result = extract("https://shop.example/p/1", schema="product")   # doctest: +SKIP
>>> result.valid, result.item, result.template                        # doctest: +SKIP
"""

from __future__ import annotations

from crawler.exceptions import (
    BadInput,
    BudgetExhausted,
    CompileError,
    ExampleNotFound,
    FetchError,
    ParserFailed,
    PolicyViolation,
    RegistryError,
    RoutingError,
    SchemaError,
    ScrapecError,
)
from crawler.extract import Extraction, Extractor, extract_html

# after crawler.extract: the name ``extract`` is the function, not that module
from crawler.api import aextract, extract, extract_many  # noqa: E402  isort: skip
from crawler.fixtures import Fixture, load_fixtures
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.schemas import Schema, load_schema

__all__ = [
    "BadInput",
    "BudgetExhausted",
    "CompileError",
    "ExampleNotFound",
    "Extraction",
    "Extractor",
    "FetchError",
    "Fixture",
    "Page",
    "ParserFailed",
    "PolicyViolation",
    "Registry",
    "RegistryError",
    "RoutingError",
    "Schema",
    "SchemaError",
    "ScrapecError",
    "aextract",
    "extract",
    "extract_html",
    "extract_many",
    "load_fixtures",
    "load_schema",
]
__version__ = "0.1.0"
