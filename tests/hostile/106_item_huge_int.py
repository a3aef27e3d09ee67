"""Returns an integer beyond 64 bits.
expect: stopped
"""


def parse(page):
    return {"x": int("9" * 30)}
