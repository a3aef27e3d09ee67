"""Defines a class whose __init_subclass__/__del__ hooks would run hidden code.
expect: refused
"""


class Evil:
    def __del__(self):
        pass


def parse(page):
    return {"x": str(Evil())}
