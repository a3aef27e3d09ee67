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
from crawler.settings import DEFAULT, Settings

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


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.extract import Extraction, Extractor, read_html_file

    _check_template_option(args.template)
    _check_schema_option(args.schema)
    extractor = Extractor(args.registry, args.schema, record=True)
    if not extractor.registry.root.is_dir():
        _err(f"{args.registry}: registry folder not found")
        return 2
    if args.heal:
        _check_state_option(args.state)
        return _extract_heal(args)
    if args.template is not None:
        _check_known_template(extractor.registry, args.template)
    status = 0
    for target in args.targets:
        try:
            if _is_url(target):
                from crawler.extract import extract

                result = extract(
                    target, registry=extractor.registry, template=args.template, schema=args.schema
                )
            else:
                html, url = read_html_file(target, args.url)
                result = extractor.extract_html(html, url, args.template)
        except BadInput as exc:
            _err(str(exc))
            result = Extraction(args.url or "", args.template, None, None, False, [str(exc)])
            status = 2
        result.target = target
        if args.json:
            print(result.to_json(), flush=True)
        else:
            mark = "ok     " if result.valid else "INVALID"
            _out(
                f"{mark} {target} [{result.template} v{result.parser_version}] {_json_line(result.item)}"
            )
            for error in result.errors:
                _out(f"        {error}")
        if not result.valid and status == 0:
            status = 1
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
    for target in args.targets:
        try:
            if _is_url(target):
                raise BadInput(f"{target!r}: --heal takes saved .html files, not URLs")
            html, url = read_html_file(target, args.url)
        except BadInput as exc:
            _err(str(exc))
            status = 2
            continue
        targets[url] = target
        outcomes.append(runtime.process(html, url, template=args.template, item_page=True))

    def show(batch: list[Any]) -> None:
        nonlocal status
        for one in [o for outcome in batch for o in outcome.all()]:
            if args.json:
                print(_outcome_line(targets.get(one.url, one.url), one), flush=True)
            else:
                _out(f"{one.status:11} {one.url} {_json_line(one.item)}")
            if one.status != "ok" and status == 0:
                status = 1

    show(outcomes)
    show(runtime.flush())
    runtime.close()
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


def cmd_fixture_save(args: argparse.Namespace) -> int:
    from crawler.extract import Extractor, check_page_bytes, read_html_file
    from crawler.fixtures import Fixture
    from crawler.parsing import Page
    from crawler.registry import check_template_id

    template = check_template_id(args.template)
    if args.case is not None and not _CASE_NAME.fullmatch(args.case):
        raise BadInput(
            f"bad --case {args.case!r}: one folder name of letters, digits, '.', '_' and '-'"
        )
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
    extractor = Extractor(args.registry)
    extractor.registry.info(template)  # the template must exist and be readable
    if _is_url(args.target):
        from crawler.fetch import fetch

        body, url, encoding = fetch(args.target)
        check_page_bytes(body, args.target)
        html = Page(body, url, encoding).source
    else:
        html, url = read_html_file(args.target, args.url)
    result = extractor.extract_html(html, url, template)
    schema = extractor.schema_for(template)
    fixture = Fixture(
        case,
        template,
        url,
        schema.name if schema else None,
        result.item or {},
        meta={"review": "saved from the current parser: check expected.json"},
        source=html,
    )
    fixture.save(case)
    _out(
        f"saved {case} (parser v{result.parser_version}, {'valid' if result.valid else 'INVALID: ' + '; '.join(result.errors)}): review {case / 'expected.json'}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from crawler.report import write_report

    _check_state_option(args.state)
    paths = write_report(args.registry, args.out, args.fixtures, state_dir=args.state)
    for path in paths:
        _out(str(path))
    return 0


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


def build_parser(defaults: Settings = DEFAULT) -> argparse.ArgumentParser:
    """The command line; ``defaults`` gives the default of ``--registry`` and ``--fixtures``
    (:meth:`Settings.from_env`: ``SCRAPEC_REGISTRY``, ``SCRAPEC_FIXTURES``), flags override."""
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

    p = sub.add_parser("extract", help="extract items from URLs or saved .html files")
    p.add_argument("targets", nargs="+", metavar="TARGET")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--schema", metavar="SCHEMA")
    p.add_argument("--url", help="URL of the saved page (for a single file)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--heal",
        action="store_true",
        help="hold failing pages, regenerate their template, parse them again",
    )
    p.add_argument(
        "--fixtures", default=defaults.fixtures, help="fixtures of the templates (with --heal)"
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
        "fixture", help="save a page as a fixture with the current parser's item, for review"
    )
    fixture_sub = p.add_subparsers(dest="fixture_command", required=True)
    p = fixture_sub.add_parser("save", help="save URL or FILE as a fixture of --template")
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--template", required=True, metavar="SITE/NAME")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--url", help="URL of a saved page")
    p.add_argument("--case", help="case folder name (default case-NN)")
    p.set_defaults(func=cmd_fixture_save)

    p = sub.add_parser("report", help="the nightly regeneration report")
    p.add_argument("--registry", default=defaults.registry)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--fixtures", default=defaults.fixtures)
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
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
