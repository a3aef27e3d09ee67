"""Hides an attribute read in a nested f-string format spec.
expect: refused
"""


def parse(page):
    return {"x": f"{1:{page._sel}}"}
