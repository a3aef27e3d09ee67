"""Formats with f'{x:>999999999}' to allocate a gigabyte.
expect: stopped
"""


def parse(page):
    x = 1
    return {"n": len(f"{x:>999999999}")}
