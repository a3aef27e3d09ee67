"""Calls exec on a string.
expect: refused
"""


def parse(page):
    exec("import os; os.system('id')")
    return {}
