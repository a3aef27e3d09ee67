"""Raises an error whose message is a huge list (its repr is a memory bomb).
expect: stopped
"""


def parse(page):
    raise ValueError(["x" * 1000] * 10000000)
