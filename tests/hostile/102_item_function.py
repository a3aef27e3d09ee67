"""Returns a function, which is not JSON.
expect: stopped
"""


def parse(page):
    return {"x": parse}
