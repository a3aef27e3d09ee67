"""Lists every exception type it can name, hoping one catches the time-out.
expect: stopped
"""


def parse(page):
    for attempt in range(1000000):
        try:
            for i in range(10000000):
                pass
        except (Exception, ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
    return {}
