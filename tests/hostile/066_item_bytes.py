"""Returns bytes, which are not JSON.
expect: refused
"""


def parse(page):
    return {"x": bytes(10)}
