"""Grows a string with str.replace until memory runs out.
expect: stopped
"""


def parse(page):
    s = "a" * 1000
    for i in range(10):
        s = s.replace("a", s)
    return {"n": len(s)}
