"""Parsers in worker processes: a crash, a hang, a memory bomb or a load-time trap costs one page,
never the caller; the worker has no network, no filesystem and no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, product_page, write_fixtures

from crawler.compiler import compile_template
from crawler.exceptions import PolicyViolation
from crawler.extract import Extractor
from crawler.fixtures import load_fixtures
from crawler.gate import run_gate
from crawler.registry import Registry
from crawler.sandbox import check_source
from crawler.schemas import load_schema
from crawler.workers import DENIED_SYSCALLS, WorkerPool

T = "shop.test/product"

GOOD = """from crawler.parsing import Page, text


def parse(page: Page) -> dict:
    return {"name": text(page.css("h1"))}
"""

SEGFAULT = """from crawler.parsing import Page


def parse(page: Page) -> dict:
    x = ()
    for i in range(400000):
        x = (x,)
    return {"n": {x: 1}.get(x)}
"""

SORT_BOMB = """from crawler.parsing import Page


def parse(page: Page) -> dict:
    values = list(range(9000000))
    values.sort(key=str)
    return {"n": str(len(values))}
"""

MEMORY = """from crawler.parsing import Page


def parse(page: Page) -> dict:
    blocks = []
    for i in range(100000):
        blocks.append("x" * 1000000)
    return {"n": str(len(blocks))}
"""

LOAD_TIME_HANG = """from crawler.parsing import Page


def parse(page: Page, hang: int = 0) -> dict:
    return {"name": "x"}


def later(x: sum(range(100000000)) = 0) -> None:
    return None
"""


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(1)
    yield workers
    workers.close()


def test_a_segfault_costs_one_page(pool: WorkerPool) -> None:
    assert pool.run(GOOD, "<h1>one</h1>", "http://x.test/").item == {"name": "one"}
    crashed = pool.run(SEGFAULT, "<p/>", "http://x.test/")
    assert crashed.item is None and crashed.failure is not None
    assert "SIGSEGV" in crashed.failure or "killed" in crashed.failure, crashed.failure
    assert pool.replaced == 1
    assert pool.run(GOOD, "<h1>two</h1>", "http://x.test/").item == {"name": "two"}


def test_a_long_c_call_is_bounded_by_the_parent(pool: WorkerPool) -> None:
    start = time.monotonic()
    result = pool.run(SORT_BOMB, "<p/>", "http://x.test/", time_limit=0.5)
    assert result.item is None and result.failure is not None
    assert time.monotonic() - start < 4.0
    assert pool.run(GOOD, "<h1>next</h1>", "http://x.test/").item == {"name": "next"}


def test_memory_is_bounded_per_worker(pool: WorkerPool) -> None:
    result = pool.run(MEMORY, "<p/>", "http://x.test/")
    assert result.item is None and result.failure is not None
    assert any(w in result.failure for w in ("memory", "time", "killed")), result.failure
    assert pool.run(GOOD, "<h1>ok</h1>", "http://x.test/").item == {"name": "ok"}


def test_a_worker_grown_past_its_memory_limit_is_replaced() -> None:
    small = WorkerPool(1, memory_limit=16 * 1024 * 1024)  # below any worker's resident size
    try:
        assert small.run(GOOD, "<h1>a</h1>", "u").item == {"name": "a"}
        assert small.replaced == 1 and not small._idle
        assert small.run(GOOD, "<h1>b</h1>", "u").item == {"name": "b"}
        assert small.replaced == 2
    finally:
        small.close()


def test_a_trap_at_load_time_costs_a_worker_not_the_gate(tmp_path: Path, pool: WorkerPool) -> None:
    fixtures = load_fixtures(write_fixtures(tmp_path / "fx", T, range(1, 3)), T)
    start = time.monotonic()
    report = run_gate(LOAD_TIME_HANG, fixtures, load_schema("product"), T, pool=pool)
    assert not report.passed
    assert time.monotonic() - start < 15.0
    assert pool.run(GOOD, "<h1>fine</h1>", "http://x.test/").item == {"name": "fine"}


def test_schema_and_grounding_run_in_the_worker(pool: WorkerPool) -> None:
    schema = load_schema("product")
    made_up = GOOD.replace('text(page.css("h1"))', '"Not on the page"')
    result = pool.run(made_up, "<h1>Real</h1>", "http://x.test/", schema=schema)
    assert result.item == {"name": "Not on the page"}
    assert any("does not occur in the page" in e for e in result.errors)
    wrong_type = GOOD.replace('text(page.css("h1"))', "12")
    result = pool.run(wrong_type, "<h1>12</h1>", "http://x.test/", schema=schema)
    assert any(e.startswith("name:") for e in result.errors), result.errors


def test_policy_refusals_come_back_as_policy(pool: WorkerPool) -> None:
    result = pool.run("import os\n\ndef parse(page):\n    return {}\n", "<p/>", "u")
    assert result.item is None and result.policy and "import" in result.policy


def test_the_worker_has_no_secrets(pool: WorkerPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-for-the-test")
    monkeypatch.setenv("SCRAPEC_LLM_API_KEY", "sk-other-secret")
    other = WorkerPool(1)
    try:
        assert other.run(GOOD, "<h1>x</h1>", "u").item == {"name": "x"}
        (worker,) = other._idle
        environ = Path(f"/proc/{worker.proc.pid}/environ").read_bytes()
        assert b"sk-secret" not in environ and b"sk-other" not in environ
    finally:
        other.close()


LOCKED = """
import errno, socket, sys
from crawler.workers import _lock_down
sandboxed = _lock_down()
refused = []
for name, attempt in [
    ("open", lambda: open("/etc/hostname", "rb")),
    ("write", lambda: open("/tmp/scrapec-worker-test", "wb")),
    ("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
    ("fork", lambda: __import__("os").fork()),
]:
    try:
        attempt()
    except OSError as exc:
        refused.append(name)
print(sandboxed, ",".join(refused))
"""


def test_the_worker_lock_down_refuses_files_sockets_and_processes() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LOCKED], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    sandboxed, refused = proc.stdout.split()
    assert refused.split(",") == ["open", "write", "socket", "fork"]
    assert sandboxed == "True", "libseccomp is in force (pyseccomp over libseccomp.so.2)"
    assert {"socket", "connect", "openat", "execve", "clone"} <= set(DENIED_SYSCALLS)


def test_deep_nesting_is_refused_by_the_policy_at_any_stack_depth() -> None:
    for terms in (320, 3000):
        source = GOOD.replace('text(page.css("h1"))', " + ".join(['"a"'] * terms))
        with pytest.raises(PolicyViolation, match="nested"):
            check_source(source)


def test_extract_survives_a_crashing_parser(tmp_path: Path) -> None:
    """A published parser that crashes on some pages: the caller gets a failed extraction."""
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    registry = Registry(tmp_path / "reg")
    info = json.loads((tmp_path / "reg" / T / "parser.json").read_text())
    source = registry.source(T)
    hostile = source.replace(
        "def parse(page: Page) -> dict:",
        "def parse(page: Page) -> dict:\n"
        "    x = ()\n"
        "    for i in range(400000 if 'crash' in page.url else 0):\n"
        "        x = (x,)\n"
        "    y = {x: 1}\n",
    )
    registry.publish(T, hostile, schema="product", generator="manual", reason="test")
    assert json.loads((tmp_path / "reg" / T / "parser.json").read_text())["active"] == 2
    assert info["active"] == 1
    extractor = Extractor(registry)
    crashed = extractor.extract_html(product_page(5), "http://shop.test/p/crash.html", T)
    assert not crashed.valid and crashed.item is None
    assert any("SIGSEGV" in e or "killed" in e for e in crashed.errors), crashed.errors
    fine = extractor.extract_html(product_page(6), "http://shop.test/p/6.html", T)
    assert fine.valid and fine.item and fine.item["name"] == "Widget 6 Deluxe"
    in_process = Extractor(registry, in_process=True)
    same = in_process.extract_html(product_page(6), "http://shop.test/p/6.html", T)
    assert same.item == fine.item, "the in-process path gives the same item when asked for"
    assert os.getpid() > 0  # this process is alive
