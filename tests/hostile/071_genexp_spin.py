"""Spins inside a generator expression consumed by sum().
expect: stopped
"""


def parse(page):
    return {"n": sum(1 for i in range(10000000) for j in range(10000000))}
