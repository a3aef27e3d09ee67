"""Doubles a list in place with extend().
expect: stopped
"""


def parse(page):
    x = ["abc"]
    for i in range(64):
        x.extend(x)
    return {"n": len(x)}
