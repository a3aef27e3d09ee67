"""Rewrites page.url so another parser of the same page sees it.
expect: refused
"""


def parse(page):
    page.url = "http://evil.test/"
    return {}
