"""Deletes page.url.
expect: refused
"""


def parse(page):
    del page.url
    return {}
