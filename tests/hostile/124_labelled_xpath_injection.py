"""Injects XPath through the label of labelled() to read a file.
expect: stopped
"""

from crawler.parsing import labelled


def parse(page):
    found = labelled(page, 'x"] | document("/etc/passwd") | //*["') or ""
    if "root" in found or "canary" in found.lower():
        return {"leak": found}
    raise ValueError("the label stayed a literal")
