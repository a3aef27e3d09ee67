"""Hot-path cost: route + parse + checks + validation per page, against a bare lxml parse of the
same bytes, in-process and through the worker pool, side by side in one run.

`python bench/throughput.py [DATA_ROOT] [--rounds 3]`. Uses the real pages of
../shared/data/swde-dev: for each site a parser is induced from its first 3 pages and published in
a temporary registry (with the vertical's schema: the shipped one when it has every attribute, else
one written for it, as bench/swde.py does); then every page is processed by each path, the paths
interleaved in every round, several rounds, best round kept. Paths:

- ``bare lxml``: ``lxml.html.fromstring`` of the page bytes;
- ``in-process``: ``Extractor(..., in_process=True)`` — route (URL pattern, else layout), parse,
  ``check_item``, schema validation; ``+grounding`` adds the grounding check;
- ``pool``: ``Extractor(...)`` through a ``WorkerPool`` of one worker (crawler/workers.py): the page
  text goes to the worker, which parses, checks and validates and sends the item back.

Prints pages/s, ms/page, the ratio to the bare parse and the pool's ratio to in-process (target
<= 1.3x), the pool's cost per page (pool minus in-process, and the round trip of an empty page), the
share of schema validation in a page (jsonschema-rs vs the previous hand-written fast path), the
items that failed a check (by error), and the start-up time of `scrapec extract` for one file
(target <= 1.0 s).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html  # noqa: E402

from bench.swde import DEFAULT_ROOT, item_of, schema_file, site_cases  # noqa: E402
from crawler.compiler.induce import induce  # noqa: E402
from crawler.extract import Extractor, read_html_file  # noqa: E402
from crawler.parsing import Page  # noqa: E402
from crawler.registry import Registry  # noqa: E402
from crawler.routing import fingerprint, learn_url_pattern, reference_fingerprint  # noqa: E402
from crawler.schemas import Schema, load_schema  # noqa: E402
from crawler.workers import WorkerPool  # noqa: E402

EMPTY_PARSER = """from crawler.parsing import Page


def parse(page: Page) -> dict:
    return {"name": "x"}
"""


def build(root: Path, registry: Registry, scratch: Path) -> list[tuple[bytes, str]]:
    """Publish one induced parser per site; return every page as (bytes, url)."""
    pages: list[tuple[bytes, str]] = []
    for vertical, site, site_dir, labels, multi in site_cases(root):
        schema = load_schema(schema_file(vertical, multi, scratch), name=vertical)
        files = sorted(site_dir.glob("*.htm"))
        samples = []
        for f in files[:3]:
            html, url = read_html_file(f)
            samples.append((Page(html, url), item_of(labels, f.stem, multi)))
        template = f"{site}/{vertical}"
        try:
            source = induce(template, schema, samples).source()
        except Exception as exc:  # noqa: BLE001 - a site induction cannot fit is left out
            print(f"{template}: no parser induced ({type(exc).__name__}: {exc}); left out")
            continue
        registry.publish(
            template,
            source,
            schema=schema.name,
            schema_document=schema.document,
            generator="induce",
            reason="bench",
            layout=reference_fingerprint(fingerprint(p) for p, _ in samples),
            url_pattern=learn_url_pattern([p.url for p, _ in samples]),
        )
        for f in files:
            _, url = read_html_file(f)
            pages.append((f.read_bytes(), url))
    return pages


def best_of(rounds: int, paths: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Best seconds of each path over ``rounds`` rounds, the paths interleaved in every round."""
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(rounds):
        for name, run in paths.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.root)
    if not root.is_dir():
        print(f"no SWDE data at {root}: nothing to measure")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="scrapec-bench-"))
    registry = Registry(scratch / "registry")
    pages = build(root, registry, scratch)
    n = len(pages)
    total_bytes = sum(len(b) for b, _ in pages)
    print(f"{n} pages, {total_bytes / 1e6:.1f} MB, {len(registry.templates())} templates")

    pool = WorkerPool(1)
    extractors = {
        "in-process": Extractor(registry, grounding=False, in_process=True),
        "in-process+grounding": Extractor(registry, grounding=True, in_process=True),
        "pool": Extractor(registry, grounding=False, pool=pool),
        "pool+grounding": Extractor(registry, grounding=True, pool=pool),
    }
    results: dict[str, list[Any]] = {}
    for name, extractor in extractors.items():  # warm-up: the worker starts, parsers load
        results[name] = [extractor.extract_html(body, url) for body, url in pages]
    # What setup left (the compiler, 28 MB of pages, the warm-up's results) is moved out of the
    # garbage collector's reach, as a long-running crawl's start-up objects would be: else every
    # full collection during the in-process runs scans it, a cost the lean worker never pays.
    gc.collect()
    gc.freeze()

    def bare() -> None:
        for body, _url in pages:
            lxml.html.fromstring(body)

    def through(extractor: Extractor) -> Callable[[], None]:
        def run() -> None:
            for body, url in pages:
                extractor.extract_html(body, url)

        return run

    paths: dict[str, Callable[[], Any]] = {"bare lxml": bare}
    paths.update({name: through(e) for name, e in extractors.items()})
    best = best_of(args.rounds, paths)

    print(f"{'path':22} {'pages/s':>9} {'ms/page':>8} {'x bare':>7} {'x in-process':>13}")
    for name, seconds in best.items():
        versus = ""
        if name.startswith("pool"):
            versus = f"{seconds / best[name.replace('pool', 'in-process')]:12.2f}x"
        print(
            f"{name:22} {n / seconds:9.0f} {1000 * seconds / n:8.3f}"
            f" {seconds / best['bare lxml']:6.2f}x {versus:>13}"
        )

    trips = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for _ in range(200):
            pool.run(EMPTY_PARSER, "<p></p>", "http://x.test/", grounding=False)
        trips.append((time.perf_counter() - t0) / 200)
    framing = []  # what the pool adds per page before any work: the page as a framed payload
    texts = [(Page(body, url).source, url) for body, url in pages]
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for text, url in texts:  # as crawler.workers._send and _serve frame and read a request
            header = json.dumps({"url": url}, ensure_ascii=True, separators=(",", ":"))
            json.loads(header.encode("ascii"))
            text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
        framing.append((time.perf_counter() - t0) / n)
    cost = (best["pool"] - best["in-process"]) / n
    cost_g = (best["pool+grounding"] - best["in-process+grounding"]) / n
    print(
        f"pool cost per page: {1000 * cost:.3f} ms (pool - in-process), {1000 * cost_g:.3f} ms"
        f" with grounding (target: pool <= 1.3x in-process); of it: round trip of an empty page"
        f" {1000 * min(trips):.3f} ms, the page framed (UTF-8 payload, encode + decode)"
        f" {1000 * min(framing):.3f} ms"
    )

    # validation's share: the items of the in-process run, each against its template's schema
    schemas: dict[str, Schema | None] = {}
    checked: list[tuple[Schema, dict[str, Any]]] = []
    for result in results["in-process"]:
        if result.item is None or result.template is None:
            continue
        if result.template not in schemas:
            schemas[result.template] = registry.info(result.template).load_schema()
        schema = schemas[result.template]
        if schema is not None:
            checked.append((schema, result.item))
    previous = {
        id(s): Schema(s.name, s.path, s.document, s.validator, s.digest, compile_error="bench")
        for s in {id(s): s for s, _ in checked}.values()
    }
    spent: dict[str, float] = {}
    for label, pick in (
        ("jsonschema-rs", lambda s: s),
        ("hand-written+jsonschema", lambda s: previous[id(s)]),
    ):
        pairs = [(pick(s), item) for s, item in checked]
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            for schema, item in pairs:
                schema.errors(item)
        spent[label] = (time.perf_counter() - t0) / args.rounds / max(1, len(pairs))
    page_time = best["in-process"] / n
    print(
        "validation per item: "
        + ", ".join(
            f"{label} {1e6 * s:.2f} µs ({100 * s / page_time:.2f}% of an in-process page)"
            for label, s in spent.items()
        )
    )

    failed = Counter()
    for result in results["pool+grounding"]:
        for error in result.errors:
            failed[error.split(":", 1)[0] if ": " in error else error] += 1
    invalid = sum(not r.valid for r in results["pool+grounding"])
    top = ", ".join(f"{k} {v}" for k, v in failed.most_common(5))
    print(f"invalid items (schema + grounding): {invalid}/{n}; errors by field: {top or 'none'}")
    pool.close()

    sample = sorted((root / "book").glob("*/0005.htm"))[0] if (root / "book").is_dir() else None
    if sample is not None:
        cmd = [
            sys.executable,
            "-m",
            "crawler.cli",
            "extract",
            str(sample),
            "--registry",
            str(registry.root),
            "--json",
        ]
        base = [sys.executable, "-c", "pass"]
        times, bases = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=False, capture_output=True)
            times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run(base, check=True, capture_output=True)
            bases.append(time.perf_counter() - t0)
        print(
            f"scrapec extract, one file: {min(times):.3f} s (bare python start-up {min(bases):.3f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
