"""Recurses without end.
expect: stopped
"""


def down(n):
    return down(n + 1)


def parse(page):
    return {"x": down(0)}
