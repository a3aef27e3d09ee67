"""Mutates a selection's attrib dict, then fails unless the page changed.
expect: stopped
"""


def parse(page):
    page.css("h1").attrib.update({"class": "PWNED"})
    if page.css("h1").attrib.get("class") != "PWNED":
        raise ValueError("attrib is a copy: the page tree did not change")
    return {"pwned": True}
