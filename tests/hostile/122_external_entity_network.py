"""Builds a page whose DTD and entity point at a local TCP listener.
expect: stopped
"""

from crawler.parsing import Page, text


def parse(page):
    doc = Page(
        '<!DOCTYPE p SYSTEM "http://127.0.0.1:47999/dtd" [<!ENTITY e SYSTEM "http://127.0.0.1:47999/e">]>'
        "<p>&e;</p>"
    )
    found = text(doc.css("p")) or ""
    if found and found != "&e;":
        return {"fetched": found}
    raise ValueError("nothing was fetched")
