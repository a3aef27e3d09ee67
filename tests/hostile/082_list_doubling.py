"""Doubles a list with + until memory runs out.
expect: stopped
"""


def parse(page):
    x = [0, 1, 2, 3]
    for i in range(64):
        x = x + x
    return {"n": len(x)}
