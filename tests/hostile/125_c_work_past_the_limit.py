"""Spends seconds in one C call (list comparisons), past the alarm, then returns at once.
expect: stopped
"""


def parse(page):
    big = [0] * 1000000
    other = [0] * 999999 + [1]
    rows = [big] * 3000
    return {"found": other in rows}
