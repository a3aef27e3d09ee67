"""Calls the time-limited regex helper over and over to add up its time-outs.
expect: stopped
"""

from crawler.parsing import regex


def parse(page):
    hits = 0
    for i in range(1000):
        if regex("^(a|aa)+$", "a" * 60 + "!"):
            hits += 1
    return {"hits": hits}
