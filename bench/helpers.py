"""Value helpers against well-kept libraries: `python bench/helpers.py`.

Prices: the project's own ``number`` (what ``price`` was) vs price-parser (what ``price`` is now).
Dates: the project's own patterns alone vs dateparser alone vs ``date`` (ISO and the project's
patterns first, dateparser for the rest). Prints the share of right answers on a labelled set of
strings as real pages write them and the microseconds per call.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler import parsing  # noqa: E402

PRICES: list[tuple[str, float | None]] = [
    ("$1,299.00", 1299.0),
    ("£12.50", 12.5),
    ("1.299 kr", 1299.0),
    ("2.499,-", 2499.0),
    ("R$ 1.234,56", 1234.56),
    ("1 299 €", 1299.0),
    ("$ 24,250", 24250.0),
    ("€1.234", 1234.0),
    ("12,50 €", 12.5),
    ("US$ 12", 12.0),
    ("Price: $36,050", 36050.0),
    ("CHF 1'250.50", 1250.5),
    ("¥ 12,800", 12800.0),
    ("From $9.99", 9.99),
    ("Out of stock", None),
    ("Free", None),
    ("₹ 1,23,456", 123456.0),
    ("19.99 USD", 19.99),
    ("1.234.567,89 €", 1234567.89),
    ("EUR 7,-", 7.0),
]


def _days_ago(n: int) -> str:
    return (datetime.date.today() - datetime.timedelta(days=n)).isoformat()


DATES: list[tuple[str, str | None]] = [
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05T10:20:00Z", "2024-03-05T10:20:00Z"),
    ("March 5, 2024", "2024-03-05"),
    ("5 March 2024", "2024-03-05"),
    ("Posted: December 6, 2010", "2010-12-06"),
    ("Date Posted: 05/18/2011", "2011-05-18"),
    ("5. März 2024", "2024-03-05"),
    ("12 de marzo de 2024", "2024-03-12"),
    ("18 mai 2023", "2023-05-18"),
    ("3 dicembre 2022", "2022-12-03"),
    ("2 days ago", _days_ago(2)),
    ("hace 3 días", _days_ago(3)),
    ("vor 2 Tagen", _days_ago(2)),
    ("Jun 2010", "2010-06-01"),
    ("Sat, 14 Oct 2023", "2023-10-14"),
    ("N/A", None),
    ("Coming soon", None),
    ("2023年10月14日", "2023-10-14"),
]


def ours_date(value: str) -> str | None:
    """The project's own patterns, without the dateparser fallback."""
    saved = parsing._dateparser
    parsing._dateparser = lambda _s, _d: None  # type: ignore[assignment]
    try:
        return parsing.date(value)
    finally:
        parsing._dateparser = saved  # type: ignore[assignment]


def dateparser_only(value: str) -> str | None:
    import dateparser

    found = dateparser.parse(
        value, settings={"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
    )
    if found is None:
        return None
    if len(value) > 10 and value[10] == "T":
        return found.strftime("%Y-%m-%dT%H:%M:%SZ")
    return found.date().isoformat()


def measure(
    name: str,
    fn: Callable[[str], Any],
    cases: list[tuple[str, Any]],
    same: Callable[[Any, Any], bool],
) -> None:
    fn(cases[0][0])  # loading data files is not per-call work
    right, wrong = 0, []
    start = time.perf_counter()
    repeat = 3
    for _ in range(repeat):
        for value, want in cases:
            got = fn(value)
            if _ == 0:
                if same(got, want):
                    right += 1
                else:
                    wrong.append(f"{value!r} -> {got!r}")
    per_call = (time.perf_counter() - start) / (repeat * len(cases)) * 1e6
    print(f"  {name:28} right {right:2}/{len(cases)}  {per_call:8.1f} us/call")
    for line in wrong:
        print(f"      wrong: {line}")


def main() -> int:
    def same_number(a: Any, b: Any) -> bool:
        return (a is None and b is None) or (
            a is not None and b is not None and abs(float(a) - b) < 1e-9
        )

    print("prices")
    measure("number() (ours, was price)", parsing.number, PRICES, same_number)
    measure("price() (price-parser)", parsing.price, PRICES, same_number)
    print("dates")
    measure("our patterns only", ours_date, DATES, lambda a, b: a == b)
    measure("dateparser only", dateparser_only, DATES, lambda a, b: a == b)
    measure("date() (ours, then dateparser)", parsing.date, DATES, lambda a, b: a == b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
