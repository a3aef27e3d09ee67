"""The nightly report at scale, and what recording a crawl's run costs the crawl.

`python bench/report.py [--templates 200] [--pages 50] [--nights 30] [--broken 10]
[--crawl-rounds 3] [--products 800] [--articles 700]`

1. Builds a synthetic registry: one product template compiled with ``induce`` from three
   fixtures (the product's public path), copied to ``--templates`` templates
   (``site-NNN.test/product``, each its own ``parser.json``); ``--pages`` sample pages per
   template (``--samples`` layout: ``<site>/<name>/*.html`` + ``.json``), the last ``--broken``
   templates' pages in a layout their parser cannot read; ``--nights`` nights of history in
   ``runs.sqlite``: per night one crawl run (every template: pages, items, fill rates with
   noise) and one report run (layout similarity, status).
2. Runs ``scrapec report --registry … --samples … --fixtures …`` as a subprocess and prints its
   wall time and peak memory (the report process's max RSS, from ``wait4``; the parser worker
   process's own RSS is capped by the sandbox). Targets: <= 60 s and <= 1 GB.
3. With ``--crawl-rounds N`` (0 skips it), the cost of recording a run: bench/crawl.py's
   scrapec-vs-plain comparison (the same demo site, settings and ``crawl()``), with scrapec's
   run-history extension on and off (``-s EXTENSIONS={"…ScrapecRunsExtension": null}``),
   alternating, and the two median ratios side by side (and the crawler's CPU per page: on
   two shared cores the ratios move by ±30 % round to round);
4. the extension's own time in process: its two per-page signal handlers on 20,000 real page
   outcomes and items (µs per page), and its ``spider_closed`` (the run written) once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.compiler import compile_template  # noqa: E402
from crawler.runs import Run, RunHistory, TemplateRun, runs_path  # noqa: E402

SOURCE = "src.test/product"
FIELDS = ("name", "price", "currency", "sku", "brand", "image")
RUNS_OFF = json.dumps({"crawler.crawl.runs_ext.ScrapecRunsExtension": None})


def page(i: int, layout: str = "a") -> str:
    name, price = f"Widget {i} Deluxe", f"£{10 + i % 90}.99"
    if layout == "a":
        return (
            f"<html><head><title>{name}</title></head><body><div id='main'><div class='product'>"
            f"<h1 class='title'>{name}</h1><p class='price'>{price}</p><table class='specs'>"
            f"<tr><th>SKU</th><td>SKU-{1000 + i}</td></tr><tr><th>Brand</th><td>Acme</td></tr>"
            f"</table><img class='photo' src='/img/{i}.jpg'></div></div>"
            f"<footer>{'<p>related product text</p>' * 20}</footer></body></html>"
        )
    return f"<html><body><article><p>Thing {i}</p><em>{i}.00</em></article></body></html>"


def item(i: int, host: str) -> dict[str, Any]:
    return {
        "name": f"Widget {i} Deluxe",
        "price": 10 + i % 90 + 0.99,
        "currency": "GBP",
        "sku": f"SKU-{1000 + i}",
        "brand": "Acme",
        "image": f"http://{host}/img/{i}.jpg",
    }


def build(work: Path, templates: int, pages: int, nights: int, broken: int) -> list[str]:
    fixtures = work / "fixtures"
    for i in range(1, 4):
        case = fixtures / SOURCE / f"case-{i}"
        case.mkdir(parents=True)
        (case / "page.html").write_text(page(i))
        meta = {"url": f"http://src.test/p/{i}.html", "template": SOURCE, "schema": "product"}
        (case / "meta.json").write_text(json.dumps(meta))
        (case / "expected.json").write_text(json.dumps(item(i, "src.test")))
    registry = work / "registry"
    (result,) = compile_template(fixtures, "product", registry, generator="induce", progress=None)
    if not result.published:
        raise SystemExit(f"{SOURCE}: induce did not publish: {result.report[:3]}")
    names = [f"site-{n:03d}.test/product" for n in range(templates)]
    for n, name in enumerate(names):
        folder = registry / name
        shutil.copytree(registry / SOURCE, folder)
        info = json.loads((folder / "parser.json").read_text())
        info.update(template=name, site=name.split("/")[0])
        info.pop("url_pattern", None)
        (folder / "parser.json").write_text(json.dumps(info))
        samples = work / "samples" / name
        samples.mkdir(parents=True)
        layout = "b" if n >= templates - broken else "a"
        for i in range(pages):
            (samples / f"p{i}.html").write_text(page(i, layout))
            url = f"http://{name.split('/')[0]}/p/{i}.html"
            (samples / f"p{i}.json").write_text(json.dumps({"url": url}))
    shutil.rmtree(registry / SOURCE)
    rng = random.Random(11)
    history = RunHistory(runs_path(registry))
    start = time.time() - nights * 86400
    try:
        for night in range(nights):
            t0 = start + night * 86400
            crawl = Run("crawl", t0, t0 + 600, totals={"pages": templates * 300})
            report = Run("report", t0 + 3600, t0 + 3630)
            for name in names:
                t = crawl.template(name)
                t.pages = 300
                t.items = 295
                t.fields = list(FIELDS) + ["availability", "description", "rating"]
                t.filled = {f: int(295 * min(1.0, rng.gauss(0.97, 0.01))) for f in FIELDS}
                r = report.templates[name] = TemplateRun(name, pages=pages, items=pages)
                r.layout, r.status = min(1.0, rng.gauss(0.95, 0.01)), "healthy"
            history.record(crawl)
            history.record(report)
    finally:
        history.close()
    return names


def report_bench(args: argparse.Namespace, work: Path) -> None:
    t0 = time.perf_counter()
    names = build(work, args.templates, args.pages, args.nights, args.broken)
    print(
        f"synthetic registry: {len(names)} templates × {args.pages} sample pages × "
        f"{args.nights} nights of history ({time.perf_counter() - t0:.1f} s to build); "
        f"{args.broken} templates' pages in a layout their parser cannot read"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(work / "home"))
    for attempt in ("first", "second"):
        cmd = [
            sys.executable,
            "-m",
            "crawler.cli",
            "report",
            "--registry",
            str(work / "registry"),
            "--out",
            str(work / f"out-{attempt}"),
            "--fixtures",
            str(work / "no-fixtures"),
            "--samples",
            str(work / "samples"),
            "--since",
            f"{args.nights + 1}d",
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        code = os.waitstatus_to_exitcode(status)
        data = json.loads((work / f"out-{attempt}" / "report.json").read_text())
        size = (work / f"out-{attempt}" / "report.html").stat().st_size
        peak = usage.ru_maxrss / 1024  # KiB on Linux
        print(
            f"report ({attempt} run): exit {code}, wall {wall:.1f} s (target <= 60), peak RSS "
            f"{peak:.0f} MiB (target <= 1024), CPU {usage.ru_utime + usage.ru_stime:.1f} s; "
            f"statuses {data['summary']['by_status']}; pages checked "
            f"{data['summary']['pages_checked']}; report.html {size / 1e6:.1f} MB"
        )
        if code not in (0, 1):
            raise SystemExit(f"report failed (exit {code}): {stderr[-2000:]}")


def crawl_bench(args: argparse.Namespace, work: Path) -> None:
    from bench.crawl import (
        TEMPLATES,
        WARMUP,
        CachedSite,
        _cpu_ms,
        _median,
        _rate,
        crawl,
    )
    from crawler.demo.export import export_fixtures
    from crawler.demo.server import DemoServer

    site = CachedSite(pad=100 * 1024, products=args.products, jobs=0, articles=args.articles)
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": [], "plain": []}
    with DemoServer(site) as server:
        base = server.base_url
        site.warm()
        fixtures, registry = work / "crawl-fixtures", work / "crawl-registry"
        export_fixtures(
            fixtures, per_template=3, base_url=base, rendered=True, templates=list(TEMPLATES)
        )
        for template, schema in TEMPLATES.items():
            compile_template(
                fixtures, schema, registry, template=template, generator="induce", progress=None
            )
        off = {"EXTENSIONS": RUNS_OFF}
        for kind, extra in (("scrapec", WARMUP), ("plain", WARMUP)):
            crawl(kind, base, work, f"{kind}-warmup", registry, fixtures, extra=extra)
        for n in range(1, args.crawl_rounds + 1):
            order = ["on", "off", "plain"]
            if n % 2 == 0:
                order.reverse()
            for which in order:
                kind = "plain" if which == "plain" else "scrapec"
                extra = off if which == "off" else None
                runs[which].append(
                    crawl(kind, base, work, f"{which}-{n}", registry, fixtures, extra=extra)
                )
    for which in ("on", "off"):
        for n, run in enumerate(runs[which], start=1):
            recorded = runs_path(work / f"{which}-{n}.registry").exists()
            if recorded != (which == "on") or recorded != ("scrapec/run_id" in run):
                raise SystemExit(f"crawl {which}-{n}: the run was recorded: {recorded}")
    rounds = {
        which: [_rate(s) / _rate(p) for s, p in zip(runs[which], runs["plain"], strict=True)]
        for which in ("on", "off")
    }
    ratio = {which: _median(values) for which, values in rounds.items()}
    rates = {k: _median([_rate(r) for r in v]) for k, v in runs.items()}
    cpu = {k: _median([_cpu_ms(r) for r in v]) for k, v in runs.items()}
    for which in ("on", "off"):
        print(
            f"  ratio per round, run history {which}: "
            + ", ".join(f"{r:.3f}" for r in rounds[which])
        )
    print(
        f"crawl ({args.crawl_rounds} rounds, {args.products}+{args.articles} detail pages of "
        f"~100 KB): median pages/s with the run history {rates['on']:.1f}, without "
        f"{rates['off']:.1f}, plain Scrapy {rates['plain']:.1f}"
    )
    print(
        f"ratio scrapec/plain (median of rounds): with run history {ratio['on']:.3f} | "
        f"without {ratio['off']:.3f} (difference {ratio['on'] - ratio['off']:+.3f})"
    )
    print(
        f"median CPU of the crawler process: with run history {cpu['on']:.2f} ms/page, without "
        f"{cpu['off']:.2f} ms/page (recording: {cpu['on'] - cpu['off']:+.2f} ms/page), plain "
        f"{cpu['plain']:.2f} ms/page"
    )


def handler_cost(work: Path, pages: int = 20000) -> None:
    """The extension's own time, in process: its ``response_received`` and ``item_scraped``
    handlers on ``pages`` real page outcomes and items, and its ``spider_closed`` (the run
    written to runs.sqlite) once."""
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.crawl.middleware import OUTCOME_KEY
    from crawler.crawl.runs_ext import ScrapecRunsExtension
    from crawler.pages import PageStatus
    from crawler.runtime import PageOutcome

    registry = work / "handler-registry"
    build(work / "handler", 2, 1, 0, 0)
    shutil.copytree(work / "handler" / "registry", registry)
    crawler = get_crawler(settings_dict={"SCRAPEC_REGISTRY": str(registry)})
    crawler.stats.open_spider()
    ext = ScrapecRunsExtension.from_crawler(crawler)
    ext.spider_opened(None)  # type: ignore[arg-type]
    names = sorted(str(p.parent.relative_to(registry)) for p in registry.glob("*/*/parser.json"))
    calls = []
    for i in range(pages):
        template = names[i % len(names)]
        host = template.split("/")[0]
        found = {**item(i, host), "_url": f"http://{host}/p/{i}.html", "_template": template}
        outcome = PageOutcome(found["_url"], template, PageStatus.OK, item(i, host), 1)
        request = Request(found["_url"], meta={OUTCOME_KEY: outcome})
        calls.append(
            (HtmlResponse(found["_url"], body=b"<html></html>", request=request), request, found)
        )
    t0 = time.perf_counter()
    for response, request, found in calls:
        ext.response_received(response, request, None)  # type: ignore[arg-type]
        ext.item_scraped(found)
    per_page = (time.perf_counter() - t0) / pages
    t0 = time.perf_counter()
    ext.spider_closed(None)  # type: ignore[arg-type]
    closing = time.perf_counter() - t0
    ext.runtime.close()
    print(
        f"run-history extension in process: {per_page * 1e6:.1f} µs per page (its two signal "
        f"handlers, {pages} pages), {closing * 1e3:.1f} ms once at spider_closed (the run "
        "written)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", type=int, default=200, help="0: no report benchmark")
    ap.add_argument("--pages", type=int, default=50, help="sample pages per template")
    ap.add_argument("--nights", type=int, default=30, help="nights of run history")
    ap.add_argument("--broken", type=int, default=10, help="templates whose pages fail")
    ap.add_argument("--crawl-rounds", type=int, default=3, help="0: no crawl comparison")
    ap.add_argument("--products", type=int, default=800)
    ap.add_argument("--articles", type=int, default=700)
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="scrapec-report-bench-"))
    try:
        if args.templates > 0:
            report_bench(args, work)
        handler_cost(work)
        if args.crawl_rounds > 0:
            crawl_bench(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
