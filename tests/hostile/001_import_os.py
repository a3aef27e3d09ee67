"""Imports os directly.
expect: refused
"""

import os


def parse(page):
    return {"cwd": os.getcwd()}
