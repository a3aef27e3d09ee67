"""Scale-out on scrapy-redis: pages/s with 1, 2 and 4 crawl processes of one fleet.

`python bench/scale.py [--products 600] [--processes 1,2,4] [--pad BYTES]`

1. starts a redis-server of its own on 127.0.0.1 (``crawler.fleet.server``) and serves the
   demo shop (``--products`` product pages, every page rendered once before the clock starts,
   as in ``bench/crawl.py``) from a process of its own, so the server has its own CPU share;
2. exports 3 fixtures of ``shop.demo/product`` and compiles them with ``induce`` into the
   fleet's Redis registry;
3. for each process count N: N ``scrapy crawl fleet`` processes, each with its own local
   folder (as if on its own machine); once all of them wait for start URLs, a new fleet crawl
   (``python -m crawler.fleet start URL``: the queue, dupefilter and counters of the last one
   forgotten); every process ends after ``MAX_IDLE_TIME_BEFORE_CLOSE`` idle seconds;
4. prints pages/s of the fleet (responses of every process / the time from the start URL pushed,
   once every process waits for it, to the last process ended, less the idle wait each ends
   with), the scaling ratio 1 -> 2 (target >= 1.7 on a 2-core machine, the server permitting),
   the CPU share the demo server used (when it is near one core the server is the limit) and
   the crawl processes' (with their parser workers: when one process already keeps the cores
   busy, a second has none to use), the load average, the Redis commands per page (``INFO
   commandstats`` before and after: every command the fleet sent, scrapy-redis's queue and
   dupefilter included; a pipeline or a MULTI sends several commands in one round trip, so
   round trips are at most this), and checks that no page was crawled twice and none was lost.

``python bench/scale.py serve --port N [--products N] [--flip-after N]`` runs only the server (the
tests use it: ``--flip-after`` switches the shop's redesign on after that many product pages).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.demo.run import crawl_env  # noqa: E402

TEMPLATE = "shop.demo/product"
CORES = os.cpu_count() or 1
FOLLOW = r"/shop/"  # the shop only: no browser, no other template
IDLE = 5  # seconds a process waits, idle, before it ends (MAX_IDLE_TIME_BEFORE_CLOSE)
READY = "fleet: start URLs from"  # a crawl process logs it when it waits for start URLs
SETTINGS = {
    "LOG_LEVEL": "INFO",
    "AUTOTHROTTLE_ENABLED": "False",
    "HTTPCACHE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "DOWNLOAD_DELAY": "0",
    "SCRAPEC_PROGRESS_INTERVAL": "0",
    "MAX_IDLE_TIME_BEFORE_CLOSE": str(IDLE),
}


# -- the demo server in a process of its own ------------------------------------------------------


def serve(port: int, products: int, flip_after: int | None, pad: int, seed: int = 7) -> None:
    """Serve the demo site (shop, news, jobs) on 127.0.0.1:``port`` until killed; ``ready URL``
    on stdout once it listens."""
    from bench.crawl import CachedSite
    from crawler.demo.run import FlippingSite
    from crawler.demo.server import DemoServer

    site: Any
    if flip_after is None:
        site = CachedSite(pad=pad, products=products, seed=seed)
    else:
        site = FlippingSite(flip_after, products=products, seed=seed)
    server = DemoServer(site, port=port)
    server.start()
    if flip_after is None:
        site.warm()  # every page rendered once: serving is a look-up
    print(f"ready {server.base_url}", flush=True)
    server.serve_forever()


class ServerProcess:
    """``bench/scale.py serve`` as a subprocess (the demo server on its own core share)."""

    def __init__(
        self,
        products: int = 120,
        flip_after: int | None = None,
        pad: int = 0,
        port: int = 0,
        seed: int = 7,
    ) -> None:
        from crawler.fleet.server import free_port

        self.port = port or free_port()
        cmd = [sys.executable, str(Path(__file__)), "serve", "--port", str(self.port)]
        cmd += ["--products", str(products), "--pad", str(pad), "--seed", str(seed)]
        if flip_after is not None:
            cmd += ["--flip-after", str(flip_after)]
        self.cmd = cmd
        self.process: subprocess.Popen[str] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            self.cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready "):
            self.process.kill()
            raise RuntimeError(f"the demo server did not start: {line!r}")
        return self

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server process has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            if self.process.stdout is not None:
                self.process.stdout.close()


# -- a fleet -------------------------------------------------------------------------------------


def compile_into_fleet(redis_url: str, base_url: str, work: Path, seed: int = 7) -> Path:
    """3 fixtures of the shop compiled with ``induce`` into the fleet's registry; returns the
    fixtures folder."""
    from crawler.compiler import compile_template
    from crawler.demo.export import export_fixtures
    from crawler.fleet import Fleet
    from crawler.fleet.registry import RedisRegistry

    fixtures = work / "fixtures"
    export_fixtures(fixtures, per_template=3, seed=seed, base_url=base_url, templates=[TEMPLATE])
    registry = RedisRegistry(work / "compile", Fleet(redis_url))
    results = compile_template(
        fixtures, "product", registry, TEMPLATE, generator="induce", progress=None
    )
    if not all(r.published for r in results):
        raise SystemExit(f"{TEMPLATE}: not compiled: {results}")
    return fixtures


def fleet_command(
    settings: Mapping[str, object], *extra: str, follow: str = FOLLOW, schema: str = "product"
) -> list[str]:
    """``python -m scrapy crawl fleet -a schema=… -a follow=… -s K=V … EXTRA``."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "fleet", "-a", f"schema={schema}"]
    cmd += ["-a", f"follow={follow}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return [*cmd, *extra]


def fleet_env(redis_url: str, home: Path, **more: str) -> dict[str, str]:
    env = crawl_env(home)
    env["SCRAPEC_REDIS_URL"] = redis_url
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(more)
    return env


def start_crawl(redis_url: str, urls: Sequence[str]) -> None:
    """``python -m crawler.fleet start URL…``: a new crawl of the fleet."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SCRAPEC_REDIS_URL=redis_url)
    subprocess.run(
        [sys.executable, "-m", "crawler.fleet", "start", *urls],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def launch(
    redis_url: str,
    work: Path,
    name: str,
    fixtures: Path,
    settings: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """One crawl process of the fleet, with its own folder ``work/name`` (its machine), the
    Scrapy ``settings`` and the environment variables ``env`` on top of the benchmark's."""
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    stats_file = folder / "stats.json"
    items = folder / "items.jsonl"
    every = {
        **SETTINGS,
        "SCRAPEC_REGISTRY": folder / "local",
        "SCRAPEC_FIXTURES": fixtures,
        "SCRAPEC_STATS_FILE": stats_file,
        **(settings or {}),
    }
    cmd = fleet_command(every, "-O", str(items))
    log = (folder / "crawl.log").open("wb")
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=fleet_env(redis_url, folder / "home", **(env or {})),
        stdout=log,
        stderr=log,
    )
    log.close()
    return proc, stats_file, items


def commands_sent(client: Any) -> dict[str, int]:
    """Commands the Redis server has executed, by name (``INFO commandstats``; ``INFO`` itself
    and the ``start`` command's aside)."""
    stats = client.info("commandstats")
    return {
        k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"
    }


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    found = {k: v - before.get(k, 0) for k, v in after.items()}
    return dict(sorted(((k, v) for k, v in found.items() if v), key=lambda kv: -kv[1]))


def run(
    redis_url: str, base_url: str, work: Path, fixtures: Path, processes: int
) -> dict[str, Any]:
    """One fleet crawl with ``processes`` processes; its figures."""
    import redis

    client = redis.Redis.from_url(redis_url)
    before = commands_sent(client)
    cpu_before = _children_cpu()
    launched = [launch(redis_url, work, f"n{processes}-p{i}", fixtures) for i in range(processes)]
    logs = [items.parent / "crawl.log" for _p, _s, items in launched]
    while not all(READY in log.read_text("utf-8", "replace") for log in logs):  # all wait
        for (proc, _s, _i), log in zip(launched, logs, strict=True):
            if proc.poll() is not None:
                _failed(proc, log)
        time.sleep(0.05)
    start_crawl(redis_url, [f"{base_url}/"])
    pushed = time.monotonic()
    ended: dict[int, float] = {}
    while len(ended) < len(launched):
        for i, ((proc, _s, _i), log) in enumerate(zip(launched, logs, strict=True)):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic()
                if proc.returncode != 0:
                    _failed(proc, log)
        time.sleep(0.02)
    cpu = _children_cpu() - cpu_before
    after = commands_sent(client)
    sent = _delta(after, before)
    total = sum(sent.values())
    stats = [json.loads(s.read_text()) for _p, s, _i in launched]
    items = [json.loads(line) for _p, _s, i in launched for line in i.read_text().splitlines()]
    responses = sum(int(s.get("response_received_count", 0)) for s in stats)
    # from the start URL pushed to the last process ended, less the idle wait each ends with
    seconds = max(max(ended.values()) - pushed - IDLE, 1e-6)
    urls = [i["_url"] for i in items]
    client.close()
    return {
        "processes": processes,
        "responses": responses,
        "items": len(items),
        "duplicate items": len(urls) - len(set(urls)),
        "seconds": seconds,
        "pages/s": responses / seconds,
        "redis commands": total,
        "redis commands/page": total / max(responses, 1),
        "redis commands by name": sent,
        "per process": [int(s.get("response_received_count", 0)) for s in stats],
        "crawler CPU s": cpu,
    }


def _load() -> str:
    """The 1-minute load average (other work on the machine shares its cores)."""
    return Path("/proc/loadavg").read_text().split()[0]


def _children_cpu() -> float:
    """CPU seconds of the crawl processes ended so far, their parser workers included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _failed(proc: subprocess.Popen[bytes], log: Path) -> None:
    tail = "".join(log.read_text().splitlines(keepends=True)[-25:])
    raise SystemExit(f"a crawl process failed (exit {proc.poll()}); {log}:\n{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command")
    one = sub.add_parser("serve", help="serve the demo site only")
    one.add_argument("--port", type=int, required=True)
    one.add_argument("--products", type=int, default=120)
    one.add_argument("--flip-after", type=int, default=None)
    one.add_argument("--pad", type=int, default=0)
    one.add_argument("--seed", type=int, default=7)
    ap.add_argument("--products", type=int, default=600)
    ap.add_argument("--processes", default="1,2,4")
    ap.add_argument("--pad", type=int, default=0, help="bytes of padding per product page")
    args = ap.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.products, args.flip_after, args.pad, args.seed)
        return 0
    from crawler.fleet.server import RedisServer, redis_server_binary

    if redis_server_binary() is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    counts = [int(n) for n in args.processes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="scrapec-scale-") as tmp, RedisServer() as redis_server:
        work = Path(tmp)
        with ServerProcess(args.products, pad=args.pad) as server:
            fixtures = compile_into_fleet(redis_server.url, server.base_url, work)
            expected = args.products
            print(
                f"fleet at {redis_server.url}; demo shop at {server.base_url} ({args.products} "
                f"products, server in pid {server.process.pid if server.process else '?'});"
                f" {os.cpu_count()} cores"
            )
            for n in counts:
                cpu0, t0 = server.cpu_seconds(), time.monotonic()
                result = run(redis_server.url, server.base_url, work, fixtures, n)
                wall = time.monotonic() - t0
                result["server CPU share"] = (server.cpu_seconds() - cpu0) / max(wall - IDLE, 1e-6)
                # of the machine's cores, over the crawl processes' whole life (start-up included)
                result["crawler CPU share"] = result["crawler CPU s"] / max(wall, 1e-6) / CORES
                result["lost"] = expected - result["items"] + result["duplicate items"]
                results.append(result)
                print(
                    f"{n} process(es): {result['responses']} pages in {result['seconds']:.1f} s ="
                    f" {result['pages/s']:.1f} pages/s (per process {result['per process']});"
                    f" items {result['items']}, duplicates {result['duplicate items']}, lost "
                    f"{result['lost']}; redis {result['redis commands/page']:.1f} commands/page;"
                    f" server CPU {result['server CPU share']:.0%} of a core; crawlers"
                    f" {result['crawler CPU s'] / max(result['responses'], 1) * 1000:.1f} ms CPU/page,"
                    f" {result['crawler CPU share']:.0%} of the {CORES} cores; load {_load()}"
                )
                top = list(result["redis commands by name"].items())[:8]
                print(
                    "   redis commands/page: "
                    + ", ".join(f"{k} {v / max(result['responses'], 1):.2f}" for k, v in top)
                )
    by_n = {r["processes"]: r for r in results}
    if 1 in by_n and 2 in by_n:
        ratio = by_n[2]["pages/s"] / by_n[1]["pages/s"]
        server, crawlers = by_n[2]["server CPU share"], by_n[1]["crawler CPU share"]
        notes = [
            f"the server {'is' if server > 0.8 else 'is not'} the limit ({server:.0%} of a core)",
            f"one crawl process (its parser worker included) already keeps {crawlers:.0%} of the"
            f" {CORES} cores busy",
        ]
        note = "; ".join(notes)
        print(f"scaling 1 -> 2 processes: {ratio:.2f}x (target >= 1.7); {note}")
    if 4 in by_n and 1 in by_n:
        print(f"scaling 1 -> 4 processes: {by_n[4]['pages/s'] / by_n[1]['pages/s']:.2f}x")
    return 0 if all(r["lost"] == 0 and r["duplicate items"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
