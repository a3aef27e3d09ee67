"""Imports a function from os.
expect: refused
"""

from os import system


def parse(page):
    system("touch /tmp/scrapec-pwned")
    return {}
