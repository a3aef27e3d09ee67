"""``make demo``: the main job of scrapec on the bundled demo site, start to finish.

1. serve the demo site (shop, job board rendered by JavaScript, news) on 127.0.0.1;
2. crawl it with ``scrapy crawl site`` from an EMPTY registry: each template is compiled the first
   time the crawl meets it, from the fixtures in ``fixtures/`` (no LLM);
3. halfway through the shop's product pages, flip the shop's redesign (class and id renames, new
   wrappers, moved blocks; same data): the crawl notices, holds the pages, regenerates the shop
   parser cheapest tier first, and re-parses what it held;
4. recrawl the whole site (a nightly run): known URLs are repaired from their last good items;
5. print a summary scored against the generator's truth: pages, items, field accuracy (before
   and after the redesign), templates compiled, regenerations per tier, LLM calls, held,
   quarantined, lost (must be 0), wall time.

``python -m crawler.demo.run [--out DIR] [--port N] [--no-redesign]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crawler.demo.export import export_fixtures
from crawler.demo.server import DemoServer
from crawler.demo.site import DemoSite
from crawler.fixtures import normalise

ROOT = Path(__file__).resolve().parent.parent.parent


class FlippingSite(DemoSite):
    """The demo site that turns its shop redesign on after ``flip_after`` product pages."""

    def __init__(self, flip_after: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flip_after = flip_after
        self.products_served = 0
        self.after_flip: set[str] = set()
        self._lock = threading.Lock()

    def render(self, path: str) -> tuple[int, str, bytes]:
        if path.startswith("/shop/product/"):
            with self._lock:
                self.products_served += 1
                if (
                    self.flip_after is not None
                    and not self.redesign
                    and self.products_served > self.flip_after
                ):
                    self.redesign = True
                    print(
                        f"  >>> redesign of shop.demo switched on after {self.flip_after} product pages",
                        flush=True,
                    )
                if self.redesign:
                    self.after_flip.add(path)
        return super().render(path)


def crawl_env(home: Path) -> dict[str, str]:
    """The environment of a crawl subprocess: this checkout first on ``PYTHONPATH``; ``HOME`` and
    the XDG cache and config folders under ``home``, so a crawl writes nothing in the user's."""
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def scrapy_command(
    start_url: str,
    settings: Mapping[str, object],
    *extra: str,
    command: Sequence[str] = ("crawl", "site"),
    python: Sequence[str] = (sys.executable,),
    **spider_args: str,
) -> list[str]:
    """``python -m scrapy crawl site -a start_url=URL [-a NAME=VALUE …] [-s KEY=VALUE …] EXTRA…``.

    >>> scrapy_command("http://127.0.0.1:8765/", {"LOG_LEVEL": "INFO"}, "-O", "items.jsonl",
    ...                python=["python"], schema="product")  # doctest: +NORMALIZE_WHITESPACE
    ['python', '-m', 'scrapy', 'crawl', 'site', '-a', 'start_url=http://127.0.0.1:8765/',
     '-a', 'schema=product', '-s', 'LOG_LEVEL=INFO', '-O', 'items.jsonl']
    """
    cmd = [*python, "-m", "scrapy", *command, "-a", f"start_url={start_url}"]
    for name, arg in spider_args.items():
        cmd += ["-a", f"{name}={arg}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return [*cmd, *extra]


def crawl(base_url: str, out: Path, name: str, registry: Path, fixtures: Path) -> dict[str, Any]:
    """One ``scrapy crawl site`` run; its progress lines are shown; returns its stats."""
    items = out / f"{name}.jsonl"
    stats_file = out / f"{name}.stats.json"
    env = crawl_env(out / "home")
    settings = {
        "SCRAPEC_REGISTRY": registry,
        "SCRAPEC_FIXTURES": fixtures,
        "SCRAPEC_STATS_FILE": stats_file,
        "SCRAPEC_PROGRESS_INTERVAL": 5,
        "LOG_LEVEL": "INFO",
    }
    cmd = scrapy_command(f"{base_url}/", settings, "-O", str(items))
    shown = (
        "scrapec:",
        "drift [",
        "published v",
        "regenerating",
        "quarantined",
        "new template",
        "render=true",
        "not enough labels",
    )
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    log = (out / f"{name}.log").open("w")
    for line in proc.stderr:
        log.write(line)
        if any(key in line for key in shown) and not line.lstrip().startswith("'scrapec/"):
            print("  " + line.split("] ", 1)[-1].rstrip()[:160], flush=True)
    log.close()
    code = proc.wait()
    if code != 0 and not stats_file.exists():  # it did not get to the end
        raise SystemExit(f"the crawl failed (exit {code}): see {out / (name + '.log')}")
    if code != 0:  # it ended and said why it failed (SCRAPEC_FAIL_ON): the summary shows it
        print(f"  the crawl exited {code}: see the WARNING lines above, {out / (name + '.log')}")
    stats: dict[str, Any] = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    stats["_exit"] = code
    stats["_items"] = (
        [json.loads(line) for line in items.read_text().splitlines()] if items.exists() else []
    )
    return stats


def score(
    site: DemoSite, items: list[dict[str, Any]], only: set[str] | None = None
) -> tuple[int, int]:
    """(correct fields, fields) of the items against the generator's truth."""
    correct = total = 0
    for item in items:
        path = "/" + item["_url"].split("/", 3)[3]
        if only is not None and path not in only:
            continue
        truth = site.truth(item["_url"])
        if truth is None:
            continue
        _, expected = truth
        for name, value in expected.items():
            total += 1
            correct += normalise(item.get(name)) == normalise(value)
    return correct, total


def summary(
    site: FlippingSite, run: dict[str, Any], detail_urls: set[str], quarantined: set[str]
) -> dict[str, Any]:
    items = run["_items"]
    urls = {i["_url"] for i in items}
    correct, total = score(site, items)
    after_ok, after_total = score(site, items, site.after_flip)
    stale = [
        i
        for i in items
        if i.get("_template") == "shop.demo/product"
        and i.get("_parser_version") == 1
        and "/" + i["_url"].split("/", 3)[3] in site.after_flip
    ]
    latency = len(stale) + 1 if run.get("scrapec/drift_events") else "no drift"
    return {
        "pages": run.get("scrapec/pages", 0),
        "redesigned pages emitted by the old parser": len(stale),
        "detection latency (pages)": latency,
        "items": len(items),
        "duplicate items": len(items) - len(urls),
        "field accuracy": f"{correct}/{total} = {correct / total:.2%}" if total else "n/a",
        "field accuracy after redesign": f"{after_ok}/{after_total} = {after_ok / after_total:.2%}"
        if after_total
        else "n/a",
        "templates compiled": run.get("scrapec/compiled", 0),
        "regenerations": {
            k.split("/", 2)[2]: v
            for k, v in run.items()
            if k.startswith("scrapec/regenerated/") and k.count("/") == 2  # per tier, not template
        },
        "drift events": run.get("scrapec/drift_events", 0),
        "LLM calls": run.get("scrapec/llm_calls", 0),
        "held (then released)": run.get("scrapec/held", 0),
        "quarantined": len(quarantined & detail_urls),
        "exit code": run.get("_exit", 0),
        "lost": len(detail_urls - urls - quarantined),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the scrapec demo: crawl, redesign, heal, score.")
    ap.add_argument("--out", default="out/demo", help="working folder (recreated)")
    ap.add_argument(
        "--port", type=int, default=0, help="port of the demo site (default: a free one)"
    )
    ap.add_argument("--no-redesign", action="store_true")
    args = ap.parse_args(argv)
    start = time.time()
    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if (
        not shutil.which("chromium")
        and not Path(os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium")).exists()
    ):
        print(
            "note: chromium is not installed (apt-get install chromium): the JavaScript job board cannot be rendered"
        )
    site = FlippingSite(None)
    flip_after = None if args.no_redesign else len(site.detail_paths("shop.demo/product")) // 2
    site.flip_after = flip_after
    with DemoServer(site, port=args.port) as server:
        base = server.base_url
        fixtures = out / "fixtures"
        export_fixtures(fixtures, per_template=3, base_url=base, rendered=True)
        registry = out / "registry"
        detail = {site.url(p) for t in site.templates() for p in site.detail_paths(t)}
        print(
            f"demo site at {base}: {len(site.all_paths())} pages, {len(detail)} detail pages, 3 templates"
        )
        print(f"registry {registry} is empty; fixtures: {fixtures} (3 per template)\n")
        print("crawl 1: from an empty registry, shop redesign switched on halfway")
        first = crawl(base, out, "crawl1", registry, fixtures)
        quarantined = _quarantined(registry)
        report1 = summary(site, first, detail, quarantined)
        print("\ncrawl 2: the nightly recrawl of the redesigned site")
        site.flip_after = None
        second = crawl(base, out, "crawl2", registry, fixtures)
        site.after_flip = {p for p in site.detail_paths("shop.demo/product")}
        report2 = summary(site, second, detail, _quarantined(registry))
    wall = time.time() - start
    print("\n=== summary ===")
    for title, report in (
        ("crawl 1 (redesign mid-crawl)", report1),
        ("crawl 2 (recrawl)", report2),
    ):
        print(title)
        for key, value in report.items():
            print(f"  {key:30} {value}")
    print(
        f"wall time {wall:.1f} s; registry {registry}; items {out}/crawl1.jsonl, {out}/crawl2.jsonl"
    )
    print(f"review the parsers: {registry}/*/*/v*.py")
    print(f"review the fixtures the heal made: {_cli('fixture', 'list', '--fixtures', fixtures)}")
    print(
        "the report: "
        + _cli("report", "--registry", registry, "--fixtures", fixtures, "--out", out / "report")
    )
    lost = report1["lost"] + report2["lost"]
    return 1 if lost else 0


def _cli(*args: object) -> str:
    """A ``scrapec`` command line run with this interpreter (the project's, not whatever
    ``python`` is on the PATH), its paths quoted for a shell."""
    import shlex

    return shlex.join([sys.executable, "-m", "crawler.cli", *map(str, args)])


def _quarantined(registry: Path) -> set[str]:
    from crawler.runtime import PageStore

    return {m.url for m in PageStore(registry / ".state").pages("quarantine")}


if __name__ == "__main__":
    raise SystemExit(main())
