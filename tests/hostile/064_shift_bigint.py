"""Computes 1 << 10**9 bits.
expect: refused
"""


def parse(page):
    return {"x": (1 << 1000000000) % 7}
