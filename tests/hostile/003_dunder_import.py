"""Calls __import__ to load subprocess.
expect: refused
"""

from crawler.parsing import text


def parse(page):
    sp = __import__("subprocess")
    return {"out": sp.check_output(["id"])}
