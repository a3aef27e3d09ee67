"""Builds a page whose JSON-LD is nested 100000 levels deep.
expect: stopped
"""

from crawler.parsing import Page


def parse(page):
    deep = Page('<script type="application/ld+json">' + "[" * 100000 + "]" * 100000 + "</script>")
    return {"n": len(deep.jsonld())}
