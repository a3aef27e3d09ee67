"""Formats a float with a billion digits of precision.
expect: stopped
"""


def parse(page):
    return {"n": len("%.999999999f" % 1.5)}
