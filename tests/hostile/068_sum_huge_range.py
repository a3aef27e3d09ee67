"""Runs sum(range(10**15)) in C, out of reach of the alarm.
expect: stopped
"""


def parse(page):
    return {"n": sum(range(1000000000000000))}
