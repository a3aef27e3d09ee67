"""The ``scrapec`` command line.

Exit codes: 0 success; 1 the work ran and found a failure (an unsafe parser, a fixture that
differs, an invalid item, nothing passed the gate); 2 bad input (a missing or unusable file, an
unknown schema, a bad option, a corrupt registry); 3 an internal error (a bug: the one line says
what was raised; ``SCRAPEC_DEBUG=1`` shows the traceback); 130 interrupted. Errors are one line
on stderr that names the input and the problem, with control characters escaped. Every file is
read bounded: its size is checked before it is read, and FIFOs, devices and folders are refused.
Heavy modules (the compiler, litellm, Playwright, Scrapy) are imported only by the commands that
need them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from crawler.exceptions import BadInput, ScrapecError
from crawler.settings import Settings

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FAILED = 1  # the work ran and found a failure
EXIT_BAD_INPUT = 2  # unusable input: nothing (or not everything) could be worked on
EXIT_INTERNAL = 3  # a bug in scrapec
MAX_SOURCE_BYTES = 4 * 2**20  # a parser file
_CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _printable(text: str) -> str:
    """``text`` safe to print on one line of a terminal or a log: control characters (``\\x1b``
    of a terminal escape, ``\\n``), line and paragraph separators, format characters (bidi
    overrides) and lone surrogates are written as Python escapes; other text is kept."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


def _json_line(value: Any) -> str:
    """One JSON line, UTF-8 kept readable; what ``str.splitlines()`` or a terminal would act on
    (U+0085, U+2028, U+2029, C1 controls) and lone surrogates are ``\\uXXXX`` escapes."""
    line = json.dumps(value, ensure_ascii=False)
    if line.isascii():
        return line
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", line)


def _out(text: str) -> None:
    print(_printable(text), flush=True)


def _err(message: str) -> None:
    print(f"scrapec: {_printable(message)}", file=sys.stderr, flush=True)


def _read_source(name: str) -> str:
    """A parser file as text: bounded (FIFOs, devices, folders, huge files refused), UTF-8."""
    from crawler.fixtures import read_input_file

    body = read_input_file(name, MAX_SOURCE_BYTES)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_schema_option(value: str | None) -> None:
    """A schema given by path must be a regular file of bounded size (a FIFO would hang the
    read, ``/dev/zero`` never end); names (``product``) are left to :func:`load_schema`."""
    if not value:
        return
    from crawler.exceptions import SchemaError
    from crawler.fixtures import MAX_JSON_BYTES, check_input_file

    if os.path.lexists(value):  # load_schema reads an existing path as a file
        check_input_file(value, MAX_JSON_BYTES, SchemaError)


def _check_state_option(value: str | None) -> None:
    if value and os.path.lexists(value) and not os.path.isdir(value):
        raise BadInput(f"{value}: --state must be a folder, not a file")


def _check_template_option(value: str | None) -> None:
    if value is not None:
        from crawler.registry import check_template_id

        check_template_id(value)


def _check_known_template(registry: Any, template: str) -> None:
    """A template named by an option must be in the registry (its folder safe to use); whether
    its ``parser.json`` is usable is for each page's result to say."""
    registry.folder(template)  # refuses a folder that leaves the registry
    if template not in registry.templates():
        known = ", ".join(registry.templates()) or "none"
        raise BadInput(
            f"unknown template {template!r} in registry {str(registry.root)!r} (templates: {known})"
        )


def _is_url(target: str) -> bool:
    """True for an http(s) URL; another ``scheme://`` is refused rather than taken as a file."""
    if target.startswith(("http://", "https://")):
        return True
    if _SCHEME.match(target):
        raise BadInput(f"{target!r}: not an http(s) URL (only http and https are fetched)")
    return False


def cmd_check(args: argparse.Namespace) -> int:
    from crawler.exceptions import PolicyViolation
    from crawler.sandbox import check_source

    status = 0
    for name in args.files:
        try:
            source = _read_source(name)
        except BadInput as exc:
            _err(str(exc))
            status = max(status, 2)
            continue
        try:
            check_source(source, name)
        except PolicyViolation as exc:
            _out(f"UNSAFE {exc}")
            status = max(status, 1)
        else:
            _out(f"ok     {name}")
    return status


def cmd_test(args: argparse.Namespace) -> int:
    from crawler.testing import run_fixture_tests

    _check_template_option(args.template)
    results = run_fixture_tests(args.registry, args.fixtures, args.template)
    failed = 0
    for template, outcome in results.items():
        status = "ok" if outcome.ok else "FAIL"
        _out(
            f"{status:4} {template}: {outcome.passed}/{outcome.total} cases"
            + (f" ({outcome.note})" if outcome.note else "")
        )
        for line in outcome.lines:
            _out(f"     {line}")
        failed += not outcome.ok
    if not results:
        _err(
            f"no fixtures found under {args.fixtures!r}"
            + (f" for template {args.template!r}" if args.template else "")
        )
        return 2
    return 1 if failed else 0


def _examples(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--example FIELD=VALUE`` (repeatable) and ``--examples FILE.json``, merged (flags win)."""
    from crawler.teach import parse_example

    found: dict[str, Any] = {}
    path = getattr(args, "examples_file", None)
    if path:
        from crawler.fixtures import MAX_JSON_BYTES, read_input_file

        try:
            data = json.loads(read_input_file(path, MAX_JSON_BYTES))
        except ValueError as exc:
            raise BadInput(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadInput(f"{path}: expected a JSON object of field to value")
        found.update(data)
    flags: dict[str, Any] = {}
    for text in getattr(args, "example", None) or []:
        name, value = parse_example(text)  # a field given twice is a list (authors)
        flags[name] = [*_as_list(flags[name]), value] if name in flags else value
    found.update(flags)
    return found or None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _fetcher(args: argparse.Namespace) -> Any:
    """The shell's fetcher: robots.txt obeyed and a delay between requests to one host, unless
    the flags say otherwise (the library's own defaults are neither)."""
    from crawler.fetch import Fetcher

    return Fetcher(
        robots=not getattr(args, "ignore_robots", False),
        delay=getattr(args, "delay", 1.0),
        timeout=getattr(args, "timeout", 30.0),
    )


def _saved_page(target: str, url: str | None) -> Any:
    """A saved .html file as a fetched page (its URL from ``--url``, ``<base>`` or meta.json)."""
    from crawler.extract import read_html_file
    from crawler.fetch import Fetched

    html, page_url = read_html_file(target, url)
    return Fetched.saved(html, page_url)


def cmd_extract(args: argparse.Namespace) -> int:
    import time

    from crawler.workers import default_pool

    default_pool().prestart()  # first: the worker's start-up overlaps this process's imports
    from crawler.api import Session
    from crawler.exceptions import FetchError
    from crawler.extract import Extraction

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    examples = _examples(args)
    if args.heal:
        _check_state_option(args.state)
        return _extract_heal(args)
    registry_root = Path(args.registry)
    if not registry_root.is_dir() and not args.schema:
        _err(
            f"{args.registry}: registry folder not found (pass --schema to teach templates from "
            "the pages, or --registry DIR)"
        )
        return 2
    fetcher = _fetcher(args)
    session = Session(
        args.registry, args.schema, fixtures=args.fixtures, fetcher=fetcher, learn=not args.no_learn
    )
    if args.template is not None:
        _check_known_template(session.registry, args.template)
    targets = list(args.targets)
    started = time.monotonic()
    counts = {"ok": 0, "invalid": 0, "failed": 0}
    status = 0

    def one(target: str) -> tuple[Extraction, int]:
        try:
            if _is_url(target):
                result = session.extract(
                    target,
                    examples=examples,
                    template=args.template,
                    render=args.render,
                    timeout=args.timeout,
                )
            else:
                page = _saved_page(target, args.url)
                result = session.extract_fetched(page, examples=examples, template=args.template)
        except (BadInput, FetchError) as exc:
            from crawler.api import failed

            return failed(target, exc), 2  # unusable input: the URL gave no HTML page
        return result, (0 if result.valid else 1)

    from concurrent.futures import ThreadPoolExecutor

    shown_at = started
    with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        for n, (target, (result, code)) in enumerate(
            zip(targets, pool.map(one, targets), strict=True), 1
        ):
            result.target = target
            if result.exception is not None:
                counts["failed"] += 1
                said = str(result.exception)
                _err(said if target in said else f"{target}: {said}")
            else:
                counts["ok" if result.valid else "invalid"] += 1
            if args.json:
                print(result.to_json(), flush=True)
            elif result.exception is None:
                mark = "ok     " if result.valid else "INVALID"
                _out(
                    f"{mark} {target} [{result.template} v{result.parser_version}] "
                    f"{_json_line(result.item)}"
                )
                if result.learned:
                    _out(f"        {result.learned}")
                for error in result.errors:
                    _out(f"        {error}")
            status = max(status, code)
            now = time.monotonic()
            if len(targets) > 1 and not args.quiet and (now - shown_at >= 2 or n == len(targets)):
                shown_at = now
                rate = n / max(now - started, 1e-9)
                print(
                    f"scrapec: {n}/{len(targets)} done: {counts['ok']} ok, {counts['invalid']} "
                    f"invalid, {counts['failed']} failed ({rate:.1f}/s)",
                    file=sys.stderr,
                    flush=True,
                )
    fetcher.close()
    return status


def _outcome_line(target: str, outcome: object) -> str:
    from crawler.runtime import PageOutcome

    assert isinstance(outcome, PageOutcome)
    return _json_line(
        {
            "target": target,
            "url": outcome.url,
            "template": outcome.template,
            "parser_version": outcome.parser_version,
            "item": outcome.item,
            "valid": outcome.status == "ok",
            "errors": outcome.errors,
            "status": outcome.status,
        }
    )


def _runtime(args: argparse.Namespace) -> object:
    from crawler.runtime import Runtime

    return Runtime(
        args.registry,
        state_dir=getattr(args, "state", None),
        fixtures_dir=getattr(args, "fixtures", None),
        schema=getattr(args, "schema", None),
        log=lambda m: print(_printable(m), file=sys.stderr, flush=True),
    )


def _extract_heal(args: argparse.Namespace) -> int:
    """Saved pages through the crawl's detection and repair path: failing pages are held, their
    template regenerated (cheapest tier first), and held pages parsed again."""
    from crawler.extract import read_html_file
    from crawler.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    targets: dict[str, str] = {}
    status = 0
    outcomes = []
    import time

    started = time.time()
    from crawler.exceptions import FetchError

    fetcher = _fetcher(args) if any(_is_url(t) for t in args.targets) else None
    for target in args.targets:
        encoding = None
        try:
            if _is_url(target):
                assert fetcher is not None
                fetched = fetcher.fetch(target, render=bool(args.render), timeout=args.timeout)
                html: str | bytes = fetched.body
                url, encoding = fetched.final_url, fetched.encoding
            else:
                html, url = read_html_file(target, args.url)
        except (BadInput, FetchError) as exc:
            _err(str(exc))
            status = 2
            continue
        targets[url] = target
        outcomes.append(
            runtime.process(html, url, encoding, template=args.template, item_page=True)
        )
    if fetcher is not None:
        fetcher.close()

    def show(batch: list[Any]) -> None:
        nonlocal status
        for one in [o for outcome in batch for o in outcome.all()]:
            if args.json:
                print(_outcome_line(targets.get(one.url, one.url), one), flush=True)
            else:
                _out(f"{one.status:11} {one.url} {_json_line(one.item)}")
            if one.status != "ok":
                status = max(status, 1)

    show(outcomes)
    flushed = runtime.flush()
    show(flushed)
    runtime.close()
    from crawler.runs import RunHistoryError, record_run

    try:  # the run history the report compares against
        record_run(
            runtime.registry.root,
            "extract",
            started=started,
            outcomes=[*outcomes, *flushed],
            stats=dict(runtime.stats),
        )
    except RunHistoryError as exc:
        _err(f"the run was not recorded: {exc}")
    return status


def cmd_quarantine(args: argparse.Namespace) -> int:
    from crawler.runtime import Runtime

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    _check_state_option(args.state)
    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    pages = runtime.store.pages("quarantine", args.template)
    if args.action == "list":
        for meta in pages:
            fields = (meta.template, meta.url, meta.reason)
            print("\t".join(_printable(str(f)) for f in fields))
        print(f"{len(pages)} quarantined pages", file=sys.stderr)
        return 0
    # replay: quarantined pages of a template are held again and the template regenerated;
    # pages that no template fitted go through the runtime again (a template may exist now)
    status = 0
    released = []
    for template in sorted({m.template for m in pages}):
        metas = [(m, runtime.store.html(m)) for m in pages if m.template == template]
        for meta, html in metas:
            runtime.store.remove("quarantine", template, meta.url)
            if template.startswith("new/"):
                released.append(runtime.process(html, meta.url, item_page=True))
            else:
                runtime.store.put("held", template, meta.url, html, meta.reason)
        if not template.startswith("new/"):
            released += runtime.regenerate(template, final=True)
    for one in [o for r in released for o in r.all()]:
        print(_outcome_line(one.url, one))
        if one.status != "ok":
            status = 1
    runtime.close()
    return status


def _target_page(args: argparse.Namespace, target: str) -> Any:
    """URL or saved .html file as a :class:`~crawler.parsing.Page` (a URL fetched politely)."""
    from crawler.extract import check_page_bytes
    from crawler.parsing import Page

    if _is_url(target):
        fetcher = _fetcher(args)
        try:
            fetched = fetcher.fetch(target, render=bool(getattr(args, "render", False)))
        finally:
            fetcher.close()
    else:
        fetched = _saved_page(target, args.url)
    check_page_bytes(fetched.body, target)
    return Page(fetched.body, fetched.final_url, fetched.encoding), fetched.rendered


def cmd_fixture_save(args: argparse.Namespace) -> int:
    from crawler.extract import Extractor
    from crawler.fixtures import Fixture
    from crawler.registry import Registry, check_template_id
    from crawler.schemas import load_schema

    _check_schema_option(args.schema)
    if args.case is not None and not _CASE_NAME.fullmatch(args.case):
        raise BadInput(
            f"bad --case {args.case!r}: one folder name of letters, digits, '.', '_' and '-'"
        )
    registry = Registry(args.registry)
    if args.template is not None:
        check_template_id(args.template)
    known = args.template is not None and args.template in registry.templates()
    if not known and not args.schema:
        raise BadInput(
            (
                f"template {args.template!r} is not in registry {str(registry.root)!r}"
                if args.template
                else "no --template"
            )
            + ": pass --schema NAME to save the first fixture of a new template"
        )
    page, _rendered = _target_page(args, args.target)
    schema = load_schema(args.schema) if args.schema else None
    examples = _examples(args)
    if known:
        template = args.template
        extractor = Extractor(registry, schema)
        registry.info(template)  # readable
        result = extractor.extract_page(page, template)
        schema = schema or extractor.schema_for(template)
        expected = result.item or {}
        if examples and schema is not None:
            from crawler.teach import example_labels

            expected = {**expected, **example_labels(page, schema, examples)}
        how = f"parser v{result.parser_version}, " + (
            "valid" if result.valid else "INVALID: " + "; ".join(result.errors)
        )
        partial = False
    else:
        from crawler.teach import page_labels, template_for

        assert schema is not None
        template = args.template or template_for(page, schema, registry)
        expected, sources = page_labels(page, schema, examples)[:2]
        if not expected:
            raise BadInput(
                f"{args.target}: nothing labels this page for schema {schema.name!r} (no "
                "structured data): pass the values with --example FIELD=VALUE"
            )
        how = "new template, labelled from " + ", ".join(sorted(set(sources.values())))
        partial = True
    root = Path(args.fixtures)
    folder = root / template
    case = folder / (args.case or f"case-{len(list(folder.glob('*'))) + 1:02d}")
    resolved, inside = case.resolve(), root.resolve()
    if not resolved.is_relative_to(inside):
        raise BadInput(
            f"{case}: resolves to {str(resolved)!r}, outside the fixtures folder {str(inside)!r}"
        )
    if os.path.lexists(case):
        _err(f"{case}: fixture already exists (choose another --case)")
        return 2
    fixture = Fixture(
        case,
        template,
        page.url,
        schema.name if schema else None,
        expected,
        meta={"review": "unreviewed"},
        partial=partial,
        source=page.source,
    )
    fixture.save(case)
    _out(f"saved {case} ({how}): review {case / 'expected.json'}, then scrapec fixture accept")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Teach a template from one page: its first fixture and a published parser."""
    from crawler.api import Session
    from crawler.schemas import load_schema
    from crawler.teach import teach

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    schema = load_schema(args.schema)
    examples = _examples(args)
    session = Session(args.registry, schema, fixtures=args.fixtures)
    page, rendered = _target_page(args, args.target)
    template = args.template
    if template is None:
        try:
            template = session.registry.route(page.url, None, page).template
            _out(f"{page.url} fits template {template}: this page is added to its fixtures")
        except ScrapecError:
            template = None
    lesson = teach(
        page,
        schema,
        session.registry,
        examples=examples,
        template=template,
        llm=session.llm(),
        fixtures_dir=session.fixtures,
        render=rendered or None,
        progress=None if args.quiet else lambda m: print(_printable(m), file=sys.stderr),
    )
    for name, value in lesson.labels.items():
        _out(f"    {name:18} {lesson.sources.get(name, '?'):12} {_json_line(value)[:100]}")
    if not lesson.published:
        for problem in lesson.problems:
            _err(problem)
        return 1
    result = lesson.result
    _out(
        f"{lesson.template}: published v{lesson.version} ({result.generator}) from "
        f"{result.cases} page(s); fixture {lesson.saved}; llm_calls={lesson.llm_calls} "
        f"cost=${lesson.cost_usd:.4f}"
    )
    for name, entry in result.fields.items():
        if "missing" in entry:
            _out(f"    field {name}: LEFT OUT: {entry['missing']}")
    for line in result.notes:
        _out(f"    note: {line}")
    return 0


def crawl_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The ``scrapy crawl site`` command line and environment of ``scrapec crawl``: scrapec's own
    Scrapy settings module (``SCRAPY_SETTINGS_MODULE``), so it runs in any folder, no project."""
    from crawler.fetch import check_url
    from crawler.schemas import load_schema

    check_url(args.url)
    load_schema(args.schema)  # an unknown schema fails here, named
    cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"start_url={args.url}"]
    cmd += ["-a", f"schema={args.schema}"]
    for name in ("follow", "items", "template"):
        if getattr(args, name):
            cmd += ["-a", f"{name}={getattr(args, name)}"]
    settings = {
        "SCRAPEC_REGISTRY": args.registry,
        "SCRAPEC_FIXTURES": args.fixtures,
        "LOG_LEVEL": args.log_level,
    }
    if args.state:
        settings["SCRAPEC_STATE_DIR"] = args.state
    if args.jobdir:
        settings["JOBDIR"] = args.jobdir
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    for text in args.set or []:
        if "=" not in text:
            raise BadInput(f"-s {text!r}: expected NAME=VALUE")
        cmd += ["-s", text]
    cmd += ["-O", args.output] if args.output else ["-o", "stdout::jsonlines"]
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.crawl.settings")
    return cmd, env


def cmd_crawl(args: argparse.Namespace) -> int:
    """``scrapy crawl site`` without a Scrapy project: the add-on and the generic spider; the
    exit code is the crawl's."""
    import subprocess

    cmd, env = crawl_command(args)
    return subprocess.call(cmd, env=env)


def cmd_fixture_list(args: argparse.Namespace) -> int:
    """Every fixture with its review status: ``STATUS  SITE/NAME/CASE  URL  NOTE``, tab-separated
    (the review queue is ``--status unreviewed``)."""
    from crawler.fixtures import load_fixtures

    _check_template_option(args.template)
    fixtures = load_fixtures(args.fixtures, args.template, retired=True)
    shown = [f for f in fixtures if args.status in ("all", f.review)]
    for f in shown:
        if f.review == "retired":
            note = (
                f"v{f.meta.get('version', '?')}, replaced by v{f.meta.get('retired_by', '?')}"
                f" ({f.meta.get('retired_reason', '')})"
            )
        elif f.review == "unreviewed":
            made = f.meta.get("source") or "saved"
            note = f"{made}: check {f.path / 'expected.json'}, then scrapec fixture accept {f.name}"
        else:
            note = ""
        print("\t".join(_printable(str(x)) for x in (f.review, f.name, f.url, note)))
    counts = {
        s: sum(f.review == s for f in fixtures) for s in ("reviewed", "unreviewed", "retired")
    }
    print(
        f"{len(shown)} fixtures shown: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        file=sys.stderr,
    )
    return 0


def _set_review(args: argparse.Namespace, status: str) -> int:
    from crawler.fixtures import find_case, load_fixtures, set_review

    cases = [find_case(args.fixtures, name) for name in args.cases]
    if args.template is not None:
        _check_template_option(args.template)
        every = load_fixtures(args.fixtures, args.template, retired=True)
        # accept: the review queue of the template; retire: every case not retired yet
        cases += [
            f.path
            for f in every
            if (f.review == "unreviewed" if status == "reviewed" else f.review != "retired")
        ]
    if not cases:
        raise BadInput(
            "no fixtures named: give SITE/NAME/CASE (scrapec fixture list) or --template"
        )
    marks: dict[str, Any] = {}
    if status == "retired":
        marks = {"version": args.version, "retired_reason": args.reason or "retired by hand"}
    for case in dict.fromkeys(cases):
        fixture = set_review(case, status, **marks)
        _out(f"{fixture.review:10} {fixture.name}")
    return 0


def cmd_fixture_accept(args: argparse.Namespace) -> int:
    """Mark fixtures reviewed: a person checked their expected.json; they gate as the truth."""
    return _set_review(args, "reviewed")


def cmd_fixture_retire(args: argparse.Namespace) -> int:
    """Retire fixtures: kept, marked with the version they belong to, gating nothing."""
    return _set_review(args, "retired")


def cmd_report(args: argparse.Namespace) -> int:
    from crawler.report import ReportOptions, notify, parse_since, summary_markdown, write_report

    _check_state_option(args.state)
    if args.budget_usd is not None and not args.budget_usd >= 0:
        raise BadInput(f"--budget-usd {args.budget_usd!r}: expected a number of USD >= 0")
    opts = ReportOptions(
        registry=args.registry,
        out=args.out,
        fixtures=args.fixtures,
        state_dir=args.state,
        since=parse_since(args.since),
        samples=args.samples,
        regenerate=args.regenerate,
        budget_usd=args.budget_usd,
        log=lambda m: print(_printable(m), file=sys.stderr, flush=True),
    )
    report, paths = write_report(opts)
    for path in paths:
        _out(str(path))
    for problem in report["errors"]:
        print(f"scrapec report: {_printable(problem)}", file=sys.stderr)
    for t in report["templates"]:
        for problem in t["errors"]:
            print(f"scrapec report: {t['template']}: {_printable(problem)}", file=sys.stderr)
    code = int(report["exit_code"])
    if code and args.notify:
        failed = notify(args.notify, summary_markdown(report))
        if failed:
            print(f"scrapec report: cannot notify: {_printable(failed)}", file=sys.stderr)
    return code


def cmd_compile(args: argparse.Namespace) -> int:
    from crawler.compiler import compile_template

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    results = compile_template(
        args.fixtures,
        args.schema,
        args.registry,
        args.template,
        args.generator,
        progress=None
        if args.quiet or args.json
        else lambda m: print(_printable(m), file=sys.stderr, flush=True),
    )
    for r in results:
        if args.json:
            print(_json_line(r.as_dict()))
            continue
        head = f"published v{r.version}" if r.published else "NOT PUBLISHED"
        _out(
            f"{r.template}: {head} generator={r.generator or '-'} cases={r.cases_passed}/{r.cases} "
            f"llm_calls={r.llm_calls} tokens={r.llm_tokens} cost=${r.llm_cost:.4f} seconds={r.seconds:.2f}"
        )
        for name, entry in r.fields.items():
            state = f"LEFT OUT: {entry['missing']}" if "missing" in entry else entry["how"]
            held = entry.get("held_out")
            estimate = f", leave-one-out {held:.0%}" if isinstance(held, int | float) else ""
            _out(f"    field {name}: {state} (exact {entry['exact']}{estimate})")
        for line in r.notes:
            _out(f"    note: {line}")
        for line in r.report:
            _out(f"    {line}")
    return 0 if all(r.published for r in results) else 1


def cmd_publish(args: argparse.Namespace) -> int:
    from crawler.testing import publish_checked

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    source = _read_source(args.file)
    version, lines = publish_checked(
        args.registry,
        args.template,
        source,
        args.schema,
        args.fixtures,
        reason=args.reason or f"published from {args.file}",
    )
    for line in lines:
        _out(line)
    if version is None:
        return 1
    _out(f"published {args.template} v{version}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from crawler.registry import Registry

    _check_template_option(args.template)
    registry = Registry(args.registry)
    if not registry.root.is_dir():
        raise BadInput(f"{args.registry}: registry folder not found")
    registry.info(args.template)  # refuses an unknown template before the lock is taken
    version = registry.rollback(args.template, args.version)
    _out(f"{args.template}: active version is now v{version}")
    return 0


class _ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (``scrapec extract: ... (see scrapec extract --help)``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {_printable(message)} (see {self.prog} --help)\n")


def _teaching_options(p: argparse.ArgumentParser) -> None:
    """Options of the commands that fetch and teach: examples, rendering, politeness."""
    p.add_argument(
        "--example",
        action="append",
        metavar="FIELD=VALUE",
        help="a value read on the page (repeat per field; twice for a list)",
    )
    p.add_argument(
        "--examples", dest="examples_file", metavar="FILE.json", help="example values as JSON"
    )
    p.add_argument(
        "--render",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="render in Chromium (default: when the template or the page needs it)",
    )
    p.add_argument(
        "--delay", type=float, default=1.0, help="seconds between requests to one host (1)"
    )
    p.add_argument("--ignore-robots", action="store_true", help="do not obey robots.txt")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per page (30)")


def build_parser(defaults: Settings | None = None) -> argparse.ArgumentParser:
    """The command line; ``defaults`` gives the default of ``--registry`` and ``--fixtures``
    (:meth:`Settings.from_env`: ``SCRAPEC_REGISTRY``, ``SCRAPEC_FIXTURES``), flags override."""
    defaults = defaults or Settings()  # made now: the per-user folders as the environment says
    parser = _ArgumentParser(
        prog="scrapec", description="Compile, verify and run deterministic scrapers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check parser files against the sandbox policy")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("test", help="run every active parser against its fixtures")
    p.add_argument("template", nargs="?", metavar="TEMPLATE")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.set_defaults(func=cmd_test)

    p = sub.add_parser(
        "extract",
        help="extract items from URLs or saved .html files (a never-seen template is taught)",
    )
    p.add_argument("targets", nargs="+", metavar="TARGET")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument(
        "--schema", metavar="SCHEMA", help="item schema; with it, new templates are taught"
    )
    p.add_argument("--url", help="URL of the saved page (for a single file)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _teaching_options(p)
    p.add_argument(
        "--no-learn", action="store_true", help="never teach a template: known templates only"
    )
    p.add_argument("--concurrency", type=int, default=4, help="URLs fetched at once (default 4)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument(
        "--heal",
        action="store_true",
        help="hold failing pages, regenerate their template, parse them again",
    )
    p.add_argument(
        "--fixtures",
        default=defaults.fixtures,
        help="fixtures of the templates; the first page of a taught template is kept there",
    )
    p.add_argument(
        "--state", help="held/quarantine folder (with --heal; default <registry>/.state)"
    )
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "publish", help="check a parser against the policy and fixtures, then publish it"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--template", required=True, metavar="SITE/NAME")
    p.add_argument("--schema", required=True)
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--fixtures", metavar="DIR", help="fixtures of the template (all must pass)")
    p.add_argument("--reason")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("rollback", help="activate an earlier version of a template's parser")
    p.add_argument("template", metavar="SITE/NAME")
    p.add_argument("--version", type=int)
    p.add_argument("--registry", default=defaults.registry)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser(
        "quarantine", help="list quarantined pages or replay them through regeneration"
    )
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--schema")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser(
        "fixture",
        help="save a page as a fixture for review; list, accept or retire fixtures",
    )
    fixture_sub = p.add_subparsers(dest="fixture_command", required=True)
    p = fixture_sub.add_parser(
        "save",
        help="save URL or FILE as a fixture of --template (a new one with --schema)",
    )
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--template", metavar="SITE/NAME", help="default: the new <site>/<schema>")
    p.add_argument("--schema", help="the schema of a template not in the registry yet")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--url", help="URL of a saved page")
    p.add_argument("--case", help="case folder name (default case-NN)")
    _teaching_options(p)
    p.set_defaults(func=cmd_fixture_save)
    p = fixture_sub.add_parser(
        "list", help="every fixture with its review status: reviewed, unreviewed, retired"
    )
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--status", choices=["all", "reviewed", "unreviewed", "retired"], default="all")
    p.set_defaults(func=cmd_fixture_list)
    p = fixture_sub.add_parser(
        "accept", help="mark fixtures reviewed (their expected.json checked by a person)"
    )
    p.add_argument("cases", nargs="*", metavar="SITE/NAME/CASE")
    p.add_argument("--template", metavar="SITE/NAME", help="every unreviewed case of it")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.set_defaults(func=cmd_fixture_accept)
    p = fixture_sub.add_parser(
        "retire", help="retire fixtures (kept, marked with their version, gating nothing)"
    )
    p.add_argument("cases", nargs="*", metavar="SITE/NAME/CASE")
    p.add_argument("--template", metavar="SITE/NAME", help="every case of it")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--version", type=int, help="the parser version they belong to")
    p.add_argument("--reason")
    p.set_defaults(func=cmd_fixture_retire)

    p = sub.add_parser(
        "new", help="teach a template from one page (examples or its structured data)"
    )
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--schema", required=True, help="schema name (product, article, …) or path")
    p.add_argument("--template", metavar="SITE/NAME", help="default <site>/<schema>")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument(
        "--fixtures", default=defaults.fixtures, help="where the page is kept as a fixture"
    )
    p.add_argument("--url", help="URL of a saved page")
    p.add_argument("--quiet", action="store_true", help="no compile progress on stderr")
    _teaching_options(p)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("crawl", help="crawl a site from URL with no Scrapy project")
    p.add_argument("url", metavar="URL")
    p.add_argument("--schema", required=True)
    p.add_argument("-o", "--output", metavar="FILE", help="items as JSON lines (default stdout)")
    p.add_argument("--follow", metavar="REGEX", help="follow only links matching REGEX")
    p.add_argument("--items", metavar="REGEX", help="URLs of pages that must hold an item")
    p.add_argument("--template", metavar="SITE/NAME", help="one template for every page")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
    p.add_argument("--jobdir", help="Scrapy JOBDIR: a crawl that can be stopped and resumed")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="a Scrapy setting")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser(
        "report",
        help="the nightly report: every template healthy, healed, drifting or broken "
        "(exit 1 when one is broken or drifting)",
    )
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
    p.add_argument("--since", default="7d", help="the window: 7d, 12h, 30m, seconds")
    p.add_argument("--samples", metavar="DIR", help="sample pages: DIR/<site>/<name>/*.html")
    p.add_argument("--regenerate", action="store_true", help="regenerate what is broken")
    p.add_argument("--budget-usd", type=float, metavar="X", help="LLM budget of --regenerate")
    p.add_argument(
        "--notify", metavar="CMD|URL", help="on exit 1: CMD gets the summary on stdin, or POST it"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compile", help="generate, verify and publish parsers from fixtures")
    p.add_argument("fixtures", metavar="FIXTURES_DIR")
    p.add_argument("--schema", required=True, help="schema name from schemas/ or a path")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--generator", choices=["auto", "induce", "llm"], default="auto")
    p.add_argument("--json", action="store_true", help="one JSON object per template")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_compile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except BadInput as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScrapecError as exc:
        _err(str(exc))
        from crawler.exceptions import RegistryError

        return EXIT_BAD_INPUT if isinstance(exc, BadInput | RegistryError) else EXIT_FAILED
    except OSError as exc:
        name = getattr(exc, "filename", None)
        _err(f"{name}: {exc.strerror or exc}" if name else f"{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # a bug: still one line, with the traceback on request
        if settings.debug:
            raise
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = (
            f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}" if where else ""
        )
        _err(
            f"internal error: {type(exc).__name__}: {exc}{place} "
            "(a bug in scrapec; SCRAPEC_DEBUG=1 shows the traceback)"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
