"""Bad input through the CLI: every failure is one line on stderr naming the input, with the
documented exit code (README, "Exit codes"), never a traceback and never a hang.

The cases run ``python -m crawler.cli`` in a prepared folder (``world``) holding a compiled
registry, fixtures and one bad file of every kind: missing, empty, binary, invalid JSON, JSON of the
wrong type, a FIFO, ``/dev/zero``, a folder, a (sparse) huge file, non-UTF-8 bytes, pages declaring
codecs that are not text encodings, names with terminal escapes and newlines.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_page, write_fixtures

from crawler.compiler import compile_template
from crawler.extract import MAX_PAGE_BYTES

T = "shop.test/product"
URL = "http://shop.test/p/5.html"
ESC = "\x1b[31m"  # a terminal escape: red
FORGED = "\nscrapec: all good"  # a newline that would forge a second log line
CODECS = [
    "unicode_escape",
    "raw_unicode_escape",
    "hex",
    "rot13",
    "zlib",
    "base64",
    "uu",
    "bz2",
    "quopri",
    "punycode",
    "idna",
    "utf-7",
    "undefined",
    "cp500",
    "utf-32",
    "no-such-charset",
]


def run(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process with 1.5 GB of address space (so a runaway read fails fast)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        cwd=cwd,
        env=env,
        timeout=timeout,
        preexec_fn=limit,
    )


def _registry_copy(world: Path, name: str) -> Path:
    target = world / name
    shutil.copytree(world / "reg", target, symlinks=True)
    return target / T


def _fixtures_copy(world: Path, name: str) -> Path:
    target = world / name
    shutil.copytree(world / "fx", target, symlinks=True)
    return target / T / "case-01"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("world")
    write_fixtures(w / "fx", T, range(1, 4))
    compile_template(w / "fx", "product", w / "reg", generator="induce", progress=None)
    page = product_page(5)
    (w / "page.html").write_text(page, "utf-8")
    (w / "empty.html").write_bytes(b"")
    (w / "blank.html").write_bytes(b"  \n\t\n")
    (w / "binary.html").write_bytes(bytes(range(256)) * 64)
    (w / "nonutf8.html").write_bytes(
        page.replace("<title>", "<title>\xe9t\xe9 ").encode("latin-1") + b"\xff\xfe\x80"
    )
    for codec in CODECS:
        (w / f"charset-{codec}.html").write_text(
            page.replace("<head>", f'<head><meta charset="{codec}">'), "utf-8"
        )
    (w / "dir.html").mkdir()
    os.mkfifo(w / "fifo.html")
    os.mkfifo(w / "fifo.py")
    os.mkfifo(w / "fifo.json")
    (w / "zero.html").symlink_to("/dev/zero")
    (w / "zero.json").symlink_to("/dev/zero")
    for name in ("huge.html", "huge.json", "huge.py"):
        with open(w / name, "wb") as fh:  # sparse: no disk used
            fh.write(b"<html>" if name.endswith(".html") else b"{")
            fh.truncate(MAX_PAGE_BYTES + 2**20)
    (w / f"esc{ESC}name.html").write_bytes(b"\x00\x01\x02" * 100)
    (w / "bad.json").write_text("{not json")
    (w / "list.json").write_text("[1, 2]")
    (w / "latin.json").write_bytes(b'{"type": "object", "title": "caf\xe9"}')
    (w / "empty.json").write_text("")
    (w / "notschema.json").write_text('{"type": "object", "properties": {"a": {"type": 5}}}')
    (w / "arrayschema.json").write_text('{"type": "array"}')
    (w / "binary.py").write_bytes(bytes(range(256)))
    (w / "nonutf8.py").write_bytes(b"# caf\xe9\ndef parse(page):\n    return {}\n")
    (w / "syntax.py").write_text("def parse(page:\n")
    (w / "afile").write_text("not a folder")
    # a page with a meta.json beside it that is unusable
    for name, content in (
        ("meta-bad", "{oops"),
        ("meta-list", "[]"),
        ("meta-url-int", '{"url": 5}'),
    ):
        (w / name).mkdir()
        (w / name / "page.html").write_text(page)
        (w / name / "meta.json").write_text(content)
    (w / "meta-fifo").mkdir()
    (w / "meta-fifo" / "page.html").write_text(page)
    os.mkfifo(w / "meta-fifo" / "meta.json")
    # registries broken in one way each
    (_registry_copy(w, "reg-corrupt") / "parser.json").write_text("{")
    (_registry_copy(w, "reg-list") / "parser.json").write_text("[]")
    folder = _registry_copy(w, "reg-fifo")
    (folder / "parser.json").unlink()
    os.mkfifo(folder / "parser.json")
    folder = _registry_copy(w, "reg-zero")
    (folder / "parser.json").unlink()
    (folder / "parser.json").symlink_to("/dev/zero")
    folder = _registry_copy(w, "reg-fifo-py")
    (folder / "v1.py").unlink()
    os.mkfifo(folder / "v1.py")
    folder = _registry_copy(w, "reg-edited")
    (folder / "v1.py").write_text((folder / "v1.py").read_text() + "\n# edited\n")
    folder = _registry_copy(w, "reg-nopy")
    (folder / "v1.py").unlink()
    folder = _registry_copy(w, "reg-regex")
    data = json.loads((folder / "parser.json").read_text())
    (folder / "parser.json").write_text(json.dumps(dict(data, url_pattern="([unclosed")))
    folder = _registry_copy(w, "reg-active")
    (folder / "parser.json").write_text(json.dumps(dict(data, active="1")))
    folder = _registry_copy(w, "reg-versions")
    (folder / "parser.json").write_text(json.dumps(dict(data, versions=[1])))
    # fixtures broken in one way each
    (_fixtures_copy(w, "fx-expected-bad") / "expected.json").write_text("{")
    (_fixtures_copy(w, "fx-expected-list") / "expected.json").write_text("[]")
    for name, meta in (
        ("fx-meta-url", {"url": 5}),
        ("fx-meta-template", {"url": URL, "template": ["x"]}),
        ("fx-meta-schema", {"url": URL, "schema": 3}),
        ("fx-meta-partial", {"url": URL, "partial": "no"}),
    ):
        (_fixtures_copy(w, name) / "meta.json").write_text(json.dumps(meta))
    (_fixtures_copy(w, "fx-meta-bad") / "meta.json").write_text("{")
    for name, file in (
        ("fx-fifo-page", "page.html"),
        ("fx-fifo-expected", "expected.json"),
        ("fx-fifo-meta", "meta.json"),
    ):
        case = _fixtures_copy(w, name)
        (case / file).unlink()
        os.mkfifo(case / file)
    case = _fixtures_copy(w, "fx-zero-meta")
    (case / "meta.json").unlink()
    (case / "meta.json").symlink_to("/dev/zero")
    case = _fixtures_copy(w, "fx-binary-page")
    (case / "page.html").write_bytes(bytes(range(256)) * 16)
    case = _fixtures_copy(w, "fx-huge-page")
    with open(case / "page.html", "wb") as fh:
        fh.write(b"<html>")
        fh.truncate(MAX_PAGE_BYTES + 2**20)
    (_fixtures_copy(w, "fx-expected-latin") / "expected.json").write_bytes(b'{"name": "caf\xe9"}')
    case = _fixtures_copy(w, "fx-codec-page")
    (case / "page.html").write_text(
        (case / "page.html").read_text().replace("<head>", '<head><meta charset="zlib">')
    )
    return w


@dataclass(frozen=True)
class Case:
    """One run: ``args`` (``{W}`` is the world folder), the exit code, and the text the one
    line must hold (on stderr, or on stdout for a result line). ``code`` 0 means: success, and
    nothing on stderr."""

    id: str
    args: tuple[str, ...]
    code: int
    names: str = ""
    stream: str = "stderr"


def c(id: str, args: str | list[str], code: int, names: str = "", stream: str = "stderr") -> Any:
    argv = tuple(args.split() if isinstance(args, str) else args)
    return pytest.param(Case(id, argv, code, names, stream), id=id)


REG = "--registry {W}/reg"
EXTRACT = f"extract {REG} --url {URL}"
TEST = f"test {REG} --fixtures"
SCRATCH = "--registry {W}/reg-scratch"  # compile and publish must not change the shared registry
PUBLISH = f"publish {{W}}/page.html --template {T} --schema product {SCRATCH} --fixtures {{W}}/fx"
SAVE = f"fixture save {{W}}/page.html --template {T} {REG} --url {URL} --fixtures {{W}}/fx-save"

CASES = [
    # scrapec check FILE
    c("check-missing", "check {W}/missing.py", 2, "missing.py"),
    c("check-dir", "check {W}/dir.html", 2, "dir.html"),
    c("check-fifo", "check {W}/fifo.py", 2, "fifo.py"),
    c("check-dev-zero", "check /dev/zero", 2, "/dev/zero"),
    c("check-huge", "check {W}/huge.py", 2, "huge.py"),
    c("check-binary", "check {W}/binary.py", 2, "binary.py"),
    c("check-non-utf8", "check {W}/nonutf8.py", 2, "nonutf8.py"),
    c("check-syntax", "check {W}/syntax.py", 1, "syntax.py", "stdout"),
    c("check-escape-name", ["check", f"{{W}}/esc{ESC}.py"], 2, "esc\\x1b[31m.py"),
    c("check-newline-name", ["check", f"{{W}}/a{FORGED}.py"], 2, "a\\nscrapec: all good.py"),
    # scrapec extract FILE
    c("extract-missing", f"{EXTRACT} {{W}}/missing.html", 2, "missing.html"),
    c("extract-empty", f"{EXTRACT} {{W}}/empty.html", 2, "empty.html"),
    c("extract-blank", f"{EXTRACT} {{W}}/blank.html", 2, "blank.html"),
    c("extract-binary", f"{EXTRACT} {{W}}/binary.html", 2, "binary.html"),
    c("extract-dir", f"{EXTRACT} {{W}}/dir.html", 2, "dir.html"),
    c("extract-fifo", f"{EXTRACT} {{W}}/fifo.html", 2, "fifo.html"),
    c("extract-dev-zero", f"{EXTRACT} /dev/zero", 2, "/dev/zero"),
    c("extract-dev-zero-link", f"{EXTRACT} {{W}}/zero.html", 2, "zero.html"),
    c("extract-huge", f"{EXTRACT} {{W}}/huge.html", 2, "huge.html"),
    c("extract-non-utf8", f"{EXTRACT} {{W}}/nonutf8.html", 0),
    *[c(f"extract-charset-{n}", f"{EXTRACT} {{W}}/charset-{n}.html", 0) for n in CODECS],
    c("extract-escape-name", ["extract", f"{{W}}/esc{ESC}name.html", *REG.split()], 2, "\\x1b"),
    c("extract-newline-name", ["extract", f"{{W}}/a{FORGED}.html", *REG.split()], 2, "a\\nscr"),
    c("extract-meta-bad-json", f"extract {REG} {{W}}/meta-bad/page.html", 2, "meta.json"),
    c("extract-meta-list", f"extract {REG} {{W}}/meta-list/page.html", 2, "meta.json"),
    c("extract-meta-url-int", f"extract {REG} {{W}}/meta-url-int/page.html", 2, "meta.json"),
    c("extract-meta-fifo", f"extract {REG} {{W}}/meta-fifo/page.html", 2, "meta.json"),
    c("extract-bad-url-scheme", f"extract {REG} ftp://example.com/x.html", 2, "ftp://"),
    c("extract-url-refused", f"extract {REG} http://127.0.0.1:9/x.html", 2, "127.0.0.1:9"),
    c("extract-url-bad-port", f"extract {REG} http://127.0.0.1:99999/x", 2, "99999"),
    c("extract-url-no-host", f"extract {REG} http:///x", 2, "http:///x"),
    c("extract-unknown-template", f"{EXTRACT} --template nope/none {{W}}/page.html", 2, "none"),
    c("extract-malformed-template", f"{EXTRACT} --template ../.. {{W}}/page.html", 2, "'../..'"),
    c(
        "extract-escape-template",
        [*EXTRACT.split(), "--template", f"a{ESC}/b{FORGED}", "{W}/page.html"],
        2,
        "a\\x1b[31m/b\\nscrapec: all good",
    ),
    c("extract-unknown-schema", f"{EXTRACT} --schema nope {{W}}/page.html", 2, "'nope'"),
    c(
        "extract-schema-invalid",
        f"{EXTRACT} --schema {{W}}/notschema.json {{W}}/page.html",
        2,
        "notschema.json",
    ),
    c(
        "extract-schema-array",
        f"{EXTRACT} --schema {{W}}/arrayschema.json {{W}}/page.html",
        2,
        "arrayschema.json",
    ),
    c(
        "extract-schema-bad-json",
        f"{EXTRACT} --schema {{W}}/bad.json {{W}}/page.html",
        2,
        "bad.json",
    ),
    c("extract-schema-list", f"{EXTRACT} --schema {{W}}/list.json {{W}}/page.html", 2, "list.json"),
    c(
        "extract-schema-empty",
        f"{EXTRACT} --schema {{W}}/empty.json {{W}}/page.html",
        2,
        "empty.json",
    ),
    c("extract-schema-fifo", f"{EXTRACT} --schema {{W}}/fifo.json {{W}}/page.html", 2, "fifo.json"),
    c(
        "extract-schema-dev-zero",
        f"{EXTRACT} --schema {{W}}/zero.json {{W}}/page.html",
        2,
        "zero.json",
    ),
    c("extract-schema-huge", f"{EXTRACT} --schema {{W}}/huge.json {{W}}/page.html", 2, "huge.json"),
    c(
        "extract-schema-non-utf8",
        f"{EXTRACT} --schema {{W}}/latin.json {{W}}/page.html",
        2,
        "latin.json",
    ),
    c("extract-schema-dir", f"{EXTRACT} --schema {{W}}/dir.html {{W}}/page.html", 2, "dir.html"),
    c("extract-registry-missing", "extract --registry {W}/nope {W}/page.html", 2, "nope"),
    c("extract-registry-file", "extract --registry {W}/afile {W}/page.html", 2, "afile"),
    # a registry broken in one way: bad input (2) when routing or a named template cannot read
    # it; the page's result says why (the work ran: 1) when only the template's parser is unusable
    c(
        "extract-parser-json-corrupt",
        f"extract --registry {{W}}/reg-corrupt --url {URL} {{W}}/page.html",
        2,
        "parser.json",
    ),
    c(
        "extract-parser-json-fifo",
        f"extract --registry {{W}}/reg-fifo --url {URL} {{W}}/page.html",
        2,
        "parser.json",
    ),
    c(
        "extract-parser-json-dev-zero",
        f"extract --registry {{W}}/reg-zero --url {URL} --template {T} {{W}}/page.html",
        2,
        "parser.json",
    ),
    c(
        "extract-parser-fifo",
        f"extract --registry {{W}}/reg-fifo-py --url {URL} {{W}}/page.html",
        2,
        "v1.py",
    ),
    c(
        "extract-parser-edited",
        f"extract --registry {{W}}/reg-edited --url {URL} {{W}}/page.html",
        1,
        "v1.py",
        "stdout",
    ),
    c(
        "extract-parser-missing",
        f"extract --registry {{W}}/reg-nopy --url {URL} {{W}}/page.html",
        1,
        "v1.py",
        "stdout",
    ),
    c(
        "extract-bad-regex",
        f"extract --registry {{W}}/reg-regex --url {URL} {{W}}/page.html",
        2,
        "parser.json",
    ),
    c(
        "extract-active-not-int",
        f"extract --registry {{W}}/reg-active --url {URL} {{W}}/page.html",
        1,
        "parser.json",
        "stdout",
    ),
    c(
        "extract-versions-not-object",
        f"extract --registry {{W}}/reg-versions --url {URL} {{W}}/page.html",
        2,
        "parser.json",
    ),
    c(
        "extract-heal-fifo",
        f"extract --heal {REG} --state {{W}}/state {{W}}/fifo.html",
        2,
        "fifo.html",
    ),
    # scrapec test
    c("test-fixtures-missing", f"{TEST} {{W}}/nope", 2, "nope"),
    c("test-fixtures-file", f"{TEST} {{W}}/afile", 2, "afile"),
    c("test-malformed-template", f"{TEST} {{W}}/fx ../x", 2, "'../x'"),
    c("test-unknown-template", f"{TEST} {{W}}/fx nope/none", 2, "nope/none"),
    c("test-expected-bad-json", f"{TEST} {{W}}/fx-expected-bad", 2, "expected.json"),
    c("test-expected-list", f"{TEST} {{W}}/fx-expected-list", 2, "expected.json"),
    c("test-expected-fifo", f"{TEST} {{W}}/fx-fifo-expected", 2, "expected.json"),
    c("test-meta-bad-json", f"{TEST} {{W}}/fx-meta-bad", 2, "meta.json"),
    c("test-meta-url-int", f"{TEST} {{W}}/fx-meta-url", 2, "'url'"),
    c("test-meta-template-list", f"{TEST} {{W}}/fx-meta-template", 2, "'template'"),
    c("test-meta-schema-int", f"{TEST} {{W}}/fx-meta-schema", 2, "'schema'"),
    c("test-meta-partial-str", f"{TEST} {{W}}/fx-meta-partial", 2, "'partial'"),
    c("test-meta-fifo", f"{TEST} {{W}}/fx-fifo-meta", 2, "meta.json"),
    c("test-meta-dev-zero", f"{TEST} {{W}}/fx-zero-meta", 2, "meta.json"),
    c("test-page-fifo", f"{TEST} {{W}}/fx-fifo-page", 2, "page.html"),
    c("test-page-binary", f"{TEST} {{W}}/fx-binary-page", 2, "page.html"),
    c("test-page-huge", f"{TEST} {{W}}/fx-huge-page", 2, "page.html"),
    c("test-page-codec", f"{TEST} {{W}}/fx-codec-page", 0),
    c("test-expected-non-utf8", f"{TEST} {{W}}/fx-expected-latin", 2, "expected.json"),
    c("test-registry-missing", "test --registry {W}/nope --fixtures {W}/fx", 1, "nope", "stdout"),
    c(
        "test-parser-json-fifo",
        "test --registry {W}/reg-fifo --fixtures {W}/fx",
        1,
        "parser.json",
        "stdout",
    ),
    c(
        "test-parser-json-corrupt",
        "test --registry {W}/reg-corrupt --fixtures {W}/fx",
        1,
        "parser.json",
        "stdout",
    ),
    # scrapec publish
    c("publish-missing", PUBLISH.replace("page.html", "missing.py"), 2, "missing.py"),
    c("publish-fifo", PUBLISH.replace("page.html", "fifo.py"), 2, "fifo.py"),
    c("publish-dev-zero", PUBLISH.replace("{W}/page.html", "/dev/zero"), 2, "/dev/zero"),
    c("publish-dir", PUBLISH.replace("page.html", "dir.html"), 2, "dir.html"),
    c("publish-non-utf8", PUBLISH.replace("page.html", "nonutf8.py"), 2, "nonutf8.py"),
    c("publish-malformed-template", PUBLISH.replace(T, "a/../b"), 2, "'a/../b'"),
    c("publish-unknown-schema", PUBLISH.replace("--schema product", "--schema nope"), 2, "'nope'"),
    c(
        "publish-schema-invalid",
        PUBLISH.replace("--schema product", "--schema {W}/notschema.json"),
        2,
        "notschema.json",
    ),
    c(
        "publish-schema-fifo",
        PUBLISH.replace("--schema product", "--schema {W}/fifo.json"),
        2,
        "fifo.json",
    ),
    c("publish-no-fixtures", PUBLISH.replace("{W}/fx", "{W}/dir.html"), 2, "dir.html"),
    # scrapec rollback
    c("rollback-malformed", f"rollback /etc/passwd {REG}", 2, "'/etc/passwd'"),
    c("rollback-unknown", f"rollback nope/none {REG}", 2, "nope/none"),
    c("rollback-no-version", f"rollback {T} --version 99 {REG}", 2, "99"),
    c("rollback-version-not-int", f"rollback {T} --version abc {REG}", 2, "'abc'"),
    c("rollback-corrupt", f"rollback {T} --registry {{W}}/reg-corrupt", 2, "parser.json"),
    c("rollback-versions-list", f"rollback {T} --registry {{W}}/reg-versions", 2, "parser.json"),
    c("rollback-parser-json-fifo", f"rollback {T} --registry {{W}}/reg-fifo", 2, "parser.json"),
    # scrapec fixture save
    c("save-missing", SAVE.replace("page.html", "missing.html"), 2, "missing.html"),
    c("save-fifo", SAVE.replace("page.html", "fifo.html"), 2, "fifo.html"),
    c("save-malformed-template", SAVE.replace(T, "../../x"), 2, "'../../x'"),
    c("save-unknown-template", SAVE.replace(T, "nope/none"), 2, "nope/none"),
    c("save-case-dotdot", f"{SAVE} --case ../..", 2, "'../..'"),
    c("save-case-absolute", f"{SAVE} --case /tmp/x", 2, "'/tmp/x'"),
    c("save-case-newline", [*SAVE.split(), "--case", f"x{FORGED}"], 2, "x\\nscrapec: all good"),
    c("save-bad-url", f"{SAVE.replace('{W}/page.html', 'ftp://x/y')}", 2, "ftp://x/y"),
    # scrapec compile
    c("compile-missing", f"compile {{W}}/nope --schema product {SCRATCH}", 2, "nope"),
    c("compile-unknown-schema", f"compile {{W}}/fx --schema nope {SCRATCH}", 2, "'nope'"),
    c(
        "compile-schema-invalid",
        f"compile {{W}}/fx --schema {{W}}/notschema.json {SCRATCH}",
        2,
        "notschema.json",
    ),
    c(
        "compile-schema-fifo",
        f"compile {{W}}/fx --schema {{W}}/fifo.json {SCRATCH}",
        2,
        "fifo.json",
    ),
    c("compile-schema-dev-zero", f"compile {{W}}/fx --schema /dev/zero {SCRATCH}", 2, "/dev/zero"),
    c(
        "compile-malformed-template",
        f"compile {{W}}/fx --schema product --template x {SCRATCH}",
        2,
        "'x'",
    ),
    c(
        "compile-expected-bad",
        f"compile {{W}}/fx-expected-bad --schema product {SCRATCH}",
        2,
        "expected.json",
    ),
    c(
        "compile-page-fifo",
        f"compile {{W}}/fx-fifo-page --schema product {SCRATCH}",
        2,
        "page.html",
    ),
    c(
        "compile-bad-generator",
        f"compile {{W}}/fx --schema product --generator gpt {SCRATCH}",
        2,
        "'gpt'",
    ),
    # scrapec report / quarantine
    c("report-out-is-file", f"report {REG} --out {{W}}/afile --fixtures {{W}}/fx", 2, "afile"),
    c("report-registry-missing", "report --registry {W}/nope --out {W}/out", 2, "nope"),
    c("report-state-is-file", f"report {REG} --out {{W}}/out2 --state {{W}}/afile", 2, "afile"),
    c("report-missing-out", f"report {REG}", 2, "--out"),
    c("quarantine-bad-action", f"quarantine purge {REG}", 2, "'purge'"),
    c("quarantine-malformed-template", f"quarantine list --template ../x {REG}", 2, "'../x'"),
    c("quarantine-state-is-file", f"quarantine list {REG} --state {{W}}/afile", 2, "afile"),
    c("unknown-command", "frobnicate", 2, "'frobnicate'"),
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_naming_it(world: Path, case: Case) -> None:
    args = [a.replace("{W}", str(world)) for a in case.args]
    try:
        proc = run(args, world)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scrapec {' '.join(args)!r} hung")
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    assert proc.returncode == case.code, proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    if case.code == 0:
        assert lines == [], proc.stderr
        assert proc.stdout.startswith("ok "), proc.stdout
        return
    if case.stream == "stderr":
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("scrapec"), proc.stderr
        assert case.names.replace("{W}", str(world)) in lines[0], proc.stderr
    else:
        assert case.names in proc.stdout, proc.stdout + proc.stderr
        assert lines == [], proc.stderr


class _Server(BaseHTTPRequestHandler):
    """/endless: a body that never ends; /charset-NAME: the page with that HTTP charset;
    /binary: random-looking bytes as text/html."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path == "/endless":
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>")
            chunk = b"<p>more</p>" * 10_000
            try:
                # 2 GiB, more than the client's address space: "endless" for a client that
                # reads it all, bounded for the test should it be read
                for _ in range(64 * MAX_PAGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client stopped reading: what is expected
            return
        if self.path.startswith("/charset-"):
            body = product_page(5).encode()
            self.send_header("Content-Type", f"text/html; charset={self.path[9:]}")
        else:
            body = bytes(range(256)) * 64
            self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _one_error_line(proc: subprocess.CompletedProcess[str], names: str) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and names in lines[0], proc.stderr


def test_endless_http_body_is_cut_at_the_page_limit(world: Path, server: str) -> None:
    proc = run(["extract", "--registry", str(world / "reg"), f"{server}/endless"], world, 120)
    _one_error_line(proc, "/endless")
    assert "MemoryError" not in proc.stderr


def test_binary_http_body_is_refused(world: Path, server: str) -> None:
    _one_error_line(
        run(["extract", "--registry", str(world / "reg"), f"{server}/binary"], world), "/binary"
    )


@pytest.mark.parametrize("codec", ["zlib", "unicode_escape", "hex", "rot13", "idna", "utf-7"])
def test_http_charset_that_is_no_text_encoding_is_ignored(
    world: Path, server: str, codec: str
) -> None:
    proc = run(
        ["extract", "--registry", str(world / "reg"), "--template", T, f"{server}/charset-{codec}"],
        world,
    )
    assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
    assert "Widget 5 Deluxe" in proc.stdout, proc.stdout


def test_json_lines_stay_lines_whatever_the_text(world: Path) -> None:
    """U+2028, U+2029, U+0085 and a C1 control in a value stay escaped in ``--json`` output, and
    in the human error line: ``splitlines()`` sees one line each, the value reads back intact."""
    name = str(world / "a\u2028b\u2029c\x85d\x9b31me.html")
    proc = run(["extract", "--json", "--registry", str(world / "reg"), name], world)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stdout.splitlines()
    result = json.loads(line)
    assert result["target"] == name and name in result["errors"][0]
    [error] = proc.stderr.splitlines()
    assert "a\\u2028b\\u2029c\\x85d\\x9b31me.html" in error
