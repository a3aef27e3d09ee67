"""Hot-path cost: route + sandboxed parse + schema check, against a bare lxml parse of the same bytes.

`python bench/throughput.py [DATA_ROOT] [--rounds 3]`. Uses the real pages of
../shared/data/swde-dev: for each site a parser is induced from its first 3 pages and published in a
temporary registry; then every page is processed both ways, interleaved in one run, several
rounds, best round kept. Prints pages/s of both, the ratio (target: ours <= 1.3x the bare parse),
the same with the grounding check on, and the start-up time of `scrapec extract` for one file
(target <= 1.0 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html  # noqa: E402

from bench.swde import DEFAULT_ROOT, item_of, site_cases  # noqa: E402
from crawler.compiler.induce import induce  # noqa: E402
from crawler.extract import Extractor, read_html_file  # noqa: E402
from crawler.parsing import Page  # noqa: E402
from crawler.registry import Registry  # noqa: E402
from crawler.routing import fingerprint, learn_url_pattern, reference_fingerprint  # noqa: E402
from crawler.schemas import load_schema  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(DEFAULT_ROOT))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.root)
    if not root.is_dir():
        print(f"no SWDE data at {root}: nothing to measure")
        return 0
    registry = Registry(tempfile.mkdtemp(prefix="scrapec-bench-"))
    pages: list[tuple[bytes, str]] = []
    for vertical, site, site_dir, labels in site_cases(root):
        schema = load_schema(vertical)
        files = sorted(site_dir.glob("*.htm"))
        samples = []
        for f in files[:3]:
            html, url = read_html_file(f)
            samples.append((Page(html, url), item_of(labels, f.stem, schema)))
        template = f"{site}/{vertical}"
        source = induce(template, schema, samples).source()
        registry.publish(
            template,
            source,
            schema=schema.name,
            generator="induce",
            reason="bench",
            layout=reference_fingerprint(fingerprint(p) for p, _ in samples),
            url_pattern=learn_url_pattern([p.url for p, _ in samples]),
        )
        for f in files:
            body = f.read_bytes()
            _, url = read_html_file(f)
            pages.append((body, url))
    total_bytes = sum(len(b) for b, _ in pages)
    print(f"{len(pages)} pages, {total_bytes / 1e6:.1f} MB, {len(registry.templates())} templates")

    plain = Extractor(registry, grounding=False)
    grounded = Extractor(registry, grounding=True)
    best = {"bare": float("inf"), "ours": float("inf"), "ours+grounding": float("inf")}
    invalid = 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for body, _url in pages:
            lxml.html.fromstring(body)
        best["bare"] = min(best["bare"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        for body, url in pages:
            result = plain.extract_html(body, url)  # routes by URL pattern + layout
        best["ours"] = min(best["ours"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        invalid = 0
        for body, url in pages:
            result = grounded.extract_html(body, url)
            invalid += not result.valid
        best["ours+grounding"] = min(best["ours+grounding"], time.perf_counter() - t0)
    n = len(pages)
    print(f"{'path':22} {'pages/s':>9} {'ms/page':>8} {'ratio':>6}")
    for name, seconds in best.items():
        print(
            f"{name:22} {n / seconds:9.0f} {1000 * seconds / n:8.3f} {seconds / best['bare']:6.2f}x"
        )
    print(f"invalid items (schema + grounding): {invalid}/{n}")

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
            subprocess.run(cmd, check=True, capture_output=True)
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
