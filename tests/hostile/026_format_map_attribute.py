"""Uses str.format_map field syntax to read attributes.
expect: refused
"""


def parse(page):
    return {"x": "{p._sel}".format_map({"p": page})}
