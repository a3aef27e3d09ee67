"""The single-URL path, as a notebook user meets it: `python bench/single_url.py [--pages 100]`.

Everything runs against the project's own never-seen shop (crawler.demo.first) served on
127.0.0.1 by a server in its own process, with a fresh per-user data folder (XDG_DATA_HOME), so
registry and fixtures start empty. Prints:

1. **zero-config first call** — a fresh interpreter runs `extract(url, schema="product")` on a
   never-seen JSON-LD page: wall time to a valid item (interpreter start, imports, fetch, labels,
   induction, gate, publish, parse), then the second page of the template in the same process;
2. **cached template, fetch excluded** (target <= 5 ms for a 100 KB page): the page fetched
   once, then `Session.extract_fetched` (the public path after the fetch: route, parse in the
   worker, schema and grounding checks) and `Extractor(in_process=True)` on it, median of N;
3. **cold `scrapec extract URL`** (target <= 1.0 s): the CLI in a fresh interpreter on a page of
   a cached template, with whether litellm and Playwright were imported (they must not be), and
   `python -c pass` beside it;
4. **extract_many of N rendered pages** (one browser start): script-written pages through
   Chromium, wall time, pages/s and browser launches.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys
from crawler.demo.first import FirstSite
from crawler.demo.server import DemoServer
server = DemoServer(FirstSite(products=400), port=0).start()
print(server.base_url, flush=True)
sys.stdin.read()
"""

FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
from crawler import extract
r = extract(sys.argv[1] + "/jsonld/p/1.html", schema="product")
t1 = time.perf_counter()
r2 = extract(sys.argv[1] + "/jsonld/p/2.html", schema="product")
t2 = time.perf_counter()
print(json.dumps({"valid": r.valid, "learned": r.learned, "first_s": t1 - t0,
                  "second_ms": (t2 - t1) * 1000, "second_valid": r2.valid}))
"""

COLD_CLI = """
import sys, time
from crawler.cli import main
rc = main(["extract", sys.argv[1], "--delay", "0", "--json"])
print("IMPORTED", int("litellm" in sys.modules), int("playwright" in sys.modules), rc, file=sys.stderr)
"""


def _env(data: Path) -> dict[str, str]:
    """A fresh interpreter's environment: no bytecode read or written (an empty cache prefix),
    the worst case of a first run; part 3 also measures with bytecode cached."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPEC_")}
    env.update(XDG_DATA_HOME=str(data), PYTHONPATH=str(ROOT), LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(data.parent / "no-pycache"))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="rendered pages (default 100)")
    parser.add_argument("--repeat", type=int, default=200, help="cached-template calls (200)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="scrapec-single-"))
    data = work / "data"
    env = _env(data)
    os.environ.update(XDG_DATA_HOME=str(data))
    for name in [k for k in os.environ if k.startswith("SCRAPEC_")]:
        del os.environ[name]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    base = server.stdout.readline().strip()
    try:
        # 1. zero configuration, a fresh interpreter
        done = subprocess.run(
            [sys.executable, "-c", FIRST_CALL, base],
            env=env,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=300,
        )
        first = json.loads(done.stdout.strip().splitlines()[-1])
        print("1. zero-config first call on a never-seen JSON-LD page (fresh interpreter)")
        print(f"   time to a valid item      {first['first_s']:.2f} s   valid={first['valid']}")
        print(f"   learned                   {first['learned']}")
        print(
            f"   second page, same process {first['second_ms']:.1f} ms  valid={first['second_valid']}"
        )

        # 2. cached template, fetch excluded, a 100 KB page
        from crawler.api import Session
        from crawler.extract import Extractor
        from crawler.fetch import Fetcher
        from crawler.parsing import Page

        fetcher = Fetcher()
        session = Session(None, "product", fetcher=fetcher)
        url = base + "/big/p/3.html"
        warm = session.extract(url)  # teaches the big page's template if its layout is new
        fetched = fetcher.fetch(url)
        size = len(fetched.body)
        pool_ms, local_ms = [], []
        local = Extractor(session.registry, in_process=True)
        for _ in range(args.repeat):
            t = time.perf_counter()
            r = session.extract_fetched(fetched)
            pool_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            r2 = local.extract_page(Page(fetched.body, fetched.final_url, fetched.encoding))
            local_ms.append((time.perf_counter() - t) * 1000)
        assert r.valid and r2.valid, (r, r2)
        print(f"2. cached template, fetch excluded, {size / 1024:.0f} KB page (target <= 5 ms)")
        print(f"   first call taught: {warm.learned or 'no (template known)'}")
        print(
            f"   Session.extract_fetched (worker)  median {statistics.median(pool_ms):.2f} ms"
            f"  p90 {sorted(pool_ms)[int(len(pool_ms) * 0.9)]:.2f} ms"
        )
        print(
            f"   Extractor(in_process=True)        median {statistics.median(local_ms):.2f} ms"
            f"  p90 {sorted(local_ms)[int(len(local_ms) * 0.9)]:.2f} ms"
        )

        # 3. the cold CLI on a cached template: as installed (bytecode cached after the first
        # run, which an install or the first import writes) and with bytecode never written
        # (PYTHONDONTWRITEBYTECODE=1, as this sandbox sets it: every module compiled each time)
        cached_env = {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
        cached_env.pop("PYTHONDONTWRITEBYTECODE", None)
        print("3. cold `scrapec extract URL` on a cached template (target <= 1.0 s)")
        n = 10
        for label, run_env in (("bytecode cached", cached_env), ("no bytecode", env)):
            times, flags = [], ""
            for i in range(6):
                t = time.perf_counter()
                cold = subprocess.run(
                    [sys.executable, "-c", COLD_CLI, f"{base}/jsonld/p/{n}.html"],
                    env=run_env,
                    capture_output=True,
                    text=True,
                    cwd=work,
                    timeout=120,
                )
                n += 1
                if i:  # the first run writes the bytecode (or warms the disk cache)
                    times.append(time.perf_counter() - t)
                flags = [ln for ln in cold.stderr.splitlines() if ln.startswith("IMPORTED")][-1]
                assert json.loads(cold.stdout.splitlines()[-1])["valid"], cold.stdout + cold.stderr
            t = time.perf_counter()
            for _ in range(5):
                subprocess.run([sys.executable, "-c", "pass"], env=run_env, check=True)
            bare = (time.perf_counter() - t) / 5
            _, litellm, playwright, rc = flags.split()
            print(
                f"   {label:16} median {statistics.median(times):.2f} s, max {max(times):.2f} s "
                f"(python -c pass {bare:.2f} s); litellm imported: {litellm == '1'}, "
                f"playwright imported: {playwright == '1'}, exit {rc}"
            )

        # 4. many rendered pages, one browser
        from crawler.api import extract_many

        urls = [f"{base}/js/p/{i}.html" for i in range(1, args.pages + 1)]
        render_fetcher = Fetcher()
        t = time.perf_counter()
        results = extract_many(
            urls, "product", concurrency=4, registry=work / "rendered", fetcher=render_fetcher
        )
        wall = time.perf_counter() - t
        valid = sum(r.valid for r in results)
        print(f"4. extract_many of {len(urls)} script-written pages, rendered")
        print(
            f"   {wall:.1f} s, {len(urls) / wall:.1f} pages/s, valid {valid}/{len(urls)}, "
            f"browser launches {render_fetcher.browser.browser_launches}"
        )
        render_fetcher.close()
        fetcher.close()
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
