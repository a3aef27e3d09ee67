"""Chaos: a real crawl of a shop on 127.0.0.1 whose layout changes mid-crawl, SIGKILLed at random
moments and resumed (JOBDIR) until it finishes; a crawl whose registry is on a full filesystem;
two concurrent crawls on one registry. Prints lost and duplicated pages and regenerations per
template.

What counts, over every run of a scenario together:

- *lost*: a product URL that is neither an item in some feed file (all runs' files) nor in the
  quarantine folder with a reason, once the job has finished (nothing is left held);
- *duplicated*: an item line of a URL beyond its first, over all runs' feed files.

The feeds are written with ``FEED_EXPORT_BATCH_ITEM_COUNT=1``, one file per item (a plain ``-o``
works as well: the extension flushes and fsyncs the feed before acknowledging an item).

    .venv/bin/python bench/chaos.py [--kills 8] [--products 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import setup_registry  # noqa: E402
from shop_server import ShopServer  # noqa: E402

from crawler.demo.run import crawl_env, scrapy_command  # noqa: E402

T = "shop.test/product"


def crawl_cmd(work: Path, base: str, feed: str, *extra: str, jobdir: bool = True) -> list[str]:
    settings = {
        "SCRAPEC_REGISTRY": work / "reg",
        "SCRAPEC_FIXTURES": work / "fx",
        "SCRAPEC_RENDER_PROBE": False,
        "LOG_LEVEL": "INFO",
        "FEED_EXPORT_BATCH_ITEM_COUNT": 1,
    }
    args = ["-o", str(work / "feed" / f"{feed}-%(batch_id)05d.jsonl"), *extra]
    if jobdir:
        args += ["-s", f"JOBDIR={work / 'job'}"]
    return scrapy_command(f"{base}/", settings, *args, schema="product")


def feed_items(folder: Path, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob(f"{prefix}*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))  # a line cut short would fail here: none may be
    return out


def quarantined(state: Path) -> dict[str, str]:
    """URL -> reason of every quarantined page (its page and metadata on disk)."""
    out = {}
    for meta_path in (state / "quarantine").glob("*/*.json"):
        meta = json.loads(meta_path.read_text("utf-8"))
        if meta_path.with_suffix(".html").exists() and meta.get("reason"):
            out[meta["url"]] = meta["reason"]
    return out


def held(state: Path) -> list[str]:
    return [p.name for kind in ("held", "released") for p in (state / kind).glob("*/*.json")]


def regenerations(work: Path) -> dict[str, int]:
    """Versions published by regeneration (all but the first) per template."""
    out = {}
    for info_path in (work / "reg").glob("*/*/parser.json"):
        info = json.loads(info_path.read_text("utf-8"))
        template = str(info_path.parent.relative_to(work / "reg"))
        out[template] = len(info.get("versions", {})) - 1
    return out


def count(work: Path, base: str, products: int, prefix: str = "") -> dict[str, Any]:
    items = feed_items(work / "feed", prefix)
    urls = [i["_url"] for i in items]
    expected = {f"{base}/p/{i}.html" for i in range(1, products + 1)}
    kept = quarantined(work / "reg" / ".state")
    lost = sorted(expected - set(urls) - set(kept))
    return {
        "items": len(set(urls)),
        "quarantined": len(kept),
        "lost": len(lost),
        "lost_urls": lost[:5],
        "duplicated": len(urls) - len(set(urls)),
        "left_held": len(held(work / "reg" / ".state")),
        "regenerations": regenerations(work),
    }


def first_crawl(work: Path, shop: ShopServer) -> None:
    """The crawl before the redesign: every URL's last good item is recorded (repair needs it)."""
    proc = subprocess.run(
        crawl_cmd(work, shop.url, "first", jobdir=False),
        cwd=ROOT,
        env=crawl_env(work / "home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(work / "feed")


def sigkill_chaos(
    work: Path, products: int = 60, kills: int = 8, seed: int = 7, budget: float = 150.0
) -> dict[str, Any]:
    """Kill a JOBDIR crawl ``kills`` times at random moments (seeded) while the site's layout
    changes under it, resume it each time, and let the last run finish."""
    rng = random.Random(seed)
    started = time.monotonic()
    with ShopServer(products) as shop:
        setup_registry(work, shop.url)
        first_crawl(work, shop)
        shop.redesign_after = shop.served + products // 3  # mid-crawl: a regeneration
        runs, killed, exit_codes = 0, 0, []
        while True:
            runs += 1
            proc = subprocess.Popen(
                crawl_cmd(work, shop.url, f"run{runs:02d}", "-s", "CONCURRENT_REQUESTS=4"),
                cwd=ROOT,
                env=crawl_env(work / "home"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if killed < kills and time.monotonic() - started < budget:
                try:
                    proc.wait(timeout=rng.uniform(1.5, 7.0))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += 1
                    continue
            else:
                proc.wait(timeout=300)
            exit_codes.append(proc.returncode)
            if proc.returncode == 0 and killed >= kills or time.monotonic() - started > budget:
                break
            if proc.returncode != 0:
                break
        out = count(work, shop.url, products)
    out.update(runs=runs, kills=killed, exit_codes=exit_codes, seconds=time.monotonic() - started)
    return out


def full_disk(work: Path, products: int = 40, size: str = "600k") -> dict[str, Any]:
    """The registry (history, held and quarantined pages) on a tmpfs of ``size`` that fills up
    during the crawl (mount needs root: skipped otherwise)."""
    with ShopServer(products) as shop:
        reg = work / "reg"
        reg.mkdir(parents=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(reg)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            return {"skipped": f"mount tmpfs: {mounted.stderr.strip()}"}
        try:
            setup_registry(work, shop.url)
            shop.redesign_after = 0  # every page is held first: the store fills the disk
            filler = reg / "filler"
            with open(filler, "wb") as fh:  # leave a little room: the crawl fills the rest
                free = shutil.disk_usage(reg).free
                fh.write(b"\0" * max(0, free - 150_000))
            proc = subprocess.run(
                crawl_cmd(work, shop.url, "full", "-s", "CONCURRENT_REQUESTS=2"),
                cwd=ROOT,
                env=crawl_env(work / "home"),
                capture_output=True,
                text=True,
                timeout=300,
            )
            errors = [line for line in proc.stderr.splitlines() if "cannot write" in line]
            filler.unlink()
            out = count(work, shop.url, products)
            # nothing acknowledged that is not on disk: what is not in a feed, quarantined or
            # held is a request the journal has not marked done (fetched again on resume)
            import sqlite3

            db = sqlite3.connect(work / "job" / "scrapec-journal.sqlite")
            pending = {u for (u,) in db.execute("SELECT key FROM requests WHERE done = 0")}
            db.close()
            kept = set(quarantined(reg / ".state"))
            held_urls = set()
            for kind in ("held", "released"):
                for meta_path in (reg / ".state" / kind).glob("*/*.json"):
                    held_urls.add(json.loads(meta_path.read_text("utf-8"))["url"])
            emitted = {i["_url"] for i in feed_items(work / "feed")}
            expected = {f"{shop.url}/p/{i}.html" for i in range(1, products + 1)}
            silent = expected - emitted - kept - held_urls - pending
            out.update(
                exit_code=proc.returncode,
                error=errors[0][-300:] if errors else "",
                unacknowledged=len(pending & expected),
                silently_lost=len(silent),
            )
            # resume on a disk with room again: the job finishes and nothing is lost
            resumed = subprocess.run(
                crawl_cmd(work, shop.url, "resumed"),
                cwd=ROOT,
                env=crawl_env(work / "home"),
                capture_output=True,
                text=True,
                timeout=300,
            )
            after = count(work, shop.url, products)
            out.update(resumed_exit=resumed.returncode, after_resume=after)
            return out
        finally:
            subprocess.run(["umount", "-l", str(reg)], capture_output=True)


def two_crawls(work: Path, products: int = 40) -> dict[str, Any]:
    """Two crawls on one registry after a redesign: one regeneration, nothing lost by either."""
    with ShopServer(products) as shop:
        setup_registry(work, shop.url)
        first_crawl(work, shop)
        shop.redesign_after = 0
        procs = [
            subprocess.Popen(
                crawl_cmd(work, shop.url, f"c{i}", jobdir=False),
                cwd=ROOT,
                env=crawl_env(work / "home"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        for p in procs:
            p.communicate(timeout=300)
        out: dict[str, Any] = {"exit_codes": [p.returncode for p in procs]}
        for i in range(2):
            out[f"crawl{i}"] = count(work, shop.url, products, prefix=f"c{i}-")
        out["regenerations"] = regenerations(work)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--products", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scrapec-chaos-") as tmp:
        base = Path(tmp)
        chaos = sigkill_chaos(base / "kill", args.products, args.kills, args.seed, budget=240)
        print(
            f"SIGKILL chaos: {chaos['kills']} kills, {chaos['runs']} runs, {chaos['seconds']:.0f} s: "
            f"lost {chaos['lost']}, duplicated {chaos['duplicated']}, items {chaos['items']}, "
            f"quarantined {chaos['quarantined']}, left held {chaos['left_held']}, "
            f"regenerations {chaos['regenerations']}, last exit {chaos['exit_codes'][-1:]}"
        )
        disk = full_disk(base / "disk")
        if "skipped" in disk:
            print(f"full disk: skipped ({disk['skipped']})")
        else:
            after = disk["after_resume"]
            print(
                f"full disk: exit {disk['exit_code']}, silently lost {disk['silently_lost']}, "
                f"not acknowledged {disk['unacknowledged']}, error: {disk['error']!r}; "
                f"after a resume with room: exit {disk['resumed_exit']}, lost {after['lost']}, "
                f"duplicated {after['duplicated']}"
            )
        two = two_crawls(base / "two")
        print(
            f"two crawls: exits {two['exit_codes']}, regenerations {two['regenerations']}, "
            + ", ".join(
                f"crawl {i}: lost {two[f'crawl{i}']['lost']}, duplicated "
                f"{two[f'crawl{i}']['duplicated']}, items {two[f'crawl{i}']['items']}"
                for i in range(2)
            )
        )


if __name__ == "__main__":
    main()
