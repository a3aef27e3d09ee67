"""Reads __builtins__ to get open().
expect: refused
"""


def parse(page):
    table = __builtins__
    return {"x": str(table["open"]("/etc/passwd"))}
