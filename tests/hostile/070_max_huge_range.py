"""Runs max() over a huge range.
expect: stopped
"""


def parse(page):
    return {"n": max(range(-1000000000000, 0))}
