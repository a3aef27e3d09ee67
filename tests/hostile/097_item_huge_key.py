"""Returns a dict whose key holds two million characters.
expect: stopped
"""


def parse(page):
    return {"k" * 2000000: 1}
