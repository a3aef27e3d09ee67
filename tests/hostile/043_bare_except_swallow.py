"""Swallows the time-out with a bare except in a loop.
expect: refused
"""


def parse(page):
    for i in range(1000000):
        try:
            for j in range(10000000):
                pass
        except:
            pass
    return {}
