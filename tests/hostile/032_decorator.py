"""Uses a decorator to run code at load time.
expect: refused
"""

from crawler.parsing import text


@text
def parse(page):
    return {}
