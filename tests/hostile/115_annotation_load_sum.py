"""Runs sum(range(10**15)) at load time in a return annotation.
expect: stopped
"""


def parse(page) -> sum(range(1000000000000000)):
    return {}
