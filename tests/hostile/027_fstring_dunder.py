"""Reads a dunder attribute inside an f-string.
expect: refused
"""


def parse(page):
    return {"x": f"{page.__class__.__module__}"}
