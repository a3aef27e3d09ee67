"""Calls super() outside a class to reach object internals.
expect: refused
"""


def parse(page):
    return {"x": str(super())}
