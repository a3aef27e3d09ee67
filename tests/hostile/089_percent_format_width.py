"""Formats with '%0999999999d' to allocate a gigabyte.
expect: stopped
"""


def parse(page):
    return {"n": len("%0999999999d" % 1)}
