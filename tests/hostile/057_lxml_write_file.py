"""Writes a file through page.selector.root.getroottree().write().
expect: refused
"""


def parse(page):
    page.selector.root.getroottree().write("/tmp/scrapec-pwned.html")
    return {}
