"""Builds a Page of ten million elements.
expect: stopped
"""

from crawler.parsing import Page


def parse(page):
    big = Page("<a></a>" * 10000000)
    return {"n": len(big.css("a"))}
