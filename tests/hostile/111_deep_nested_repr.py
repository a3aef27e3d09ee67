"""Builds a list nested a million deep and takes its repr (C recursion).
expect: stopped
"""


def parse(page):
    x = []
    for i in range(1000000):
        x = [x]
    return {"x": str(x)}
