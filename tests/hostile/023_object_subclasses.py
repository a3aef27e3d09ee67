"""Uses object to list every loaded class.
expect: refused
"""


def parse(page):
    return {"x": str(object)}
