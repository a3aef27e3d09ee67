"""Swallows errors with except Exception in a loop, hoping to outlive the alarm.
expect: stopped
"""


def spin():
    for i in range(10000000):
        for j in range(10000000):
            pass


def parse(page):
    for attempt in range(1000000):
        try:
            spin()
        except Exception:
            continue
    return {}
