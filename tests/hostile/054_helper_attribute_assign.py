"""Sets an attribute on a shared helper function.
expect: refused
"""

from crawler.parsing import text


def parse(page):
    text.get = None
    return {}
