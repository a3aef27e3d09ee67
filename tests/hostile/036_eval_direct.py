"""Calls eval on a string.
expect: refused
"""


def parse(page):
    return {"x": eval("__import__('os').getcwd()")}
