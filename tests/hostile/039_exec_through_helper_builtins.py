"""Reaches exec through a helper function's __builtins__ dict.
expect: refused
"""

from crawler.parsing import clean


def parse(page):
    clean.__builtins__["exec"]("import os")
    return {}
