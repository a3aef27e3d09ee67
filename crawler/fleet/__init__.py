"""A fleet: many crawl processes, on many machines, sharing one Redis (issue 12).

With ``SCRAPEC_REDIS_URL`` set (``redis://HOST:PORT/DB``), every crawl process uses:

- the scrapy-redis scheduler and dupefilter (the add-on, :mod:`crawler.crawl.addon`): one request
  queue, every URL crawled once by the whole fleet; start URLs are pushed to
  ``fleet:start_urls`` (``python -m crawler.fleet start URL…``, the spider ``fleet``);
- the Redis registry (:class:`~crawler.fleet.registry.RedisRegistry`): immutable versions, the
  active pointer changed by compare-and-swap (a Lua script), a fenced regeneration lease with
  expiry (single flight across machines); each process caches what it loaded and notices a new
  version by one revision counter;
- the Redis page store (:class:`~crawler.fleet.pages.RedisPageStore`): held, released and
  quarantined pages survive the death of the machine that held them; a crawl proves it is alive
  by a heartbeat key, and the held pages of a crawl that stopped beating are adopted;
- fleet counters (:mod:`crawler.fleet.counters`): the run figures and the drift events of
  every template summed over the fleet, in Redis hashes.

Without ``SCRAPEC_REDIS_URL`` nothing here is imported by a crawl and nothing changes: the
folder registry, the folder page store and this process's own counters. ``redis`` is imported
only when a fleet is used.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.exceptions import BadInput, RegistryError

if TYPE_CHECKING:
    import redis

    from crawler.drift import DriftMonitor
    from crawler.pages import PageStore
    from crawler.registry import Registry

__all__ = ["Fleet", "open_monitor", "open_registry", "open_stats", "open_store"]

PREFIX = (
    "scrapec"  # every key of scrapec in the fleet's Redis starts with this (scrapy-redis: fleet:)
)
URL_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis_url(url: str, setting: str = "SCRAPEC_REDIS_URL") -> str:
    """``url`` if it is a Redis URL, else :class:`BadInput` naming the setting and the value."""
    if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
        raise BadInput(
            f"{setting}={url!r}: not a Redis URL (redis://HOST:PORT/DB, rediss://… or unix://…)"
        )
    return url


class Fleet:
    """One connection to the fleet's Redis and the names of scrapec's keys in it.

    ``heartbeat``: seconds after which a crawl that stopped renewing its heartbeat key counts as
    dead (its held pages are adopted by the others)."""

    def __init__(self, url: str, heartbeat: float = 30.0, prefix: str = PREFIX) -> None:
        import redis

        self.url = check_redis_url(url)
        self.prefix = prefix
        self.heartbeat = heartbeat
        self.flushers: list[Callable[[], None]] = []  # batched counters (crawler.fleet.counters)
        try:
            self.redis: redis.Redis = redis.Redis.from_url(
                url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30
            )
            self.redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise RegistryError(f"{url}: cannot reach the fleet's Redis: {exc}") from None

    def __repr__(self) -> str:
        return f"Fleet({self.url!r})"

    def flush(self) -> None:
        """Write what the batched counters of this process still hold."""
        for flush in self.flushers:
            flush()

    def key(self, *parts: str) -> str:
        """``scrapec:PART:PART…``."""
        return ":".join((self.prefix, *parts))

    def template_key(self, template: str, *parts: str) -> str:
        """``scrapec:t:SITE/NAME:PART…`` (a template id holds no ``:`` after its site's port)."""
        return self.key("t", template, *parts)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Fleet | None:
        """The fleet ``SCRAPEC_REDIS_URL`` names (heartbeat ``SCRAPEC_FLEET_HEARTBEAT``), or None."""
        url, heartbeat = fleet_settings(environ)
        return cls(url, heartbeat) if url else None


def fleet_settings(environ: Mapping[str, str] = os.environ) -> tuple[str | None, float]:
    """``SCRAPEC_REDIS_URL`` (checked) and ``SCRAPEC_FLEET_HEARTBEAT`` from the environment —
    those two only, so a fleet is chosen the same way wherever a runtime is made."""
    from crawler.settings import Settings

    names = ("SCRAPEC_REDIS_URL", "SCRAPEC_FLEET_HEARTBEAT")
    settings = Settings.from_env({k: environ[k] for k in names if k in environ})
    url = check_redis_url(settings.redis_url) if settings.redis_url else None
    return url, settings.fleet_heartbeat


def text(value: bytes | str) -> str:
    """A Redis reply as text (UTF-8)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def open_registry(root: str | Path, fleet: Fleet | None = None) -> Registry:
    """The registry a runtime uses: the fleet's Redis registry when ``fleet`` is given or
    ``SCRAPEC_REDIS_URL`` is set (``root`` then keeps this machine's history), else the folder."""
    from crawler.registry import Registry

    fleet = fleet if fleet is not None else Fleet.from_env()
    if fleet is None:
        return Registry(root)
    from crawler.fleet.registry import RedisRegistry

    return RedisRegistry(root, fleet)


def fleet_of(registry: Any) -> Fleet | None:
    """The fleet a registry belongs to (None for the folder registry)."""
    found = getattr(registry, "fleet", None)
    return found if isinstance(found, Fleet) else None


def open_store(registry: Registry, root: str | Path, owner: str | None) -> PageStore:
    """The page store that goes with ``registry``: in Redis for a fleet, else in ``root``."""
    from crawler.pages import PageStore

    fleet = fleet_of(registry)
    if fleet is None:
        return PageStore(root, owner)
    from crawler.fleet.pages import RedisPageStore

    return RedisPageStore(fleet, owner, root)


def open_monitor(registry: Registry, **options: Any) -> DriftMonitor:
    """The drift monitor that goes with ``registry``: a fleet's counts its events per template
    in Redis too (``scrapec:drift:<template>``)."""
    from crawler.drift import DriftMonitor

    fleet = fleet_of(registry)
    if fleet is None:
        return DriftMonitor(**options)
    from crawler.fleet.counters import FleetDriftMonitor

    return FleetDriftMonitor(fleet, **options)


def open_stats(registry: Registry) -> Counter[str]:
    """The run counters that go with ``registry``: a fleet's are summed in Redis as well
    (``scrapec:stats``)."""
    fleet = fleet_of(registry)
    if fleet is None:
        return Counter()
    from crawler.fleet.counters import FleetCounter

    return FleetCounter(fleet)
