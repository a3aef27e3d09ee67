"""Uses a relative import to reach the sandbox module.
expect: refused
"""

from . import sandbox


def parse(page):
    return {"x": str(sandbox)}
