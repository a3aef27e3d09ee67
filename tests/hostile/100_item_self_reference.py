"""Returns a list that contains itself.
expect: stopped
"""


def parse(page):
    loop = []
    loop.append(loop)
    return {"x": loop}
