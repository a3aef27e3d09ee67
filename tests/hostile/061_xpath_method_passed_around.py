"""Passes the bound xpath method to map() to smuggle a namespaces argument.
expect: refused
"""


def parse(page):
    ns = {"re": "http://exslt.org/regular-expressions"}
    found = list(map(page.css("h1").xpath, ["re:test(., '^(a|aa)+$')"], [ns]))
    return {"x": len(found)}
