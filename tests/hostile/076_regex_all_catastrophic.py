"""Runs a catastrophic pattern through regex_all (time-out inside).
expect: stopped
or returns: {'timed_out': True}
"""

from crawler.parsing import regex_all


def parse(page):
    found = regex_all("(a|aa)+$", ("a" * 60 + "! ") * 20)
    return {"timed_out": found == []}
