"""Returns a list instead of a dict.
expect: stopped
"""


def parse(page):
    return [page.url]
