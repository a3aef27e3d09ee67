"""Uses str.format field syntax to read attributes: '{0.__class__}'.
expect: refused
"""


def parse(page):
    return {"x": "{0.__class__.__init__.__globals__}".format(page)}
