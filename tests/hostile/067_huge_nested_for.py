"""Spins in nested for loops over big ranges.
expect: stopped
"""


def parse(page):
    total = 0
    for i in range(10000000):
        for j in range(10000000):
            total += 1
    return {"n": total}
