"""Imports os inside parse(), hoping only module level is checked.
expect: refused
"""

from crawler.parsing import text


def parse(page):
    from os import system

    system("id")
    return {"x": text(page.css("h1"))}
