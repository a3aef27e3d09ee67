"""Builds 'a' * 10**12.
expect: stopped
"""


def parse(page):
    return {"x": len("a" * 1000000000000)}
