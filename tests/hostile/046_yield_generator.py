"""Defines a generator function, whose frame outlives the call.
expect: refused
"""


def gen():
    yield 1


def parse(page):
    return {"x": list(gen())}
