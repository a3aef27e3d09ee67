"""Reads page._sel, the parsel selector behind the page.
expect: refused
"""


def parse(page):
    return {"x": str(page._sel)}
