"""Starts a child process.
expect: refused
"""

from subprocess import Popen


def parse(page):
    Popen(["touch", "/tmp/scrapec-pwned"])
    return {}
