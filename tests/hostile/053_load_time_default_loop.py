"""Runs sum(range(10**15)) in C at load time through a default value.
expect: refused
"""


def helper(x=sum(range(1000000000000000))):
    return x


def parse(page):
    return {}
