"""Tries to change a module-level constant tuple in place.
expect: stopped
"""


LIMITS = (1, 2, 3)


def parse(page):
    LIMITS[0] = 99
    return {"x": LIMITS[0]}
