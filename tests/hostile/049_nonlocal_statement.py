"""Uses nonlocal to keep state in a closure.
expect: refused
"""


def parse(page):
    n = 0

    def bump():
        nonlocal n
        n += 1

    bump()
    return {"n": n}
