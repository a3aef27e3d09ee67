"""``python -m crawler.fleet start|add|status`` — drive a fleet's crawl (``SCRAPEC_REDIS_URL``).

- ``start URL…``: a new crawl of the fleet: forget the last crawl's request queue, dupefilter
  and counters, then push the start URLs (every ``scrapy crawl fleet`` process pops them);
- ``add URL…``: push more start URLs into the running crawl (URLs already crawled are filtered);
- ``status``: the queue, the start URLs waiting, crawl processes alive, held and quarantined
  pages, the fleet's run counters and drift events per template (JSON).

The same as ``redis-cli -u $SCRAPEC_REDIS_URL RPUSH fleet:start_urls '{"url": "URL"}'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlsplit

from crawler.exceptions import BadInput, ScrapecError
from crawler.fleet import Fleet, text

SPIDER = "fleet"


def start_urls_key(spider: str = SPIDER) -> str:
    return f"{spider}:start_urls"


def push(fleet: Fleet, urls: list[str], spider: str = SPIDER, new: bool = True) -> int:
    """Push start URLs (``new``: after forgetting the last crawl); returns how many."""
    from crawler.fleet.counters import reset

    for url in urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise BadInput(f"{url!r}: not an http(s) URL")
    if new:
        fleet.redis.delete(f"{spider}:requests", f"{spider}:dupefilter", start_urls_key(spider))
        reset(fleet)
    if urls:
        fleet.redis.rpush(start_urls_key(spider), *(json.dumps({"url": u}) for u in urls))
    return len(urls)


def status(fleet: Fleet, spider: str = SPIDER) -> dict[str, object]:
    """What the fleet is doing now."""
    from crawler.fleet.counters import drift_counts, figures

    r = fleet.redis
    queue = f"{spider}:requests"
    kind = text(r.type(queue))
    queued = r.zcard(queue) if kind == "zset" else r.llen(queue) if kind == "list" else 0
    pages = {}
    for what in ("held", "released", "quarantine"):
        count = 0
        for template in r.smembers(fleet.key("kinds", what)):
            count += int(r.hlen(fleet.key("pages", what, text(template))))
        pages[what] = count
    return {
        "redis": fleet.url,
        "queued requests": int(queued),
        "start urls waiting": int(r.llen(start_urls_key(spider))),
        "urls seen": int(r.scard(f"{spider}:dupefilter")),
        "crawls alive": len(list(r.scan_iter(fleet.key("owner", "*")))),
        "pages": pages,
        "counters": figures(fleet),
        "drift": drift_counts(fleet),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m crawler.fleet", description=__doc__.split("\n")[0])
    ap.add_argument("--spider", default=SPIDER, help="spider name (keys <spider>:…)")
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("start", "add"):
        one = sub.add_parser(name, help="a new crawl" if name == "start" else "more start URLs")
        one.add_argument("urls", nargs="+", metavar="URL")
    sub.add_parser("status", help="the fleet now (JSON)")
    args = ap.parse_args(argv)
    try:
        fleet = Fleet.from_env()
        if fleet is None:
            raise BadInput("SCRAPEC_REDIS_URL is not set: export redis://HOST:PORT/DB")
        if args.command == "status":
            print(json.dumps(status(fleet, args.spider), indent=2))
        else:
            count = push(fleet, args.urls, args.spider, new=args.command == "start")
            print(f"{count} start URLs pushed to {start_urls_key(args.spider)} at {fleet.url}")
    except ScrapecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
