"""Returns a list of two million None values (no characters, many items).
expect: stopped
"""


def parse(page):
    return {"x": [None] * 2000000}
