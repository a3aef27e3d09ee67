"""Star-imports crawler.parsing to get its private names.
expect: refused
"""

from crawler.parsing import *


def parse(page):
    return {"x": text(page.css("h1"))}
