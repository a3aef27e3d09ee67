"""Feeds a huge range through map() into set() (a C loop of constant memory).
expect: stopped
"""


def parse(page):
    return {"n": len(set(map(bool, range(1, 1000000000000))))}
