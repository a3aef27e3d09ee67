"""Calls locals() to read and change the parser's frame.
expect: refused
"""


def parse(page):
    frame = locals()
    frame["page"] = None
    return {}
