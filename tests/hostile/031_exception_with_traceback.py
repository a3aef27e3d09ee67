"""Uses an exception's with_traceback/args attributes to reach frames.
expect: refused
"""


def parse(page):
    try:
        1 / 0
    except Exception as e:
        return {"x": str(e.with_traceback(None))}
    return {}
