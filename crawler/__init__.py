"""scrapec: a scraper compiler. Generate a small deterministic parser per site template, verify it
against saved pages, cache it, run it on every page, regenerate it only when it breaks.

>>> from crawler import extract_html
>>> result = extract_html(html, url, registry="generated_parsers")   # doctest: +SKIP
>>> result.valid, result.item                                         # doctest: +SKIP
"""

from __future__ import annotations

from crawler.exceptions import (
    BadInput,
    BudgetExhausted,
    CompileError,
    ParserFailed,
    PolicyViolation,
    RegistryError,
    RoutingError,
    SchemaError,
    ScrapecError,
)
from crawler.extract import Extraction, Extractor, extract, extract_html
from crawler.fixtures import Fixture, load_fixtures
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.schemas import Schema, load_schema

__all__ = [
    "BadInput",
    "BudgetExhausted",
    "CompileError",
    "Extraction",
    "Extractor",
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
    "extract",
    "extract_html",
    "load_fixtures",
    "load_schema",
]
__version__ = "0.1.0"
