"""Multiplies a list item in place, hoping *= escapes the guard.
expect: refused
"""


def parse(page):
    x = [7]
    for i in range(64):
        x[0] *= x[0]
    return {}
