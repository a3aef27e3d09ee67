"""Reads text.__globals__ to reach the modules crawler.parsing imported.
expect: refused
"""

from crawler.parsing import text


def parse(page):
    re = text.__globals__["re"]
    return {"x": str(re)}
