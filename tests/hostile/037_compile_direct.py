"""Calls compile to build a code object.
expect: refused
"""


def parse(page):
    code = compile("1", "x", "eval")
    return {"x": str(code)}
