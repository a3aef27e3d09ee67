"""Imports the sandbox itself to loosen the limits.
expect: refused
"""

from crawler import sandbox


def parse(page):
    sandbox.MAX_REPEAT = 10**12
    return {}
