"""Uses a with statement (context managers run hidden __exit__ code).
expect: refused
"""


def parse(page):
    with open("/etc/passwd") as fh:
        return {"x": fh.read()}
