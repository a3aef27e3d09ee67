"""Recurses through a self-applied lambda.
expect: stopped
"""


def parse(page):
    f = lambda g: g(g)
    return {"x": f(f)}
