"""Builds [0] * 10**9.
expect: stopped
"""


def parse(page):
    return {"x": len([0] * 1000000000)}
