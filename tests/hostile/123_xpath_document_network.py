"""Fetches a URL with XPath document().
expect: stopped
"""


def parse(page):
    return {"x": page.xpath("document('http://127.0.0.1:47999/x')").getall()}
