"""Returns the page object itself.
expect: stopped
"""


def parse(page):
    return {"x": page}
