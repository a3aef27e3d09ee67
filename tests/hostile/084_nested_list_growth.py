"""Grows a nested list structure exponentially.
expect: stopped
"""


def parse(page):
    x = [[0] * 100]
    for i in range(64):
        x = x + [y + [i] for y in x]
    return {"n": len(x)}
