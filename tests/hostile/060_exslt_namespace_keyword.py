"""Re-enables EXSLT re:test with namespaces= on a selection.
expect: refused
"""


def parse(page):
    ns = {"re": "http://exslt.org/regular-expressions"}
    return {"x": page.css("h1").xpath("re:test(., '^(a|aa)+$')", namespaces=ns).get()}
