"""Crawl throughput: scrapec's generic spider against a plain Scrapy spider, side by side.

`python bench/crawl.py [--products N] [--articles N] [--rounds 5] [--profile]`

1. serves a larger demo site (shop and news only, no JavaScript: ``--products`` product pages and
   ``--articles`` article pages, 800 + 700 by default) on 127.0.0.1 in a background thread;
   every page is rendered once before the clock starts, so the server costs the same for both;
2. exports 3 fixtures per template and compiles ``shop.demo/product`` and ``news.demo/article``
   with ``induce`` into a temporary registry;
3. crawls the site with ``scrapy crawl site`` (scrapec: routing, sandboxed parser, schema and
   grounding checks, drift monitor, history) and with ``scrapy runspider
   bench/handwritten_spider.py`` (the same link following, hand-written parsel callbacks),
   alternating, ``--rounds`` times each (5 by default), as subprocesses from the project
   folder: the same project settings (reactor, download handlers, concurrency, robots.txt) and
   the same ``-s`` overrides; each scrapec run gets a fresh copy of the compiled registry;
4. prints pages/s from each crawl's Scrapy stats (``response_received_count`` /
   ``elapsed_time_seconds``), the ratio scrapec/plain of each round and their median (target
   >= 1.1 with ~100 KB pages: the plain spider parses every page in the reactor thread; scrapec
   parses item pages, their links included, in its worker process on the other core), the CPU
   time of each crawler process per page (its worker's included: steadier than pages/s), and
   checks that both produced the same items, field for field, and how many match the site's
   truth.

``--profile`` adds one scrapec crawl under cProfile and prints its hottest functions.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
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
from crawler.demo.export import export_fixtures  # noqa: E402
from crawler.demo.run import crawl_env, scrapy_command  # noqa: E402
from crawler.demo.server import DemoServer  # noqa: E402
from crawler.demo.site import DemoSite  # noqa: E402
from crawler.fixtures import compare_items  # noqa: E402

TEMPLATES = {"shop.demo/product": "product", "news.demo/article": "article"}
FOLLOW = r"/(?:shop|news)/"  # the JavaScript job board is left out: no browser in this benchmark
HANDWRITTEN = ROOT / "bench" / "handwritten_spider.py"
# the same overrides for both crawls, on top of the same project settings (scrapy.cfg)
COMMON_SETTINGS = {
    "LOG_LEVEL": "INFO",  # no line per page at INFO; scrapec logs drift and regeneration
    "AUTOTHROTTLE_ENABLED": "False",
    "HTTPCACHE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "True",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DOWNLOAD_DELAY": "0",
    "SCRAPEC_PROGRESS_INTERVAL": "0",
}
NOTEWORTHY = ("drift [", "regenerat", "published v", "quarantined", "render=true", "labels")
WARMUP = {"CLOSESPIDER_PAGECOUNT": "40"}


def padding(index: int, size: int) -> bytes:
    """About ``size`` bytes of what real pages carry besides the item: a "related" block of
    cards deep in the tree (below the layout depth routing looks at) and an inline JSON state,
    with classes no parser of the demo uses."""
    cards = []
    total = 0
    n = 0
    while total < size * 0.6:
        card = (
            f'<li class="rel-card"><a class="rel-link" href="/rel/{index}-{n}.html">'
            f'<span class="rel-title">Related item {index}-{n} with a longer name</span>'
            f'<span class="rel-note">Rated {n % 5}.{n % 10} by {n * 7 % 97} readers</span></a></li>'
        )
        cards.append(card)
        total += len(card)
        n += 1
    state = json.dumps({"recs": [{"id": f"{index}-{k}", "score": k / 7} for k in range(n * 2)]})
    block = (
        '<div><div><div><div><div><div><div><ul class="rel-list">'
        + "".join(cards)
        + "</ul></div></div></div></div></div></div></div>"
        + f'<script type="application/json">{state[: int(size * 0.4)]}</script>'
    )
    return block.encode()


class CachedSite(DemoSite):
    """The demo site with every page rendered once, so serving is a dictionary look-up; with
    ``pad`` bytes, every detail page is padded to a realistic size (see :func:`padding`)."""

    def __init__(self, pad: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pad = pad
        self._cache: dict[str, tuple[int, str, bytes]] = {}

    def warm(self) -> None:
        self._cache.clear()
        for i, path in enumerate(self.all_paths()):
            status, kind, body = super().render(path)
            if self.pad and b"</body>" in body and status == 200:
                body = body.replace(b"</body>", padding(i, self.pad - len(body)) + b"</body>", 1)
            self._cache[path] = (status, kind, body)

    def render(self, path: str) -> tuple[int, str, bytes]:
        found = self._cache.get(path)
        return found if found is not None else super().render(path)


def crawl(
    kind: str,
    base_url: str,
    work: Path,
    name: str,
    registry: Path,
    fixtures: Path,
    profile: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One crawl as a subprocess; returns its Scrapy stats plus ``_wall`` and ``_items``."""
    items = work / f"{name}.jsonl"
    stats_file = work / f"{name}.stats.json"
    env = crawl_env(work / "home")
    # byte-code is cached (outside the source tree): modules imported lazily mid-crawl would
    # otherwise be compiled from source inside the measured time of every run
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    settings = dict(COMMON_SETTINGS, SCRAPEC_STATS_FILE=str(stats_file), **(extra or {}))
    if kind == "scrapec":
        run_dir = work / f"{name}.registry"
        shutil.copytree(registry, run_dir)
        settings.update(SCRAPEC_REGISTRY=str(run_dir), SCRAPEC_FIXTURES=str(fixtures))
        what = ["crawl", "site"]
    else:
        settings.update(SCRAPEC_ENABLED="False")  # no scrapec middleware or extension
        what = ["runspider", str(HANDWRITTEN)]
    prefix = [sys.executable]
    if profile is not None:
        prefix += ["-m", "cProfile", "-o", str(profile)]
    cmd = scrapy_command(
        f"{base_url}/", settings, "-O", str(items), command=what, python=prefix, follow=FOLLOW
    )
    log = work / f"{name}.log"
    t0 = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if code != 0 or not stats_file.exists():
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"{kind} crawl {name} failed (exit {code}); end of {log}:\n{tail}")
    stats: dict[str, Any] = json.loads(stats_file.read_text())
    stats["_wall"] = wall
    stats["_cpu"] = usage.ru_utime + usage.ru_stime  # the crawler process's own CPU seconds
    stats["_items"] = [json.loads(line) for line in items.read_text().splitlines() if line]
    lines = log.read_text().splitlines()
    stats["_errors"] = sum(1 for line in lines if " ERROR" in line or "Traceback" in line)
    stats["_notes"] = [
        line.split("] ", 1)[-1][:200] for line in lines if any(k in line for k in NOTEWORTHY)
    ]
    return stats


def _by_url(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        i["_url"]: {k: v for k, v in i.items() if not k.startswith("_")}
        for i in items
        if "_url" in i
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _cpu_ms(run: dict[str, Any]) -> float:
    """CPU milliseconds of the crawler process per response (start-up included)."""
    return 1000 * run["_cpu"] / max(run.get("response_received_count", 0), 1)


def _rate(run: dict[str, Any]) -> float:
    seconds = float(run.get("elapsed_time_seconds") or 0.0)
    return run.get("response_received_count", 0) / seconds if seconds else 0.0


def _profile_report(path: Path, top: int = 25) -> None:
    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\ncProfile of one scrapec crawl (main thread, {total:.1f} s of CPU):")
    print("hottest functions by cumulative time (in-process work of one crawl):")
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((ct, tt, nc, f"{Path(file).name}:{line}({func})"))
    keep = (
        "crawler/",
        "scrapec",
        "parsel",
        "selector.py",
        "runtime.py",
        "middleware.py",
        "registry.py",
        "routing.py",
        "extract.py",
        "sandbox.py",
        "history.py",
        "checks.py",
        "drift.py",
        "parsing.py",
        "site.py",
    )
    full = {f"{Path(f).name}:{ln}({fn})": f for (f, ln, fn) in stats.stats}  # type: ignore[attr-defined]
    ours = [r for r in rows if any(k in full[r[3]] for k in keep)]
    print(f"  {'cumulative s':>12} {'own s':>8} {'calls':>9}  function")
    for ct, tt, nc, where in sorted(ours, reverse=True)[:top]:
        print(f"  {ct:12.2f} {tt:8.2f} {nc:9d}  {where}")
    print("hottest functions by own time (everything):")
    for ct, tt, nc, where in sorted(rows, key=lambda r: r[1], reverse=True)[:15]:
        print(f"  {ct:12.2f} {tt:8.2f} {nc:9d}  {where}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=800, help="product pages (at most ~2400)")
    ap.add_argument("--articles", type=int, default=700, help="article pages")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--page-kb", type=int, default=100, help="pad detail pages to this size (0: as rendered)"
    )
    ap.add_argument("--profile", action="store_true", help="add one profiled scrapec crawl")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="scrapec-crawl-bench-"))
    site = CachedSite(
        pad=args.page_kb * 1024, products=args.products, jobs=0, articles=args.articles
    )
    try:
        with DemoServer(site) as server:
            base = server.base_url
            site.warm()
            fixtures = work / "fixtures"
            registry = work / "registry"
            export_fixtures(
                fixtures, per_template=3, base_url=base, rendered=True, templates=list(TEMPLATES)
            )
            for template, schema in TEMPLATES.items():
                results = compile_template(
                    fixtures, schema, registry, template=template, generator="induce", progress=None
                )
                if not all(r.published for r in results):
                    raise SystemExit(f"{template}: induce did not publish a parser")
            detail = {site.url(p) for t in TEMPLATES for p in site.detail_paths(t)}
            listings = [p for p in site.listing_paths() if p.startswith(("/shop/", "/news/"))]
            print(
                f"demo site at {base}: {len(detail)} detail pages "
                f"({args.products} products, {args.articles} articles), {len(listings)} listings; "
                f"follow {FOLLOW!r}; {os.cpu_count()} CPUs; pages padded to {args.page_kb} KB"
            )
            print("settings for both: " + " ".join(f"{k}={v}" for k, v in COMMON_SETTINGS.items()))
            for kind in ("scrapec", "plain"):  # warm-up, not counted: fills the byte-code cache
                crawl(kind, base, work, f"{kind}-warmup", registry, fixtures, extra=WARMUP)
            runs: dict[str, list[dict[str, Any]]] = {"scrapec": [], "plain": []}
            for n in range(1, args.rounds + 1):
                order = ("scrapec", "plain") if n % 2 else ("plain", "scrapec")
                for kind in order:
                    runs[kind].append(crawl(kind, base, work, f"{kind}-{n}", registry, fixtures))
            prof = work / "scrapec.prof" if args.profile else None
            if prof is not None:
                crawl("scrapec", base, work, "scrapec-profiled", registry, fixtures, profile=prof)
    finally:
        if not args.keep and not args.profile:
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{'spider':8} {'run':>3} {'responses':>9} {'items':>6} {'seconds':>8} {'pages/s':>8} "
        f"{'wall s':>7} {'CPU ms/page':>11} {'errors':>6}"
    )
    for kind in ("scrapec", "plain"):
        for n, run in enumerate(runs[kind], start=1):
            print(
                f"{kind:8} {n:3d} {run.get('response_received_count', 0):9d} "
                f"{run.get('item_scraped_count', 0):6d} {run.get('elapsed_time_seconds', 0):8.2f} "
                f"{_rate(run):8.1f} {run['_wall']:7.2f} {_cpu_ms(run):11.2f} {run['_errors']:6d}"
            )
    for kind in ("scrapec", "plain"):
        for n, run in enumerate(runs[kind], start=1):
            for note in run["_notes"][:6]:
                print(f"  {kind} run {n}: {note}")
    # each round runs both crawls back to back, so a round's ratio compares like with like
    paired = sorted(
        _rate(s) / _rate(p) for s, p in zip(runs["scrapec"], runs["plain"], strict=True)
    )
    ratio = _median(paired)
    print(
        f"\nratio scrapec/plain pages/s per round: {', '.join(f'{r:.3f}' for r in paired)}; "
        f"median {ratio:.3f} (target >= 1.1 with ~100 KB pages: {'met' if ratio >= 1.1 else 'NOT met'})"
    )
    medians = {k: _median([_rate(r) for r in v]) for k, v in runs.items()}
    cpu = {k: _median([_cpu_ms(r) for r in v]) for k, v in runs.items()}
    print(
        f"median pages/s: scrapec {medians['scrapec']:.1f}, plain {medians['plain']:.1f}; "
        f"median CPU of the crawler process: scrapec {cpu['scrapec']:.2f} ms/page, plain "
        f"{cpu['plain']:.2f} ms/page (scrapec's own work: {cpu['scrapec'] - cpu['plain']:+.2f} ms/page)"
    )

    ours, plain = _by_url(runs["scrapec"][-1]["_items"]), _by_url(runs["plain"][-1]["_items"])
    both = ours.keys() & plain.keys()
    differ = sum(1 for url in both if compare_items(plain[url], ours[url]))
    print(
        f"\nitems (last round): scrapec {len(ours)}, plain {len(plain)}, detail pages {len(detail)}; "
        f"only scrapec {len(ours.keys() - plain.keys())}, only plain {len(plain.keys() - ours.keys())}, "
        f"in both but different {differ}"
    )
    for label, items in (("scrapec", ours), ("plain", plain)):
        wrong = 0
        for url, item in items.items():
            truth = site.truth(url)
            if truth is None or compare_items(truth[1], item):
                wrong += 1
        print(f"  {label}: {len(items) - wrong} of {len(detail)} items equal the site's truth")
    counts = {k: {r.get("item_scraped_count", 0) for r in v} for k, v in runs.items()}
    same = len(ours) == len(plain) == len(detail) and not differ
    print(f"item counts per round: {counts}; same items: {'yes' if same else 'NO'}")
    s = runs["scrapec"][-1]
    print(
        "scrapec runtime (last round): "
        + ", ".join(
            f"{k.split('/', 1)[1]} {v}" for k, v in sorted(s.items()) if k.startswith("scrapec/")
        )
    )
    if prof is not None:
        _profile_report(prof)
        print(f"\nprofile kept in {prof} (working folder {work})")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
