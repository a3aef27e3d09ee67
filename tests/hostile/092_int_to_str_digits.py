"""Converts a huge integer to a string (quadratic in C).
expect: stopped
"""


def parse(page):
    x = int("9" * 4000)
    x = x * x
    return {"n": len(str(x))}
