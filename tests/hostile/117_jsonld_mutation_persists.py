"""Mutates page.jsonld() objects, then fails unless the change is seen by the next caller.
expect: stopped
"""


def parse(page):
    for obj in page.jsonld():
        obj["name"] = "PWNED"
        obj.pop("@type")
    seen = [obj.get("name") for obj in page.jsonld()]
    if "PWNED" not in seen:
        raise ValueError("jsonld is a fresh copy per call: mutation did not stick")
    return {"pwned": True}
