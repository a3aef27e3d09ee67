"""Reads /etc/passwd with XPath document().
expect: stopped
"""


def parse(page):
    return {"x": page.xpath("document('/etc/passwd')").getall()}
