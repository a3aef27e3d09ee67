"""Returns NaN, which is not JSON.
expect: stopped
"""


def parse(page):
    return {"x": float("nan")}
