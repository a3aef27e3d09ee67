"""The ``scrapec`` command line.

Exit codes: 0 success; 1 the work ran and found a failure (an unsafe parser, a fixture that
differs, an invalid item, nothing passed the gate); 2 bad input (a missing file, an unknown
schema, a corrupt registry). Errors are one line on stderr that names the file and the problem.
Heavy modules (the compiler, litellm, Playwright, Scrapy) are imported only by the commands that
need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.exceptions import ScrapecError

__all__ = ["main"]


def _err(message: str) -> None:
    print(f"scrapec: {message}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from crawler.exceptions import PolicyViolation
    from crawler.sandbox import check_source

    status = 0
    for name in args.files:
        path = Path(name)
        try:
            source = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _err(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
            status = max(status, 2)
            continue
        try:
            check_source(source, str(path))
        except PolicyViolation as exc:
            print(f"UNSAFE {exc}")
            status = max(status, 1)
        else:
            print(f"ok     {path}")
    return status


def cmd_test(args: argparse.Namespace) -> int:
    from crawler.testing import run_fixture_tests

    results = run_fixture_tests(args.registry, args.fixtures, args.template)
    failed = 0
    for template, outcome in results.items():
        status = "ok" if outcome.ok else "FAIL"
        print(
            f"{status:4} {template}: {outcome.passed}/{outcome.total} cases"
            + (f" ({outcome.note})" if outcome.note else "")
        )
        for line in outcome.lines:
            print(f"     {line}")
        failed += not outcome.ok
    if not results:
        _err(
            f"no fixtures found under {args.fixtures!r}"
            + (f" for template {args.template!r}" if args.template else "")
        )
        return 2
    return 1 if failed else 0


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.exceptions import BadInput
    from crawler.extract import Extraction, Extractor, read_html_file

    extractor = Extractor(args.registry, args.schema, record=True)
    if not extractor.registry.root.is_dir():
        _err(f"{args.registry}: registry folder not found")
        return 2
    if args.heal:
        return _extract_heal(args)
    status = 0
    for target in args.targets:
        try:
            if target.startswith(("http://", "https://")):
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
            print(
                f"{mark} {target} [{result.template} v{result.parser_version}] {json.dumps(result.item, ensure_ascii=False)}"
            )
            for error in result.errors:
                print(f"        {error}")
        if not result.valid and status == 0:
            status = 1
    return status


def _outcome_line(target: str, outcome: object) -> str:
    from crawler.runtime import PageOutcome

    assert isinstance(outcome, PageOutcome)
    return json.dumps(
        {
            "target": target,
            "url": outcome.url,
            "template": outcome.template,
            "parser_version": outcome.version,
            "item": outcome.item,
            "valid": outcome.status == "ok",
            "errors": outcome.errors,
            "status": outcome.status,
        },
        ensure_ascii=False,
    )


def _runtime(args: argparse.Namespace) -> object:
    from crawler.runtime import Runtime

    return Runtime(
        args.registry,
        state_dir=getattr(args, "state", None),
        fixtures_dir=getattr(args, "fixtures", None),
        schema=getattr(args, "schema", None),
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )


def _extract_heal(args: argparse.Namespace) -> int:
    """Saved pages through the crawl's detection and repair path: failing pages are held, their
    template regenerated (cheapest tier first), and held pages parsed again."""
    from crawler.exceptions import BadInput
    from crawler.extract import read_html_file
    from crawler.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    targets: dict[str, str] = {}
    status = 0
    outcomes = []
    for target in args.targets:
        try:
            html, url = read_html_file(target, args.url)
        except BadInput as exc:
            _err(str(exc))
            status = 2
            continue
        targets[url] = target
        outcomes.append(runtime.process(html, url, template=args.template, item_page=True))
    for outcome in outcomes:
        for one in outcome.all():
            print(
                _outcome_line(targets.get(one.url, one.url), one)
                if args.json
                else f"{one.status:11} {one.url} {json.dumps(one.item, ensure_ascii=False)}"
            )
            if one.status != "ok" and status == 0:
                status = 1
    for one in [o for outcome in runtime.flush() for o in outcome.all()]:
        print(
            _outcome_line(targets.get(one.url, one.url), one)
            if args.json
            else f"{one.status:11} {one.url} {json.dumps(one.item, ensure_ascii=False)}"
        )
        if one.status != "ok" and status == 0:
            status = 1
    runtime.close()
    return status


def cmd_quarantine(args: argparse.Namespace) -> int:
    from crawler.runtime import Runtime

    runtime = _runtime(args)
    assert isinstance(runtime, Runtime)
    pages = runtime.store.pages("quarantine", args.template)
    if args.action == "list":
        for meta in pages:
            print(f"{meta['template']}\t{meta['url']}\t{meta.get('reason', '')}")
        print(f"{len(pages)} quarantined pages", file=sys.stderr)
        return 0
    # replay: quarantined pages of a template are held again and the template regenerated;
    # pages that no template fitted go through the runtime again (a template may exist now)
    status = 0
    released = []
    for template in sorted({m["template"] for m in pages}):
        metas = [(m, runtime.store.html(m)) for m in pages if m["template"] == template]
        for meta, html in metas:
            runtime.store.remove("quarantine", template, meta["url"])
            if template.startswith("new/"):
                released.append(runtime.process(html, meta["url"], item_page=True))
            else:
                runtime.store.put("held", template, meta["url"], html, meta.get("reason", "replay"))
        if not template.startswith("new/"):
            released += runtime.regenerate(template, final=True)
    for one in [o for r in released for o in r.all()]:
        print(_outcome_line(one.url, one))
        if one.status != "ok":
            status = 1
    runtime.close()
    return status


def cmd_fixture_save(args: argparse.Namespace) -> int:
    from crawler.extract import Extractor, read_html_file
    from crawler.fixtures import Fixture
    from crawler.parsing import Page

    extractor = Extractor(args.registry)
    if args.target.startswith(("http://", "https://")):
        from crawler.fetch import fetch

        body, url, encoding = fetch(args.target)
        html = Page(body, url, encoding).source
    else:
        html, url = read_html_file(args.target, args.url)
    result = extractor.extract_html(html, url, args.template)
    schema = extractor.schema_for(args.template)
    case = (
        Path(args.fixtures)
        / args.template
        / (
            args.case
            or f"case-{len(list((Path(args.fixtures) / args.template).glob('*'))) + 1:02d}"
        )
    )
    if case.exists():
        _err(f"{case}: fixture already exists (choose another --case)")
        return 2
    fixture = Fixture(
        case,
        args.template,
        url,
        schema.name if schema else None,
        result.item or {},
        meta={"review": "saved from the current parser: check expected.json"},
        source=html,
    )
    fixture.save(case)
    print(
        f"saved {case} (parser v{result.parser_version}, {'valid' if result.valid else 'INVALID: ' + '; '.join(result.errors)}): review {case / 'expected.json'}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from crawler.report import write_report

    paths = write_report(args.registry, args.out, args.fixtures, state_dir=args.state)
    for path in paths:
        print(path)
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from crawler.compiler import compile_template

    results = compile_template(
        args.fixtures,
        args.schema,
        args.registry,
        args.template,
        args.generator,
        progress=None
        if args.quiet or args.json
        else lambda m: print(m, file=sys.stderr, flush=True),
    )
    for r in results:
        if args.json:
            print(json.dumps(r.as_dict(), ensure_ascii=False))
            continue
        head = f"published v{r.version}" if r.published else "NOT PUBLISHED"
        print(
            f"{r.template}: {head} generator={r.generator or '-'} cases={r.cases_passed}/{r.cases} "
            f"llm_calls={r.llm_calls} tokens={r.llm_tokens} cost=${r.llm_cost:.4f} seconds={r.seconds:.2f}"
        )
        for name, entry in r.fields.items():
            state = f"LEFT OUT: {entry['missing']}" if "missing" in entry else entry["how"]
            held = entry.get("held_out")
            estimate = f", leave-one-out {held:.0%}" if isinstance(held, int | float) else ""
            print(f"    field {name}: {state} (exact {entry['exact']}{estimate})")
        for line in r.notes:
            print(f"    note: {line}")
        for line in r.report:
            print(f"    {line}")
    return 0 if all(r.published for r in results) else 1


def cmd_publish(args: argparse.Namespace) -> int:
    from crawler.testing import publish_checked

    source = Path(args.file).read_text("utf-8")
    version, lines = publish_checked(
        args.registry,
        args.template,
        source,
        args.schema,
        args.fixtures,
        reason=args.reason or f"published from {args.file}",
    )
    for line in lines:
        print(line)
    if version is None:
        return 1
    print(f"published {args.template} v{version}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from crawler.registry import Registry

    version = Registry(args.registry).rollback(args.template, args.version)
    print(f"{args.template}: active version is now v{version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scrapec", description="Compile, verify and run deterministic scrapers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check parser files against the sandbox policy")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("test", help="run every active parser against its fixtures")
    p.add_argument("template", nargs="?", metavar="TEMPLATE")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--fixtures", default="fixtures")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("extract", help="extract items from URLs or saved .html files")
    p.add_argument("targets", nargs="+", metavar="TARGET")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--schema", metavar="SCHEMA")
    p.add_argument("--url", help="URL of the saved page (for a single file)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--heal",
        action="store_true",
        help="hold failing pages, regenerate their template, parse them again",
    )
    p.add_argument("--fixtures", default="fixtures", help="fixtures of the templates (with --heal)")
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
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--fixtures", metavar="DIR", help="fixtures of the template (all must pass)")
    p.add_argument("--reason")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("rollback", help="activate an earlier version of a template's parser")
    p.add_argument("template", metavar="SITE/NAME")
    p.add_argument("--version", type=int)
    p.add_argument("--registry", default="generated_parsers")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser(
        "quarantine", help="list quarantined pages or replay them through regeneration"
    )
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
    p.add_argument("--fixtures", default="fixtures")
    p.add_argument("--schema")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser(
        "fixture", help="save a page as a fixture with the current parser's item, for review"
    )
    fixture_sub = p.add_subparsers(dest="fixture_command", required=True)
    p = fixture_sub.add_parser("save", help="save URL or FILE as a fixture of --template")
    p.add_argument("target", metavar="URL|FILE")
    p.add_argument("--template", required=True, metavar="SITE/NAME")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--fixtures", default="fixtures")
    p.add_argument("--url", help="URL of a saved page")
    p.add_argument("--case", help="case folder name (default case-NN)")
    p.set_defaults(func=cmd_fixture_save)

    p = sub.add_parser("report", help="the nightly regeneration report")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--fixtures", default="fixtures")
    p.add_argument("--state", help="held/quarantine folder (default <registry>/.state)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compile", help="generate, verify and publish parsers from fixtures")
    p.add_argument("fixtures", metavar="FIXTURES_DIR")
    p.add_argument("--schema", required=True, help="schema name from schemas/ or a path")
    p.add_argument("--registry", default="generated_parsers")
    p.add_argument("--template", metavar="SITE/NAME")
    p.add_argument("--generator", choices=["auto", "induce", "llm"], default="auto")
    p.add_argument("--json", action="store_true", help="one JSON object per template")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_compile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScrapecError as exc:
        _err(str(exc))
        from crawler.exceptions import BadInput, RegistryError

        return 2 if isinstance(exc, BadInput | RegistryError) else 1
    except OSError as exc:
        _err(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
