"""Keeps state between pages in a mutable default argument.
expect: refused
"""


def remember(url, seen=[]):
    seen.append(url)
    return len(seen)


def parse(page):
    return {"n": remember(page.url)}
