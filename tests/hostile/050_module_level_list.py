"""Keeps a mutable list at module level to share state between pages.
expect: refused
"""


SEEN = []


def parse(page):
    SEEN.append(page.url)
    return {"n": len(SEEN)}
