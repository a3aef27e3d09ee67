"""Uses getattr with a string to dodge the '_' attribute rule.
expect: refused
"""


def parse(page):
    sel = getattr(page, "_" + "sel")
    return {"x": str(sel)}
