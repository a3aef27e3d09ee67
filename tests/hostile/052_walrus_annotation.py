"""Binds a module global list with := inside an annotation.
expect: refused
"""


def helper(x: (cache := [])):
    return x


def parse(page):
    cache.append(page.url)
    return {"n": len(cache)}
