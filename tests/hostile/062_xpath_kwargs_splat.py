"""Smuggles namespaces into xpath() through a ** splat.
expect: refused
"""


def parse(page):
    extra = {"namespaces": {"re": "http://exslt.org/regular-expressions"}}
    return {"x": page.css("h1").xpath("re:test(., 'a')", **extra).get()}
