"""Returns an item of two million characters.
expect: stopped
"""


def parse(page):
    return {"x": "y" * 2000000}
