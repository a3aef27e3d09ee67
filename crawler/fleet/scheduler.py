"""The fleet's scheduler: scrapy-redis's, for requests any process of the fleet may download,
and a local queue for those that belong to this process.

scrapy-redis stores every request in Redis, serialised with its callback's *name* on the
spider; a request whose callback is a method of something else — the scrapec extension's
end-of-crawl flush (``data:,scrapec-flush``, callback ``ScrapecExtension.flush``) — cannot be
stored, and must not be: it is this process's own work. :class:`FleetScheduler` keeps such
requests in memory and hands them out first. It also counts ``scheduler/enqueued/redis`` and
``scheduler/dequeued/redis`` without the ``spider`` argument Scrapy 2.19 deprecates.

scrapy-redis takes a request off the queue and forgets it: a process killed while it downloads
or parses one loses it. With scrapy-redis's priority queue (the default), a request taken off
the queue is also written, in the same Lua script, to this crawl's *in-flight* hash
``scrapec:inflight:<crawl>``, and removed from it when its response is received (the page is
then an item on its way to the feed, or held in Redis). The in-flight requests of a crawl whose
heartbeat (:mod:`crawler.fleet.pages`) has stopped are put back on the queue by the next
process that looks (every :data:`RECOVER_SECONDS`), again in one script, so each is taken back
once: at least once, and a page the dead crawl had already held may then be held twice.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from scrapy import Request, signals
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

__all__ = ["INFLIGHT_META", "RECOVER_SECONDS", "FleetScheduler"]

INFLIGHT_META = "scrapec_inflight"  # the id of a request in its crawl's in-flight hash
RECOVER_SECONDS = 2.0

# KEYS: queue, in-flight hash -> {id, request} or nil
_POP = """
local found = redis.call('ZRANGE', KEYS[1], 0, 0)
if #found == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local id = redis.sha1hex(found[1])
redis.call('HSET', KEYS[2], id, found[1])
return {id, found[1]}
"""
# KEYS: in-flight hash, its crawl's heartbeat, queue -> requests put back (0: the crawl lives)
_PUT_BACK = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local waiting = redis.call('HVALS', KEYS[1])
for _, data in ipairs(waiting) do redis.call('ZADD', KEYS[3], 0, data) end
redis.call('DEL', KEYS[1])
return #waiting
"""


class FleetScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's :class:`Scheduler` with a local queue for requests that cannot leave this
    process (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local: deque[Request] = deque()
        self.inflight: str | None = None  # this crawl's in-flight hash (priority queue only)
        self._recovered_at = 0.0
        self._pop = self.server.register_script(_POP)
        self._put_back = self.server.register_script(_PUT_BACK)

    def open(self, spider: Any) -> Any:
        result = super().open(spider)
        from crawler.crawl.glue import runtime_for
        from crawler.fleet import PREFIX
        from crawler.pages import page_key

        owner = runtime_for(spider.crawler).owner
        if owner and type(self.queue) is PriorityQueue:
            self.inflight = f"{PREFIX}:inflight:{page_key(owner)}"
            spider.crawler.signals.connect(self._settled, signal=signals.response_received)
            self._recover(own=True)  # a run of the same crawl that died (a JOBDIR job)
        return result

    def close(self, reason: str) -> Any:
        if self.inflight is not None:  # a clean end: every request taken is settled
            self.server.delete(self.inflight)
        return super().close(reason)

    def _settled(self, response: Any, request: Request, spider: Any) -> None:
        found = request.meta.get(INFLIGHT_META)
        if found and self.inflight is not None:
            self.server.hdel(self.inflight, found)

    def _recover(self, own: bool = False) -> int:
        """Put back on the queue the in-flight requests of dead crawls (``own``: this crawl's
        own, left by an earlier run of it); how many."""
        from crawler.fleet import PREFIX

        self._recovered_at = time.monotonic()
        put_back = 0
        keys = [self.inflight] if own else self.server.scan_iter(f"{PREFIX}:inflight:*")
        for raw in keys:
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key == self.inflight and not own:
                continue
            beat = f"{PREFIX}:owner:{key.rsplit(':', 1)[1]}" if not own else f"{PREFIX}:owner:-"
            put_back += int(self._put_back(keys=[key, beat, self.queue.key]))
        if put_back and self.stats:
            self.stats.inc_value("scheduler/recovered/redis", put_back)
        if put_back:
            self.spider.logger.info(
                f"fleet: {put_back} requests a dead crawl had taken put back on the queue"
            )
        return put_back

    def __len__(self) -> int:
        return len(self.local) + int(super().__len__())

    def _shareable(self, request: Request) -> bool:
        try:
            request.to_dict(spider=self.spider)
        except ValueError:  # a callback that is no method of the spider
            return False
        return True

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if not self._shareable(request):
            self.local.append(request)
            return True
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        if self.inflight is not None:
            if time.monotonic() - self._recovered_at >= RECOVER_SECONDS:
                self._recover()
            popped = self._pop(keys=[self.queue.key, self.inflight])
            if not popped:
                return None
            request: Request | None = self.queue._decode_request(popped[1])
            assert request is not None
            request.meta[INFLIGHT_META] = popped[0].decode()
            if self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            return request
        request = self.queue.pop(self.idle_before_close)
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self) > 0
