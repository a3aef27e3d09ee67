"""Defines a coroutine.
expect: refused
"""


async def helper():
    return 1


def parse(page):
    return {}
