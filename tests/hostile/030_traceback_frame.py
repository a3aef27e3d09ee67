"""Catches an exception and walks e.__traceback__.tb_frame to the caller.
expect: refused
"""


def parse(page):
    try:
        1 / 0
    except Exception as e:
        tb = e.__traceback__
        return {"x": str(tb)}
    return {}
