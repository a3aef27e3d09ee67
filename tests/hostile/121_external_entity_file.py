"""Builds a page whose DTD entity points at a local file, then reads it.
expect: stopped
"""

from crawler.parsing import Page, text


def parse(page):
    doc = Page('<!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]><p>&e;</p>')
    found = text(doc.css("p")) or ""
    if "root" in found or "canary" in found.lower():
        return {"leak": found}
    raise ValueError("the entity was not resolved")
