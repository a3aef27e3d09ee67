"""Uses setattr to change the page for the next parser.
expect: refused
"""


def parse(page):
    setattr(page, "url", "http://evil.test/")
    return {}
