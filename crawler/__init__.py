"""scrapec: a scraper compiler. Generate a small deterministic parser per site template, verify it
against saved pages, cache it, run it on every page, regenerate it only when it breaks.

>>> from crawler import extract
>>> result = extract("https://shop.example/p/1", schema="product")   # doctest: +SKIP
>>> result.valid, result.item, result.template                        # doctest: +SKIP

The names below are imported on first use: a parser worker process imports this package and
needs none of them, and ``scrapec`` starts its worker before it imports them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.api import aextract, extract, extract_many
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
    from crawler.fixtures import Fixture, load_fixtures
    from crawler.parsing import Page
    from crawler.registry import Registry
    from crawler.schemas import Schema, load_schema

_WHERE = {
    "aextract": "crawler.api",
    "extract_many": "crawler.api",
    "BadInput": "crawler.exceptions",
    "BudgetExhausted": "crawler.exceptions",
    "CompileError": "crawler.exceptions",
    "ExampleNotFound": "crawler.exceptions",
    "FetchError": "crawler.exceptions",
    "ParserFailed": "crawler.exceptions",
    "PolicyViolation": "crawler.exceptions",
    "RegistryError": "crawler.exceptions",
    "RoutingError": "crawler.exceptions",
    "SchemaError": "crawler.exceptions",
    "ScrapecError": "crawler.exceptions",
    "Extraction": "crawler.extract",
    "Extractor": "crawler.extract",
    "extract_html": "crawler.extract",
    "Fixture": "crawler.fixtures",
    "load_fixtures": "crawler.fixtures",
    "Page": "crawler.parsing",
    "Registry": "crawler.registry",
    "Schema": "crawler.schemas",
    "load_schema": "crawler.schemas",
}
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


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'crawler' has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """``crawler.extract`` is the function :func:`crawler.api.extract`, also once the module
    ``crawler.extract`` is imported (the import system binds a submodule's name on its package:
    that binding is ignored here; ``from crawler.extract import …`` reads ``sys.modules``)."""

    @property
    def extract(self) -> Any:
        from crawler.api import extract

        return extract

    @extract.setter
    def extract(self, value: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package
