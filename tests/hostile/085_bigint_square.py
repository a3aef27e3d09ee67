"""Squares an integer repeatedly (a quadratic C loop).
expect: stopped
"""


def parse(page):
    x = 7
    for i in range(64):
        x = x * x
    return {"n": x % 10}
