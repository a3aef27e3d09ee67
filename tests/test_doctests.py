"""The examples in docstrings run: ``crawler.parsing``'s are the reference the LLM prompt quotes.

Each module has a floor on the number of examples tried, so a deleted example is noticed.
"""

from __future__ import annotations

import doctest
import importlib
from types import ModuleType

import pytest

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# module: the least number of examples it must keep
FLOORS = {
    "crawler.parsing": 45,
    "crawler.demo": 2,
    "crawler.demo.common": 4,
    "crawler.demo.run": 1,
    "crawler.demo.server": 2,
    "crawler.demo.site": 5,
}


def _run(module: ModuleType) -> doctest.TestResults:
    return doctest.testmod(module, optionflags=OPTIONS, report=False, verbose=False)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_docstring_examples_run(name: str) -> None:
    failures, tried = _run(importlib.import_module(name))
    assert failures == 0, f"{failures} of {tried} examples in {name} fail (run python -m doctest)"
    assert tried >= FLOORS[name], f"{name}: {tried} examples, fewer than {FLOORS[name]}"


def test_every_public_helper_of_parsing_has_an_example() -> None:
    """The prompt shows the model each helper's docstring: each one shows a call and its result."""
    import crawler.parsing as parsing

    missing = [
        name for name in parsing.__all__ if ">>> " not in (getattr(parsing, name).__doc__ or "")
    ]
    missing += [
        f"Page.{method}"
        for method in ("css", "xpath", "jsonld", "meta")
        if ">>> " not in (getattr(parsing.Page, method).__doc__ or "")
    ]
    assert missing == []
