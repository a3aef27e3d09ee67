"""Catches BaseException to swallow the time-out.
expect: refused
"""


def parse(page):
    for i in range(1000000):
        try:
            for j in range(10000000):
                pass
        except BaseException:
            pass
    return {}
