"""Spins at load time in a function annotation.
expect: stopped
"""


def parse(page: [i for i in range(10000000) for j in range(10000000)]):
    return {}
