"""Calls parsel .re(), which runs Python re with no time-out.
expect: refused
"""


def parse(page):
    return {"x": page.css("h1::text").re("^(a|aa)+$")}
