"""Re-enables EXSLT re:test by passing namespaces positionally.
expect: refused
"""


def parse(page):
    hit = page.css("h1").xpath(
        "re:test(., '^(a|aa)+$')", {"re": "http://exslt.org/regular-expressions"}
    )
    return {"x": hit.get()}
