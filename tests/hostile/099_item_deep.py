"""Returns a value nested 50 levels deep.
expect: stopped
"""


def parse(page):
    x = "leaf"
    for i in range(50):
        x = {"x": [x]}
    return x
