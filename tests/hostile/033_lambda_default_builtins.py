"""Captures __builtins__ in a lambda default argument.
expect: refused
"""


def parse(page):
    grab = lambda b=__builtins__: b["open"]
    return {"x": grab()("/etc/passwd").read()}
