"""Fetches __import__ from the builtins dict to load importlib.
expect: refused
"""

from crawler.parsing import text


def parse(page):
    importlib = __builtins__["__import__"]("importlib")
    return {"os": str(importlib.import_module("os"))}
