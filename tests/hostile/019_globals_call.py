"""Calls globals() to reach the builtins table and __import__.
expect: refused
"""


def parse(page):
    g = globals()
    return {"x": str(g)}
