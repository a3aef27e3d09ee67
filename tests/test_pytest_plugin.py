from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import write_fixtures

from crawler.compiler import compile_template

T = "shop.test/product"


def run_pytest(where: Path) -> subprocess.CompletedProcess[str]:
    (where / "pytest.ini").write_text(
        "[pytest]\nscrapec_registry = reg\naddopts = -p no:cacheprovider\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "fx", "-rs"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fixtures_become_one_test_per_field(tmp_path: Path) -> None:
    write_fixtures(tmp_path / "fx", T, range(1, 3))
    compile_template(
        tmp_path / "fx", "product", tmp_path / "reg", generator="induce", progress=None
    )
    proc = run_pytest(tmp_path)
    fields = len(json.loads((tmp_path / "fx" / T / "case-01" / "expected.json").read_text()))
    assert proc.returncode == 0, proc.stdout
    assert (
        f"{2 * (fields + 2)} passed" in proc.stdout
    )  # per case: each field, no-extra-fields, checks

    expected = tmp_path / "fx" / T / "case-02" / "expected.json"
    item = json.loads(expected.read_text())
    item["brand"] = "Other"
    expected.write_text(json.dumps(item))
    proc = run_pytest(tmp_path)
    assert proc.returncode == 1
    assert "1 failed" in proc.stdout
    assert "brand: expected 'Other', got 'Acme'" in proc.stdout


def test_template_without_parser_is_skipped_with_reason(tmp_path: Path) -> None:
    write_fixtures(tmp_path / "fx", T, range(1, 2))
    (tmp_path / "reg").mkdir()
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "skipped" in proc.stdout and "no such template" in proc.stdout
