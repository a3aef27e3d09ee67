"""Calls open() to read /etc/passwd.
expect: refused
"""


def parse(page):
    fh = open("/etc/passwd")
    return {"x": str(fh)}
