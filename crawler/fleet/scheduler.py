"""The fleet's scheduler: scrapy-redis's, for requests any process of the fleet may download,
and a local queue for those that belong to this process.

scrapy-redis stores every request in Redis, serialised with its callback's *name* on the
spider; a request whose callback is a method of something else — the scrapec extension's
end-of-crawl flush (``data:,scrapec-flush``, callback ``ScrapecExtension.flush``) — cannot be
stored, and must not be: it is this process's own work. :class:`FleetScheduler` keeps such
requests in memory and hands them out first. It also counts ``scheduler/enqueued/redis`` and
``scheduler/dequeued/redis`` without the ``spider`` argument Scrapy 2.19 deprecates.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scrapy import Request
from scrapy_redis.scheduler import Scheduler

__all__ = ["FleetScheduler"]


class FleetScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's :class:`Scheduler` with a local queue for requests that cannot leave this
    process (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local: deque[Request] = deque()

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
        request: Request | None = self.queue.pop(self.idle_before_close)
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self) > 0
