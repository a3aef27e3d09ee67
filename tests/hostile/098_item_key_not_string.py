"""Returns a dict with a tuple key.
expect: stopped
"""


def parse(page):
    return {"x": {(1, 2): "y"}}
