"""Returns infinity, which is not JSON.
expect: stopped
"""


def parse(page):
    return {"x": float("inf")}
