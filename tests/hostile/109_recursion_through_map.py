"""Recurses through C (map), hoping to overflow the C stack.
expect: stopped
"""


def down(x):
    return list(map(down, [x]))


def parse(page):
    return {"x": down(1)}
