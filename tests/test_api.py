from __future__ import annotations

import subprocess
import sys

import crawler


def test_all_is_sorted_and_honest() -> None:
    assert crawler.__all__ == sorted(crawler.__all__)
    for name in crawler.__all__:
        assert getattr(crawler, name) is not None


def test_hot_path_imports_nothing_heavy() -> None:
    code = (
        "import sys, crawler, crawler.cli, crawler.extract\n"
        "heavy = [m for m in ('litellm', 'scrapy', 'playwright', 'crawler.compiler') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
