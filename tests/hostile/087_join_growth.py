"""Grows a string with str.join until memory runs out.
expect: stopped
"""


def parse(page):
    s = "ab"
    for i in range(64):
        s = s.join([s, s, s])
    return {"n": len(s)}
