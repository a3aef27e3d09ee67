"""Imports the private regex module object from crawler.parsing.
expect: refused
"""

from crawler.parsing import _regex


def parse(page):
    return {"x": str(_regex)}
