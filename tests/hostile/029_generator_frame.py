"""Takes gi_frame of a generator expression to walk the stack with f_back.
expect: refused
"""


def parse(page):
    gen = (x for x in [1])
    frame = gen.gi_frame
    return {"x": str(frame)}
