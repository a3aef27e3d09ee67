"""Calls type() to get the Page class and build a new class.
expect: refused
"""


def parse(page):
    cls = type(page)
    return {"x": str(cls)}
