"""Uses EXSLT re:test with the default namespaces (removed from pages).
expect: stopped
"""


def parse(page):
    return {"x": page.xpath("//h1[re:test(., '^(a|aa)+$')]").get()}
