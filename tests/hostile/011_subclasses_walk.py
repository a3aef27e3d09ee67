"""Walks ().__class__.__base__.__subclasses__() to find a file class.
expect: refused
"""


def parse(page):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "FileIO":
            return {"x": str(cls("/etc/passwd"))}
    return {}
