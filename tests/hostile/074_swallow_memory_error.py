"""Catches MemoryError with except Exception and keeps allocating.
expect: stopped
"""


def parse(page):
    keep = []
    for attempt in range(10000000):
        try:
            keep.append("x" * 10000000)
        except Exception:
            keep = []
    return {}
