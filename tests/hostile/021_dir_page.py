"""Calls dir() to discover hidden attributes.
expect: refused
"""


def parse(page):
    return {"x": dir(page)}
