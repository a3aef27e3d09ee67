"""Nests try/finally recursively so each alarm restarts two more spins.
expect: refused
"""


def spin():
    for i in range(10000000):
        for j in range(10000000):
            pass


def grow(depth):
    try:
        spin()
    finally:
        if depth:
            try:
                grow(depth - 1)
            finally:
                grow(depth - 1)


def parse(page):
    grow(40)
    return {}
