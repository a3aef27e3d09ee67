"""The sandbox against a corpus of hostile parsers (``tests/hostile/``), and what it must keep working.

Every file of ``tests/hostile/`` is a parser an attacker could have had an LLM write. Line 1 of its
docstring says what it tries, line 2 how it must end: ``expect: refused`` (:func:`check_source`
raises :class:`PolicyViolation`) or ``expect: stopped`` (it passes the check, but loading or running
it raises :class:`ParserFailed`). An optional ``or returns: ITEM`` line names the harmless item a
stopped parser may return instead (a catastrophic regex that timed out inside the helper).
Parsers that try to leak or change shared state check whether it worked and raise when it did not,
so "stopped" also means "the attack failed".
"""

from __future__ import annotations

import ast
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler import parsing, sandbox
from crawler.exceptions import ParserFailed, PolicyViolation
from crawler.parsing import Page
from crawler.sandbox import check_item, check_source, load_parser

HOSTILE = Path(__file__).parent / "hostile"
ROOT = HOSTILE.parent.parent
TIME_LIMIT = 0.5  # per page, small to keep the suite fast
SLACK = 5.0  # most seconds a stopped parser may take in all (load, run, clean-up)
URL = "http://shop.test/books/dune"

PAGE_HTML = """<html><head><title>Dune - Books</title>
<meta property="og:title" content="Dune">
<meta name="description" content="  A   classic  ">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Book",
 "name": "Dune", "isbn": "9780441013593", "author": {"@type": "Person", "name": "Frank Herbert"}}
</script>
</head><body>
<div class="product"><h1 class="title"> Dune </h1>
<p class="price">£1,234.50</p>
<p class="old-price">1.299,00 €</p>
<p class="date">Published: March 5, 2024</p>
<img src="/covers/dune.jpg">
<table><tr><th>ISBN-13:</th><td>978-0441013593</td></tr><tr><th>Pages</th><td>412 pages</td></tr></table>
<ul class="tags"><li>Sci-Fi</li><li> classic </li><li> </li><li>desert</li></ul>
<p class="stock">In stock (7 available)</p>
</div></body></html>"""


def make_page() -> Page:
    return Page(PAGE_HTML, URL)


# ---------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Case:
    path: Path
    source: str
    what: str  # docstring line 1
    expect: str  # "refused" | "stopped" | "" when the docstring is malformed
    may_return: Any = None


def _read_case(path: Path) -> Case:
    source = path.read_text("utf-8")
    lines = (ast.get_docstring(ast.parse(source)) or "").splitlines()
    expect = ""
    if len(lines) >= 2 and lines[1] in ("expect: refused", "expect: stopped"):
        expect = lines[1].removeprefix("expect: ")
    may_return = None
    for line in lines[2:]:
        if line.startswith("or returns: "):
            may_return = ast.literal_eval(line.removeprefix("or returns: "))
    return Case(path, source, lines[0] if lines else "", expect, may_return)


CASES = [_read_case(path) for path in sorted(HOSTILE.glob("*.py"))]
REFUSED = [case for case in CASES if case.expect == "refused"]
STOPPED = [case for case in CASES if case.expect == "stopped"]


def _ids(case: Case) -> str:
    return case.path.stem


def test_corpus_is_well_formed() -> None:
    assert len(CASES) >= 60
    assert len(REFUSED) >= 20 and len(STOPPED) >= 20
    for case in CASES:
        assert re.fullmatch(r"\d{2,3}_[a-z0-9_]+\.py", case.path.name), case.path.name
        assert case.what and case.expect, f"{case.path.name}: docstring lines 1-2 malformed"
        assert case.may_return is None or case.expect == "stopped", case.path.name
    numbers = [case.path.name.split("_", 1)[0] for case in CASES]
    assert len(set(numbers)) == len(numbers), "two hostile files share a number"


def _outcome(source: str, name: str, page: Page, time_limit: float = TIME_LIMIT) -> tuple[str, Any]:
    """("refused", PolicyViolation) | ("stopped", ParserFailed) | ("returned", item)."""
    try:
        parser = load_parser(source, name, time_limit=time_limit)
    except PolicyViolation as exc:
        return "refused", exc
    except ParserFailed as exc:  # failed while loading (module-level work)
        return "stopped", exc
    try:
        return "returned", parser.run(page)
    except ParserFailed as exc:
        return "stopped", exc


@pytest.mark.parametrize("case", REFUSED, ids=_ids)
def test_hostile_parser_is_refused(case: Case) -> None:
    with pytest.raises(PolicyViolation) as info:
        check_source(case.source, case.path.name)
    violation = info.value
    assert violation.line >= 1, "a refusal names the line"
    assert str(violation) == f"{case.path.name}:{violation.line}: {violation.rule}"
    # loading is the only way to run a parser, and it refuses too
    with pytest.raises(PolicyViolation):
        load_parser(case.source, case.path.name, time_limit=TIME_LIMIT)


@pytest.mark.parametrize("case", STOPPED, ids=_ids)
def test_hostile_parser_is_stopped(case: Case) -> None:
    check_source(case.source, case.path.name)  # passes the policy ...
    start = time.monotonic()
    kind, result = _outcome(case.source, case.path.name, make_page())
    elapsed = time.monotonic() - start
    if kind == "returned":  # ... and may only return the harmless item it declares
        assert case.may_return is not None, f"{case.path.name} escaped: returned {result!r:.200}"
        assert result == case.may_return
    else:
        assert kind == "stopped"
        assert isinstance(result, ParserFailed) and result.reason
    assert elapsed < SLACK, f"{case.path.name} took {elapsed:.1f} s"


def _cli_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "stem", ["import_os", "subclasses_walk", "finally_outlives_alarm", "exslt_namespace_positional"]
)
def test_cli_check_refuses(stem: str) -> None:
    (path,) = HOSTILE.glob(f"*_{stem}.py")
    line = check_source_line(path)
    done = _cli_check(path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"UNSAFE {path}:{line}: " in done.stdout


def check_source_line(path: Path) -> int:
    with pytest.raises(PolicyViolation) as info:
        check_source(path.read_text("utf-8"), str(path))
    return info.value.line


def test_cli_check_accepts_a_stopped_parser() -> None:
    (path,) = HOSTILE.glob("*_sum_huge_range.py")  # safe by policy: it is stopped at run time
    done = _cli_check(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok")


# ---------------------------------------------------------------------------------------------
# Side effects: no file read or written, no connection, no process, limits put back


def _children() -> set[int]:
    """Pids of this process's children, from /proc."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(entry))
    return found


@dataclass
class Sentinels:
    """A canary file, a TCP listener and a snapshot of the process, to compare after a run."""

    tmp: Path
    canary: Path
    pwned: Path
    listener: socket.socket
    port: int

    def arm(self, source: str) -> str:
        """Point a hostile source's targets at the sentinels."""
        return (
            source.replace("/etc/passwd", str(self.canary))
            .replace("/tmp/scrapec-pwned", str(self.pwned))
            .replace("47999", str(self.port))
        )


CANARY_TEXT = "canary secret\n"


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[Sentinels]:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY_TEXT)
    past = time.time() - 7200
    os.utime(canary, (past - 3600, past))  # atime before mtime: any read moves atime (relatime)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        stat = canary.stat()
        children = _children()
        rlimit = resource.getrlimit(resource.RLIMIT_AS)
        handler = signal.getsignal(signal.SIGALRM)
        box = Sentinels(tmp_path, canary, tmp_path / "pwned", listener, listener.getsockname()[1])
        yield box
        after = canary.stat()
        assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ino,
        ), "the canary was modified"
        assert after.st_atime_ns == stat.st_atime_ns, "the canary was read"
        assert canary.read_text() == CANARY_TEXT
        assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"], "a file was created"
        assert not Path("/tmp/scrapec-pwned").exists()
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
        assert _children() == children, "a process was started"
        assert resource.getrlimit(resource.RLIMIT_AS) == rlimit
        assert signal.getsignal(signal.SIGALRM) == handler
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        listener.close()


def test_atime_is_observable(tmp_path: Path) -> None:
    """The canary's "not read" check means something only if reads move atime here."""
    control = tmp_path / "control.txt"
    control.write_text("x")
    past = time.time() - 7200
    os.utime(control, (past - 3600, past))
    before = control.stat().st_atime_ns
    control.read_text()
    if control.stat().st_atime_ns == before:
        pytest.skip("this file system does not record reads (noatime)")


def test_corpus_has_no_side_effects(sentinels: Sentinels) -> None:
    page = make_page()
    for case in CASES:
        kind, result = _outcome(sentinels.arm(case.source), case.path.name, page, time_limit=0.3)
        if kind == "returned":
            assert result == case.may_return, f"{case.path.name} returned {result!r:.200}"
        else:
            assert kind == case.expect, f"{case.path.name}: {kind} ({result})"


# Attacks by name only (imports, open, exec, …): even with the policy check skipped, the builtins
# table and the guarded __import__ stop them at run time.
RUNTIME_GUARDED = [
    "import_os",
    "from_os_import",
    "dunder_import",
    "importlib_via_builtins",
    "relative_import",
    "star_import",
    "private_name_import",
    "import_sandbox",
    "import_inside_function",
    "builtins_name",
    "getattr_private",
    "setattr_page",
    "vars_page",
    "globals_call",
    "exec_direct",
    "eval_direct",
    "compile_direct",
    "open_direct",
    "iter_sentinel",
    "socket_connect",
    "subprocess_spawn",
]


def test_runtime_guards_without_the_policy(
    sentinels: Sentinels, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "check_source", lambda source, filename="": ast.parse(source))
    page = make_page()
    for stem in RUNTIME_GUARDED:
        (path,) = HOSTILE.glob(f"*_{stem}.py")
        # a distinct source, so that its unchecked code never sits in the cache of a real one
        source = sentinels.arm(path.read_text("utf-8")) + "\n# policy skipped by test\n"
        kind, result = _outcome(source, path.name, page)
        assert kind == "stopped", f"{path.name}: {kind} {result!r:.200}"


# ---------------------------------------------------------------------------------------------
# Isolation: one parser cannot change what another sees

VICTIM = '''"""Reads what the attacker tries to change."""
from crawler.parsing import number, text

LABEL = "victim"


def parse(page):
    books = page.jsonld("Book")
    return {
        "label": LABEL,
        "name": books[0]["name"],
        "objects": len(page.jsonld()),
        "author": books[0]["author"]["name"],
        "h1": text(page.css("h1")),
        "class": page.css("h1").attrib.get("class"),
        "h1s": len(page.css("h1")),
        "og": page.meta("og:title"),
        "pages": number(text(page.xpath("//td[contains(., 'pages')]"))),
        "count": len([i for i in range(3)]),
        "url": page.url,
    }
'''

ATTACKER = '''"""Changes everything it can reach, in its own module and in the shared page."""
from crawler.parsing import number, text

LABEL = "attacker"


def text(nodes):
    return "PWNED"


def number(value):
    return -1


def range(*args):
    return [0]


def parse(page):
    for obj in page.jsonld():
        obj["name"] = "PWNED"
        obj.pop("@type", None)
        obj.update({"author": {"name": "PWNED"}})
        obj.setdefault("extra", []).append("PWNED")
    page.jsonld().append({"@type": "Book", "name": "PWNED"})
    page.css("h1").attrib.update({"class": "PWNED"})
    found = page.css("h1")
    found.extend(page.css("p"))
    found.reverse()
    found.pop()
    return {"label": LABEL, "h1": text(found), "n": number("5"), "r": range(3)}
'''

VICTIM_ITEM = {
    "label": "victim",
    "name": "Dune",
    "objects": 1,
    "author": "Frank Herbert",
    "h1": "Dune",
    "class": "title",
    "h1s": 1,
    "og": "Dune",
    "pages": 412,
    "count": 3,
    "url": URL,
}


def test_attacker_cannot_change_what_another_parser_sees() -> None:
    helpers = dict(vars(parsing))
    builtins_table = dict(sandbox.SAFE_BUILTINS)
    page = make_page()
    victim = load_parser(VICTIM, "victim.py", time_limit=TIME_LIMIT)
    assert victim.run(page) == VICTIM_ITEM
    attacker = load_parser(ATTACKER, "attacker.py", time_limit=TIME_LIMIT)
    assert attacker.run(page) == {"label": "attacker", "h1": "PWNED", "n": -1, "r": [0]}
    assert victim.run(page) == VICTIM_ITEM  # the same page, after the attack
    late = load_parser(VICTIM + "\n# loaded after the attack\n", "late.py", time_limit=TIME_LIMIT)
    assert late.run(page) == VICTIM_ITEM
    assert attacker.run(page)["label"] == "attacker"  # still only its own module changed
    assert victim.run(make_page()) == VICTIM_ITEM
    # nothing shared was replaced: helper module, builtins table
    assert {k: v for k, v in vars(parsing).items() if k in helpers} == helpers
    assert sandbox.SAFE_BUILTINS == builtins_table


def test_same_source_loads_get_separate_modules() -> None:
    first = load_parser(VICTIM, "a.py")
    second = load_parser(VICTIM, "b.py")
    assert first.function is not second.function
    globals_a = first.function.__globals__
    globals_b = second.function.__globals__
    assert globals_a is not globals_b
    assert globals_a["__builtins__"] is not globals_b["__builtins__"]
    assert first.function.__code__ is second.function.__code__  # compiled once, immutable


def test_jsonld_objects_are_fresh_per_call() -> None:
    page = make_page()
    one, two = page.jsonld(), page.jsonld()
    assert one == two and one is not two and one[0] is not two[0]


# ---------------------------------------------------------------------------------------------
# Good parsers still work

FULL_API = '''"""A benign parser using the whole helper API."""
from crawler.parsing import (
    absolute,
    clean,
    currency,
    date,
    first,
    join,
    labelled,
    number,
    price,
    regex,
    regex_all,
    text,
    texts,
)

FIELDS = ("name", "price")
SEPARATOR = ", "


def tags(page):
    found = texts(page.css("ul.tags li"))
    return sorted({t.lower() for t in found}, key=lambda t: (len(t), t))


def to_int(value, fallback=-1):
    try:
        return int(value)
    except ValueError:
        return fallback


def parse(page):
    def pick(query):
        return text(page.css(query))

    book = first(page.jsonld("Book"), [{}])[0]
    pages = number(labelled(page, "Pages"))
    published = date(pick("p.date"))
    year = to_int(published[:4]) if published else None
    lengths = {tag: len(tag) for tag in tags(page)}
    total = 0
    for i, tag in enumerate(tags(page)):
        if i > 5:
            break
        if not tag:
            continue
        total += len(tag)
    return {
        "name": pick("h1"),
        "price": price(pick("p.price")),
        "currency": currency(pick("p.price")),
        "old_price": number(pick("p.old-price")),
        "old_currency": currency(page.css("p.old-price::text").get()),
        "published": published,
        "year": year,
        "image": absolute(page, page.css("img::attr(src)").get()),
        "isbn": labelled(page, "ISBN-13"),
        "pages": pages,
        "quarter": round(pages / 4, 1) if pages else 0,
        "tags": tags(page),
        "lengths": lengths,
        "total": total,
        "summary": join([pick("h1"), book.get("author", {}).get("name"), None, "  "], SEPARATOR),
        "og_title": page.meta("og:title"),
        "description": clean(page.meta("description")),
        "stock": to_int(regex(r"\\((\\d+) available\\)", pick("p.stock"), 1)),
        "bad_int": to_int("n/a"),
        "words": regex_all(r"[A-Z][a-z]+", pick("h1") + " " + book.get("author", {}).get("name", "")),
        "isbn_jsonld": first(None, "", "  ", book.get("isbn")),
        "rule": "-" * 3,
        "label": f"{pick('h1')} ({year})",
        "fields": list(FIELDS),
        "pairs": [f"{i}:{t}" for i, t in enumerate(tags(page)) if i < 2],
        "zipped": dict(zip(FIELDS, [1, 2])),
        "has_price": isinstance(price(pick("p.price")), float) and not not book,
        "url": page.url,
    }
'''

FULL_API_ITEM = {
    "name": "Dune",
    "price": 1234.5,
    "currency": "GBP",
    "old_price": 1299.0,  # "1.299,00": a decimal comma
    "old_currency": "EUR",
    "published": "2024-03-05",
    "year": 2024,
    "image": "http://shop.test/covers/dune.jpg",
    "isbn": "978-0441013593",
    "pages": 412,
    "quarter": 103.0,
    "tags": ["desert", "sci-fi", "classic"],
    "lengths": {"desert": 6, "sci-fi": 6, "classic": 7},
    "total": 19,
    "summary": "Dune, Frank Herbert",
    "og_title": "Dune",
    "description": "A classic",
    "stock": 7,
    "bad_int": -1,
    "words": ["Dune", "Frank", "Herbert"],
    "isbn_jsonld": "9780441013593",
    "rule": "---",
    "label": "Dune (2024)",
    "fields": ["name", "price"],
    "pairs": ["0:desert", "1:sci-fi"],
    "zipped": {"name": 1, "price": 2},
    "has_price": True,
    "url": URL,
}

DESIGN_EXAMPLE = '''"""books.toscrape.com/product, schema product, v3.

Generated 2026-11-22 by induce from 5 fixtures (all passed). Do not edit by hand: regenerate.
"""
from crawler.parsing import Page, text, number, absolute

def parse(page: Page) -> dict:
    return {
        "name": text(page.css("div.product h1")),
        "price": number(page.css("p.price::text").get()),
        "image": absolute(page, page.css("img::attr(src)").get()),
    }
'''

LISTING = '''"""A listing parser: loops, nested helpers, comprehensions, fallbacks."""
from crawler.parsing import first, number, text, texts

MAX_ROWS = 50


def row(node):
    cells = texts(node.css("th, td"))
    if len(cells) < 2:
        return None
    key = cells[0].rstrip(":").strip().lower().replace("-", "_")
    return key, first(number(cells[1]) if cells[1][:1].isdigit() and " " in cells[1] else None, cells[1])


def parse(page):
    specs = {}
    for i, node in enumerate(page.css("table tr")):
        if i >= MAX_ROWS:
            break
        pair = row(node)
        if pair is None:
            continue
        key, value = pair
        specs[key] = value
    names = [n for n in texts(page.css("ul.tags li")) if n.strip()]
    scores = sorted(((len(n), n) for n in names), reverse=True)
    try:
        best = scores[0][1]
    except IndexError:
        best = None
    return {
        "specs": specs,
        "best_tag": best,
        "count": len(names),
        "title": text(page.xpath("//title")),
        "maybe": first(page.css("p.missing::text"), page.css("p.stock::text")),
    }
'''

LISTING_ITEM = {
    "specs": {"isbn_13": "978-0441013593", "pages": 412},
    "best_tag": "classic",
    "count": 3,
    "title": "Dune - Books",
    "maybe": "In stock (7 available)",
}


@pytest.mark.parametrize(
    "source, expected",
    [
        (FULL_API, FULL_API_ITEM),
        (
            DESIGN_EXAMPLE,
            {"name": "Dune", "price": 1234.5, "image": "http://shop.test/covers/dune.jpg"},
        ),
        (LISTING, LISTING_ITEM),
    ],
    ids=["full_api", "design_example", "listing"],
)
def test_good_parser_works(source: str, expected: dict[str, Any]) -> None:
    parser = load_parser(source, "good.py", time_limit=TIME_LIMIT)
    assert parser.run(make_page()) == expected
    assert parser.run(make_page()) == expected  # no state carried over between pages


def test_bounds_leave_room_for_real_work() -> None:
    source = """
def parse(page):
    rows = [i for i in range(1000000)]
    text = "x" * 1000000
    return {"rows": len(rows), "sum": sum(range(10000000)), "chars": len(text), "big": 12345 * 6789}
"""
    item = load_parser(source, time_limit=2.0).run(make_page())
    assert item == {"rows": 1000000, "sum": 49999995000000, "chars": 1000000, "big": 83810205}


# ---------------------------------------------------------------------------------------------
# Threads

SPIN = """
def parse(page):
    n = 0
    for i in range(10000000):
        for j in range(10000000):
            n += 1
    return {"n": n}
"""


def _run_in_thread(parser: sandbox.LoadedParser, page: Page) -> dict[str, Any]:
    """Run in a new thread; report the outcome, and whether the thread was hit later."""
    result: dict[str, Any] = {}

    def work() -> None:
        start = time.monotonic()
        try:
            result["item"] = parser.run(page)
        except ParserFailed as exc:
            result["error"] = exc
        except BaseException as exc:  # reported, not raised: the test says what went wrong
            result["other"] = exc
        result["elapsed"] = time.monotonic() - start
        try:  # a late time-out would land here
            for _ in range(30):
                time.sleep(0.01)
            result["after"] = "quiet"
        except BaseException as exc:
            result["after"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return result


def test_time_limit_off_the_main_thread() -> None:
    handler = signal.getsignal(signal.SIGALRM)
    parser = load_parser(SPIN, "spin.py", time_limit=0.3)
    result = _run_in_thread(parser, make_page())
    assert "time limit of 0.3 s" in str(result.get("error")), result
    assert result["elapsed"] < SLACK
    assert result["after"] == "quiet"
    assert signal.getsignal(signal.SIGALRM) == handler
    deadline = time.monotonic() + 2
    while any(t.name == "scrapec-parser-watchdog" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the watchdog thread outlived the parse"
        time.sleep(0.01)


@pytest.mark.parametrize(
    "stem",
    ["huge_nested_for", "swallow_with_except_exception", "list_repeat_bomb", "recursion_bomb"],
)
def test_hostile_parser_stopped_off_the_main_thread(stem: str) -> None:
    (path,) = HOSTILE.glob(f"*_{stem}.py")
    rlimit = resource.getrlimit(resource.RLIMIT_AS)
    parser = load_parser(path.read_text("utf-8"), path.name, time_limit=0.3)
    result = _run_in_thread(parser, make_page())
    assert isinstance(result.get("error"), ParserFailed), result
    assert result["after"] == "quiet"
    assert resource.getrlimit(resource.RLIMIT_AS) == rlimit


def test_parsers_in_two_threads_at_once() -> None:
    spin = load_parser(SPIN, "spin.py", time_limit=0.3)
    good = load_parser(DESIGN_EXAMPLE, "good.py", time_limit=2.0)
    results: list[dict[str, Any]] = [{}, {}]

    def work(parser: sandbox.LoadedParser, out: dict[str, Any]) -> None:
        out.update(_run_in_thread(parser, make_page()))

    threads = [
        threading.Thread(target=work, args=(spin, results[0])),
        threading.Thread(target=work, args=(good, results[1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(results[0].get("error"), ParserFailed)
    assert results[1].get("item", {}).get("name") == "Dune", results[1]
    assert results[0]["after"] == results[1]["after"] == "quiet"


def test_no_late_alarm_on_the_main_thread() -> None:
    handler = signal.getsignal(signal.SIGALRM)
    with pytest.raises(ParserFailed, match="time limit"):
        load_parser(SPIN, "spin.py", time_limit=0.2).run(make_page())
    time.sleep(0.3)  # a re-firing alarm would raise here
    for _ in range(100000):
        pass
    assert signal.getsignal(signal.SIGALRM) == handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# Messages


@pytest.mark.parametrize(
    "source, line, rule",
    [
        ("def parse(page):\n    x = 1\n    import os\n", 3, "import is not allowed"),
        (
            "def parse(page):\n    x = 1\n    from os import path\n",
            3,
            "only allowed at module level",
        ),
        ("from os import path\n\ndef parse(page):\n    return {}\n", 1, "import from 'os'"),
        ("def parse(page):\n    x = 1\n    while x:\n        pass\n", 3, "'while' is not allowed"),
        ("def parse(page):\n\n    return page.__class__\n", 3, "attribute '__class__'"),
        ("def parse(page):\n    x = 1\n    return open('f')\n", 3, "name 'open' is not allowed"),
        ("def parse(page):\n    x = 1\n    return {'x': 2 ** 64}\n", 3, "'**' is not allowed"),
        ("def parse(page):\n    x = [1]\n    x[0] *= 2\n", 3, "'*=' is only allowed"),
        ("def parse(page):\n    try:\n        pass\n    finally:\n        pass\n", 5, "'finally'"),
        ("def parse(page):\n    x = 1\n    return page.xpath('//a', {})\n", 3, "xpath() takes"),
        ("X = 1\nY = 2\ndef helper(a, b=[]):\n    return a\n", 3, "default values"),
        ("X = 1\nCACHE = {}\n", 2, "constant literals"),
        ("def parse(page):\n    x = 1\n    return (\n", 3, "syntax error"),
        ("X = 1\n", 0, "no function 'parse(page)' defined"),
    ],
)
def test_policy_message_names_line_and_rule(source: str, line: int, rule: str) -> None:
    with pytest.raises(PolicyViolation) as info:
        check_source(source, "f.py")
    assert info.value.filename == "f.py"
    assert info.value.line == line, str(info.value)
    assert rule in info.value.rule
    assert str(info.value) == f"f.py:{line}: {info.value.rule}"


def test_parser_errors_are_reported_briefly() -> None:
    source = 'def parse(page):\n    return {"a": {}["price"]}\n'
    with pytest.raises(ParserFailed, match=r"KeyError: 'price'"):
        load_parser(source).run(make_page())
    source = 'def parse(page):\n    raise ValueError("no price on " + "x" * 1000)\n'
    with pytest.raises(ParserFailed) as info:
        load_parser(source).run(make_page())
    assert info.value.reason.startswith("ValueError: no price on xxx")
    assert len(info.value.reason) < 250


def test_check_item_work_is_bounded() -> None:
    """check_item runs outside the limits: a long key over many values must not cost a copy
    of the key per value (the path of a value is only rendered for an error)."""
    item = {"k" * 900_000: [None] * 99_000}
    start = time.monotonic()
    assert len(check_item(item)["k" * 900_000]) == 99_000
    assert time.monotonic() - start < 1.0
    with pytest.raises(ParserFailed, match="larger than"):
        check_item({"k" * 1_000_001: 1})
    with pytest.raises(ParserFailed) as info:
        check_item({"a": [{"b": {1}}]})
    assert info.value.field == "a[0].b"


# ---------------------------------------------------------------------------------------------
# One long C call cannot be interrupted in-process: the worker that runs it is killed

NESTED_XPATH = """
from crawler.parsing import Page


def parse(page):
    big = Page("<div>" + "<b></b>" * 400 + "</div>")
    return {"n": big.xpath("count(//b[count(//b[count(//b[count(//b) > 1]) > 1]) > 1])").get()}
"""


def test_long_c_call_is_stopped_by_killing_its_worker() -> None:
    from crawler.workers import WorkerPool

    pool = WorkerPool(1)
    try:
        assert pool.run(GOOD_SOURCE, "<h1>warm</h1>", "http://x.test/").item == {"name": "warm"}
        start = time.monotonic()
        result = pool.run(NESTED_XPATH, "<p/>", "http://x.test/", time_limit=0.3)
        elapsed = time.monotonic() - start
        assert result.item is None and result.failure is not None
        assert "hard time limit" in result.failure
        assert elapsed < 3.0, f"took {elapsed:.1f} s"
        assert pool.replaced == 1
        after = pool.run(GOOD_SOURCE, "<h1>after</h1>", "http://x.test/")
        assert after.item == {"name": "after"}, "a new worker took the next page"
    finally:
        pool.close()


GOOD_SOURCE = """from crawler.parsing import Page, text


def parse(page: Page) -> dict:
    return {"name": text(page.css("h1"))}
"""
