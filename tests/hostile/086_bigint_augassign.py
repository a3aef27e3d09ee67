"""Squares an integer repeatedly with *=.
expect: stopped
"""


def parse(page):
    x = 3
    for i in range(64):
        x *= x
    return {"n": x % 10}
