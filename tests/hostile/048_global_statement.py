"""Uses a global statement to keep state between pages.
expect: refused
"""


COUNT = 0


def parse(page):
    global COUNT
    COUNT += 1
    return {"n": COUNT}
