"""The fleet's spider: ``scrapy crawl fleet -a schema=NAME [-a follow=REGEX] [-a items=REGEX]``.

The same crawl as ``site`` (:class:`~crawler.crawl.spiders.site.SiteSpider`) run by any number
of processes on any number of machines that share a Redis (``SCRAPEC_REDIS_URL``; the add-on
switches the scheduler and the dupefilter to scrapy-redis). Start URLs are not arguments: they
are pushed to the list ``fleet:start_urls`` (``python -m crawler.fleet start URL…``, or
``redis-cli -u $SCRAPEC_REDIS_URL RPUSH fleet:start_urls '{"url": "URL"}'``) and each process
pops what is there. Every page's links are followed within the host of the start URL its crawl
came from (carried in the request's meta), so a process follows links of pages another process
started from.

A process runs until it has been idle — nothing downloading, nothing being parsed or
regenerated, the shared queue and the start list empty — for ``MAX_IDLE_TIME_BEFORE_CLOSE``
seconds (scrapy-redis's setting; 0, the default, keeps it waiting for start URLs for good). The
waiting happens inside :meth:`FleetSpider.start` (Scrapy 2.13+ runs ``start()``, not
``start_requests()``), so the engine is never idle, and the end-of-crawl flush of held pages
never runs, before the process is really done.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.http import Response, TextResponse
from scrapy.utils.response import get_base_url

from crawler.crawl.middleware import LINKS_KEY
from crawler.crawl.spiders.site import FOLLOWED_SCHEMES, SiteSpider
from crawler.exceptions import BadInput
from crawler.links import tree_links

SCOPE_META = "scrapec_scope"  # the host:port of the start URL a request's crawl came from
POLL_SECONDS = 0.2


class FleetSpider(SiteSpider):
    """:class:`SiteSpider` fed from Redis: see the module. (Not scrapy-redis's ``RedisSpider``:
    its ``start_requests()`` is not called by Scrapy 2.13+, and its module would be imported by
    every ``scrapy crawl site`` that loads this one; the start list is read the same way.)"""

    name = "fleet"
    redis_key = ""  # the start URLs' list: REDIS_START_URLS_KEY, by default fleet:start_urls
    server: Any = None

    def __init__(
        self,
        schema: str = "",
        follow: str = "",
        template: str = "",
        items: str = "",
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("start_url", None):
            raise BadInput(
                "the fleet spider takes no start_url: push start URLs to Redis "
                "(python -m crawler.fleet start URL…)"
            )
        super(SiteSpider, self).__init__(**kwargs)  # Spider's: SiteSpider's wants a start_url
        self.start_url = ""
        self.host = ""
        self._options(schema, follow, template, items)
        self._busy_at = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> FleetSpider:
        from crawler.fleet import fleet_settings

        if not fleet_settings()[0]:
            raise BadInput(
                "the fleet spider needs a fleet: set SCRAPEC_REDIS_URL=redis://HOST:PORT/DB "
                "in the environment"
            )
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, FleetSpider)
        # Redis is set up in start(): the spider is made before the add-ons set REDIS_URL
        crawler.signals.connect(spider._busy, signal=signals.response_received)
        return spider

    def _busy(self, **_kwargs: Any) -> None:
        self._busy_at = time.monotonic()

    def setup_redis(self) -> None:
        """The connection (``REDIS_URL``, set by the add-on) and the start list's name."""
        import redis

        settings = self.crawler.settings
        self.server = redis.Redis.from_url(settings.get("REDIS_URL"))
        key = settings.get("REDIS_START_URLS_KEY") or "%(name)s:start_urls"
        self.redis_key = key % {"name": self.name}
        self.batch_size = max(1, settings.getint("CONCURRENT_REQUESTS", 16))
        self.logger.info(f"fleet: start URLs from the Redis list {self.redis_key!r}")

    def next_requests(self) -> list[Request]:
        """Pop the start URLs waiting (as many as CONCURRENT_REQUESTS) and make their requests."""
        with self.server.pipeline(transaction=True) as pipe:
            pipe.lrange(self.redis_key, 0, self.batch_size - 1)
            pipe.ltrim(self.redis_key, self.batch_size, -1)
            popped, _ = pipe.execute()
        out: list[Request] = []
        for data in popped:
            made = self.make_request_from_data(data)
            out.extend(made if isinstance(made, list) else [made])
        return out

    def make_request_from_data(self, data: bytes) -> Request | list[Request]:
        """A start URL from ``fleet:start_urls``: ``{"url": …}`` (JSON) or the bare URL."""
        text = data.decode("utf-8", "replace").strip()
        url = text
        if text.startswith("{"):
            try:
                url = str(json.loads(text).get("url") or "")
            except (ValueError, AttributeError):
                url = ""
        if urlsplit(url).scheme not in FOLLOWED_SCHEMES or not urlsplit(url).netloc:
            self.logger.warning(f"{self.redis_key}: {text[:200]!r} is no http(s) URL: skipped")
            return []
        return self.request(url, urlsplit(url).netloc)

    def request(self, url: str, scope: str | None = None) -> Request:
        request = super().request(url)
        request.meta[SCOPE_META] = scope or urlsplit(url).netloc
        return request

    async def start(self) -> AsyncIterator[Any]:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        self.setup_redis()
        self._busy_at = time.monotonic()
        try:
            idle = int(self.settings.get("MAX_IDLE_TIME_BEFORE_CLOSE") or 0)
        except (TypeError, ValueError):
            raise BadInput(
                f"MAX_IDLE_TIME_BEFORE_CLOSE={self.settings.get('MAX_IDLE_TIME_BEFORE_CLOSE')!r}:"
                " not a whole number of seconds"
            ) from None
        queue = self.settings.get("SCHEDULER_QUEUE_KEY", "%(spider)s:requests") % {
            "spider": self.name
        }
        while True:
            found = self.next_requests()
            for request in found:
                yield request
            if found or self._working(queue):
                self._busy_at = time.monotonic()
            elif idle and time.monotonic() - self._busy_at >= idle:
                self.logger.info(f"fleet: idle for {idle} s, the shared queue empty: done")
                return
            slot = getattr(self.crawler.engine, "_slot", None)
            if slot is not None:  # take requests other processes queued, without waiting 5 s
                slot.nextcall.schedule()
            await maybe_deferred_to_future(deferLater(reactor, POLL_SECONDS, lambda: None))

    def _working(self, queue: str) -> bool:
        """Whether this process, or the shared queue, has work now."""
        from crawler.crawl.glue import runtime_for

        engine = self.crawler.engine
        if engine is None:
            return False
        slot = engine.scraper.slot
        if engine.downloader.active or (slot is not None and not slot.is_idle()):
            return True
        # pages released by a regeneration wait for the next response, or for the flush at
        # idle: they are not work to wait for (the flush emits them once start() is done)
        if runtime_for(self.crawler).regenerating():
            return True
        kind = self.server.type(queue)
        if kind == b"zset":
            return bool(self.server.zcard(queue))
        if kind == b"list":
            return bool(self.server.llen(queue))
        return False

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        scope = response.meta.get(SCOPE_META) or urlsplit(response.url).netloc
        links = response.meta.pop(LINKS_KEY, None)
        if links is None:  # a page no parser worker read
            links = tree_links(response.selector.root, get_base_url(response), limit=sys.maxsize)
        for url in links or ():
            if self._in_scope(url, scope) and (self.follow is None or self.follow.search(url)):
                yield self.request(url, scope)

    def _in_scope(self, url: str, host: str) -> bool:
        """Whether ``url`` is an http(s) link of ``host`` (the start URL's host:port)."""
        if url.startswith((f"http://{host}/", f"https://{host}/")):
            return True
        parts = urlsplit(url)
        if parts.netloc != host:
            return False
        if parts.scheme not in FOLLOWED_SCHEMES:
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("scrapec/links_refused/scheme")
            return False
        return True
