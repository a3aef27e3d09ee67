"""Held, released and quarantined pages of a fleet, in Redis: a :class:`PageStore` that any
machine can read, so the pages a machine held survive its death.

Keys (``K`` a kind: held, released or quarantine; ``T`` a template):
``scrapec:pages:K:T`` — a hash, page key -> metadata (JSON: url, template, reason, time, owner);
``scrapec:html:K:T`` — a hash, page key -> the page; ``scrapec:kinds:K`` — templates with pages
of kind K; ``scrapec:owner:O`` — the heartbeat of the crawl ``O`` (a key that expires
``heartbeat`` seconds after its last renewal; a thread renews it every third of that).

A page's HTML and metadata are written in one transaction (never one without the other). Held
and released pages belong to their crawl, as in the folder store; those of a crawl whose
heartbeat has expired are *adopted*: by :meth:`RedisPageStore.adopt` (at the start of a crawl)
and, for one template, whenever a live crawl lists its held pages of that template (so the
crawl that takes a regeneration over after a machine died also releases that machine's pages).
Adopting one page is one Lua script: it moves the page only if its owner is still the dead one
and still silent, so two crawls never adopt the same page.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput
from crawler.fleet import Fleet, text
from crawler.history import StorageError
from crawler.pages import HELD, OWNED, RELEASED, HeldPage, PageStore, page_key

__all__ = ["RedisHeldPage", "RedisPageStore"]

EMPTY_SECONDS = 1.0

# KEYS: old meta hash, old html hash, new meta hash, new html hash, owner heartbeat, kinds:held
# ARGV: old key, dead owner, new key, new meta, template -> 1 adopted, 0 not (gone or alive)
_ADOPT = """
local meta = redis.call('HGET', KEYS[1], ARGV[1])
if not meta then return 0 end
local ok, decoded = pcall(cjson.decode, meta)
if not ok then return 0 end
local owner = decoded['owner']
if type(owner) ~= 'string' then owner = '' end
if owner ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
local html = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HSET', KEYS[4], ARGV[3], html)
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[6], ARGV[5])
if KEYS[1] ~= KEYS[3] or ARGV[1] ~= ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"""
# KEYS: heartbeat; ARGV: our value, ttl ms -> 1 renewed, 0 (gone: set again by the caller)
_BEAT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
_LET_GO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class RedisHeldPage(HeldPage):
    """A kept page of the fleet: its HTML is read from Redis when asked for."""

    store: RedisPageStore | None = field(default=None, compare=False, repr=False)
    key: str = ""

    def html(self) -> str:
        assert self.store is not None
        return self.store._html(self)


class RedisPageStore(PageStore):
    """A :class:`PageStore` in the fleet's Redis (see the module). ``root`` only names pages in
    messages and fixtures; nothing is written there."""

    def __init__(self, fleet: Fleet, owner: str | None = None, root: str | Path = ".") -> None:
        super().__init__(root, owner)
        self.fleet = fleet
        self.redis = fleet.redis
        self._adopt_one = self.redis.register_script(_ADOPT)
        self._beat = self.redis.register_script(_BEAT)
        self._let_go = self.redis.register_script(_LET_GO)
        self._beating: threading.Event | None = None
        self._beat_value = ""
        # (kind, template) -> when its hash was seen empty: has() and remove() of a page there
        # need no round trip (the common case: nothing held). Exact for this crawl's own held
        # and released pages (only it writes them while it lives, and it forgets the mark when
        # it does); trusted for EMPTY_SECONDS for quarantine, which every crawl writes.
        self._empty: dict[tuple[str, str], float] = {}

    def __repr__(self) -> str:
        return f"RedisPageStore({self.fleet.url!r}, owner={self.owner!r})"

    def _meta_key(self, kind: str, template: str) -> str:
        return self.fleet.key("pages", kind, self._utf8(template))

    def _html_key(self, kind: str, template: str) -> str:
        return self.fleet.key("html", kind, self._utf8(template))

    def _owner_key(self, owner: str) -> str:
        return self.fleet.key("owner", page_key(owner))

    def _failed(self, exc: Exception, kind: str, template: str) -> StorageError:
        return StorageError(Path(self._meta_key(kind, template)), f"{self.fleet.url}: {exc}")

    # -- pages ---------------------------------------------------------------------------------

    def _known_empty(self, kind: str, template: str) -> bool:
        """Whether the pages of ``kind`` of ``template`` this store can see are known to be
        none (one HLEN at most every EMPTY_SECONDS, else)."""
        where = (kind, self._utf8(template))
        seen = self._empty.get(where)
        now = time.monotonic()
        exact = kind in OWNED and self.owner is not None
        if seen is not None and (exact or now - seen < EMPTY_SECONDS):
            return True
        if self.redis.hlen(self._meta_key(kind, template)):
            self._empty.pop(where, None)
            return False
        self._empty[where] = now
        return True

    def _written(self, kind: str, template: str) -> None:
        self._empty.pop((kind, self._utf8(template)), None)

    def put(self, kind: str, template: str, url: str, html: str, reason: str) -> Path:
        import redis

        url, template, reason = self._utf8(url), self._utf8(template), self._utf8(reason)
        key = self._name(kind, url)
        meta: dict[str, Any] = {"url": url, "template": template, "reason": reason}
        meta["time"] = time.time()
        if self.owner and kind in OWNED:
            meta["owner"] = self.owner
        self._written(kind, template)
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._html_key(kind, template), key, self._utf8(html))
                pipe.hset(self._meta_key(kind, template), key, json.dumps(meta, ensure_ascii=False))
                pipe.sadd(self.fleet.key("kinds", kind), template)
                pipe.execute()
        except redis.RedisError as exc:
            raise self._failed(exc, kind, template) from exc
        return self._folder(kind, template) / f"{key}.json"

    def move(self, page: HeldPage, kind: str, reason: str | None = None) -> None:
        """Keep ``page`` as this store's page of ``kind`` and remove it where it was, in one
        transaction."""
        import redis

        reason = page.reason if reason is None else reason
        template, url = self._utf8(page.template), self._utf8(page.url)
        key = self._name(kind, url)
        old = self._name(page.kind, url, page.owner or "")
        meta: dict[str, Any] = {"url": url, "template": template, "reason": self._utf8(reason)}
        meta["time"] = time.time()
        if self.owner and kind in OWNED:
            meta["owner"] = self.owner
        html = page.html()
        self._written(kind, template)
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                if (page.kind, old) != (kind, key):
                    pipe.hdel(self._meta_key(page.kind, template), old)
                    pipe.hdel(self._html_key(page.kind, template), old)
                pipe.hset(self._html_key(kind, template), key, self._utf8(html))
                pipe.hset(self._meta_key(kind, template), key, json.dumps(meta, ensure_ascii=False))
                pipe.sadd(self.fleet.key("kinds", kind), template)
                pipe.execute()
        except redis.RedisError as exc:
            raise self._failed(exc, kind, template) from exc

    def has(self, kind: str, template: str, url: str) -> bool:
        import redis

        try:
            if self._known_empty(kind, template):
                return False
            key = self._name(kind, self._utf8(url))
            return bool(self.redis.hexists(self._meta_key(kind, template), key))
        except redis.RedisError as exc:
            raise self._failed(exc, kind, template) from exc

    def remove(self, kind: str, template: str, url: str, owner: str | None = None) -> None:
        import redis

        try:
            if (owner is None or owner == self.owner) and self._known_empty(kind, template):
                return
            key = self._name(kind, self._utf8(url), owner)
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._meta_key(kind, template), key)
                pipe.hdel(self._html_key(kind, template), key)
                pipe.execute()
        except redis.RedisError as exc:
            raise self._failed(exc, kind, template) from exc

    def _html(self, page: RedisHeldPage) -> str:
        raw = self.redis.hget(self._html_key(page.kind, page.template), page.key)
        if raw is None:
            raise StorageError(
                Path(self._html_key(page.kind, page.template)),
                f"{page.url}: the page is no longer kept (released or adopted meanwhile)",
            )
        return text(raw)

    def pages(
        self, kind: str, template: str | None = None, everyone: bool = False
    ) -> list[HeldPage]:
        """Pages of a kind, oldest first; held and released pages of this store's owner only,
        unless ``everyone``. Listing its held pages of one template, a crawl first adopts
        the held pages of that template whose crawl is dead."""
        if template is None:
            templates = sorted(text(m) for m in self.redis.smembers(self.fleet.key("kinds", kind)))
        else:
            templates = [template]
        out: list[HeldPage] = []
        for name in templates:
            found = self._listed(kind, name)
            if kind == HELD and template is not None and self.owner and not everyone:
                if self._adopt_dead(found):
                    found = self._listed(kind, name)
            for page in found:
                if self.owner and kind in OWNED and not everyone and page.owner != self.owner:
                    continue
                out.append(page)
        return sorted(out, key=lambda p: p.time)

    def _listed(self, kind: str, template: str) -> list[RedisHeldPage]:
        import redis

        try:
            found = self.redis.hgetall(self._meta_key(kind, template))
        except redis.RedisError as exc:
            raise self._failed(exc, kind, template) from exc
        out = []
        for raw_key, raw in found.items():
            try:
                meta = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(meta, dict) or not {"url", "template"} <= set(meta):
                continue
            key = text(raw_key)
            owner = meta.get("owner")
            out.append(
                RedisHeldPage(
                    str(meta["url"]),
                    str(meta["template"]),
                    str(meta.get("reason", "")),
                    self._folder(kind, str(meta["template"])) / f"{key}.html",
                    kind,
                    float(meta.get("time", 0) or 0),
                    str(owner) if owner is not None else None,
                    store=self,
                    key=key,
                )
            )
        return out

    def html(self, page: HeldPage) -> str:
        return page.html()

    def templates(self, kind: str) -> list[str]:
        """Templates of which this store has pages of ``kind`` (held: after adopting those of
        dead crawls, so the end-of-crawl flush releases them too)."""
        found = sorted(text(m) for m in self.redis.smembers(self.fleet.key("kinds", kind)))
        return [t for t in found if self.pages(kind, t)]

    # -- owners --------------------------------------------------------------------------------

    def claim(self) -> None:
        """Start this crawl's heartbeat (a key renewed by a thread): other crawls see it alive.

        Raises :class:`BadInput` when another live crawl of the same owner beats."""
        assert self.owner, "only a store with an owner claims it"
        if self._beating is not None:
            return
        key = self._owner_key(self.owner)
        value = f"{socket.gethostname()}:{time.time():.6f}"
        ttl = _ms(self.fleet.heartbeat)
        if not self.redis.set(key, value, nx=True, px=ttl):
            raise BadInput(
                f"{self.owner}: another crawl of this job is running in the fleet"
                f" (heartbeat {key} at {self.fleet.url} is live)"
            )
        self._beat_value = value
        stop = threading.Event()
        self._beating = stop
        threading.Thread(
            target=self._heartbeat,
            args=(key, value, ttl, stop),
            name="scrapec-heartbeat",
            daemon=True,
        ).start()

    def _heartbeat(self, key: str, value: str, ttl: int, stop: threading.Event) -> None:
        import redis

        while not stop.wait(self.fleet.heartbeat / 3):
            try:
                if not self._beat(keys=[key], args=[value, ttl]):
                    # the key expired (this process stalled longer than the heartbeat): say we
                    # live again; pages adopted meanwhile are another crawl's now
                    self.redis.set(key, value, px=ttl)
            except redis.RedisError:
                continue  # the next beat tries again; a long outage lets the others adopt

    def close(self) -> None:
        """Stop the heartbeat and remove it: this crawl's pages may be adopted now. The
        fleet's counters of this process are written first."""
        self.fleet.flush()
        if self._beating is not None:
            self._beating.set()
            self._beating = None
            assert self.owner
            self._let_go(keys=[self._owner_key(self.owner)], args=[self._beat_value])

    def alive(self, owner: str | None) -> bool:
        if not owner:
            return False
        if owner == self.owner:
            return True
        return bool(self.redis.exists(self._owner_key(owner)))

    def _adopt_dead(self, pages: list[RedisHeldPage]) -> int:
        """Adopt, as this store's held pages, those of ``pages`` whose owner is dead."""
        foreign = sorted({p.owner for p in pages if p.owner and p.owner != self.owner})
        if not foreign and not any(p.owner is None for p in pages):
            return 0
        with self.redis.pipeline(transaction=False) as pipe:
            for owner in foreign:
                pipe.exists(self._owner_key(owner))
            live = {o for o, found in zip(foreign, pipe.execute(), strict=True) if found}
        adopted = 0
        for page in pages:
            if page.owner == self.owner or page.owner in live:
                continue
            adopted += self._adopt(page)
        return adopted

    def _adopt(self, page: RedisHeldPage) -> int:
        template, url = self._utf8(page.template), self._utf8(page.url)
        reason = page.reason if page.kind == HELD else "adopted after a crash"
        meta = {"url": url, "template": template, "reason": reason, "time": page.time}
        meta["owner"] = self.owner
        keys = [
            self._meta_key(page.kind, template),
            self._html_key(page.kind, template),
            self._meta_key(HELD, template),
            self._html_key(HELD, template),
            self._owner_key(page.owner or ""),
            self.fleet.key("kinds", HELD),
        ]
        dead = page.owner
        if dead is None:  # a page written without an owner: adopt it only if it still has none
            keys[4] = self.fleet.key("owner", "-")
        args = [page.key, dead or "", self._name(HELD, url), json.dumps(meta), template]
        self._written(HELD, template)
        return int(self._adopt_one(keys=keys, args=args))

    def adopt(self) -> int:
        """Held and released pages of crawls that are dead become this store's held pages."""
        adopted = 0
        for kind in OWNED:
            for name in sorted(text(m) for m in self.redis.smembers(self.fleet.key("kinds", kind))):
                found = self._listed(kind, name)
                adopted += self._adopt_dead(found)
        return adopted

    def recover(self) -> int:
        """Released pages of this crawl whose items were never confirmed are held again."""
        released = self.pages(RELEASED)
        for page in released:
            self.move(page, HELD, "recovered after a restart")
        return len(released)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
