"""Loops forever with while True.
expect: refused
"""


def parse(page):
    while True:
        pass
