"""Computes 10 ** 10 ** 9, a C loop the time limit cannot stop.
expect: refused
"""


def parse(page):
    return {"x": 10**10**9 % 7}
