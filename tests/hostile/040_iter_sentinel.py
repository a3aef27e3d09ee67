"""Builds an infinite iterator with iter(callable, sentinel).
expect: refused
"""


def parse(page):
    for x in iter(int, 1):
        pass
    return {}
