"""Returns a set, which is not JSON.
expect: stopped
"""


def parse(page):
    return {"x": {1, 2, 3}}
