"""Runs a catastrophic pattern through the regex helper (time-out inside).
expect: stopped
or returns: {'timed_out': True}
"""

from crawler.parsing import regex


def parse(page):
    found = regex("^(a|aa)+$", "a" * 60 + "!")
    return {"timed_out": found is None}
