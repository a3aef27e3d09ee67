"""Raises KeyError with a huge tuple key, whose repr would fill memory.
expect: stopped
"""


def parse(page):
    key = ("x" * 1000000,) * 10000000
    return {}[key]
