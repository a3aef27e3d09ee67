"""Imports a public helper under a private alias.
expect: refused
"""

from crawler.parsing import text as _t


def parse(page):
    return {"x": _t(page.css("h1"))}
