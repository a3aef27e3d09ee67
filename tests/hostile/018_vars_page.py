"""Uses vars() to read a page's internals.
expect: refused
"""


def parse(page):
    return {"x": str(vars(page))}
