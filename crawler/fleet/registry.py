"""The registry of a fleet, in Redis: the same interface as the folder :class:`Registry`.

Keys (``T`` is a template id):

- ``scrapec:templates`` — the set of template ids;
- ``scrapec:t:T:info`` — the template's ``parser.json`` (JSON text), ``scrapec:t:T:rev`` its
  revision (incremented by every change), ``scrapec:rev`` the revision of the whole registry;
- ``scrapec:t:T:v:N`` — the source of version N, written once (``SETNX``) and never changed;
  ``scrapec:t:T:schema:FILE`` — a schema a version was compiled against;
- ``scrapec:t:T:lease:NAME`` — the live lease (``holder|token``, with an expiry) and
  ``scrapec:t:T:fence:NAME`` — the last token given (a counter).

Every change of ``info`` is a compare-and-swap in one Lua script: it applies only if the
template's revision is the one the change was computed from (else it is recomputed), and — for a
publish under a lease — only while that lease is still the live one (the fencing token), so a
holder that wakes after its lease expired and another took over cannot publish. A process caches
every ``info`` it read and every source it loaded (versions are immutable) and reads the one
counter ``scrapec:rev`` at most every :data:`RECHECK_SECONDS` (at once after :meth:`refresh`) to
notice a change made anywhere in the fleet.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import redis

from crawler.exceptions import RegistryError
from crawler.fleet import Fleet, text
from crawler.registry import Lease, Registry, TemplateInfo, rolled_back, with_version
from crawler.sandbox import check_source, source_hash
from crawler.schemas import Schema, SchemaError, load_schema, schema_from_document

__all__ = ["RECHECK_SECONDS", "RedisLease", "RedisRegistry"]

RECHECK_SECONDS = 0.5  # how long this process trusts its copy before it reads scrapec:rev again
MAX_SOURCE_BYTES = 4 * 2**20  # a parser: 4 MiB at most, as on disk

# KEYS: t:rev, t:info, t:v:N (or ""), t:lease:NAME (or ""), rev, templates
# ARGV: expected t:rev, the lease's value ("" without a lease), new info, source, template
# returns the new revision, or -1 (the lease is not the live one), -2 (the template changed
# since it was read: read again), -3 (version N exists: versions are immutable)
_CAS_INFO = """
local rev = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[2] then return -1 end
if rev ~= tonumber(ARGV[1]) then return -2 end
if KEYS[3] ~= '' and redis.call('SETNX', KEYS[3], ARGV[4]) == 0 then return -3 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('INCR', KEYS[5])
redis.call('SADD', KEYS[6], ARGV[5])
return redis.call('INCR', KEYS[1])
"""
# KEYS: t:lease:NAME, t:fence:NAME; ARGV: holder, ttl (ms) -> the new token, or 0 (held)
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
"""
# KEYS: t:lease:NAME; ARGV: the lease's value, ttl (ms) -> 1 renewed, 0 lost
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
# KEYS: t:lease:NAME; ARGV: the lease's value -> 1 released, 0 not ours (any more)
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


F = TypeVar("F", bound=Callable[..., Any])


def _reached(method: F) -> F:
    """Redis failing under ``method`` (down, a timeout) is a :class:`RegistryError` naming the
    fleet's URL, as a registry that cannot be read is."""

    @wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            registry = self if isinstance(self, RedisRegistry) else self.registry
            raise RegistryError(
                f"{registry.fleet.url}: the fleet's registry cannot be reached"
                f" ({method.__name__}): {exc}"
            ) from exc

    return call  # type: ignore[return-value]


class RedisLease(Lease):
    """A lease in Redis: the key expires ``ttl`` seconds after it was taken or renewed (a
    machine that dies frees the template then); its value is ``holder|token``, the token one
    more than the last one given for the template."""

    registry: RedisRegistry

    @property
    def value(self) -> str:
        return f"{self.holder}|{self.token}"

    @_reached
    def current(self) -> bool:
        raw = self.registry.redis.get(self.registry._lease_key(self.template, self.name))
        return raw is not None and text(raw) == self.value

    @_reached
    def renew(self) -> bool:
        reg = self.registry
        key = reg._lease_key(self.template, self.name)
        return bool(reg._renew(keys=[key], args=[self.value, _ms(self.ttl)]))

    @_reached
    def release(self) -> None:
        reg = self.registry
        reg._release(keys=[reg._lease_key(self.template, self.name)], args=[self.value])


class FleetTemplateInfo(TemplateInfo):
    """A template's ``parser.json`` read from Redis (``path`` names it, for messages)."""

    registry: RedisRegistry | None = None

    def load_schema(self) -> Schema | None:
        kept = self.data.get("schema_file")
        if isinstance(kept, str) and kept and self.registry is not None:
            raw = self.registry.redis.get(self.registry._schema_key(self.template, kept))
            if raw is not None:
                try:
                    document = json.loads(raw)
                except ValueError as exc:
                    raise SchemaError(
                        f"{self.path}: schema {kept}: not valid JSON: {exc}"
                    ) from None
                return schema_from_document(document, self.schema or "schema")
        return load_schema(self.schema) if self.schema else None


class RedisRegistry(Registry):
    """The parsers of every template, in the fleet's Redis (see the module).

    ``root`` is this machine's folder: the runtime keeps its history of good items there; no
    parser is read from it."""

    def __init__(self, root: str | Path, fleet: Fleet) -> None:
        super().__init__(root)
        self.fleet = fleet
        self.redis = fleet.redis
        self._rev: int | None = None  # scrapec:rev when this process last read it
        self._rev_read = 0.0  # monotonic time of that read
        self._fleet_infos: dict[str, TemplateInfo] = {}
        self._fleet_sources: dict[tuple[str, int], str] = {}  # immutable: kept for good
        self._fleet_templates: list[str] | None = None
        self._cas = self.redis.register_script(_CAS_INFO)
        self._take = self.redis.register_script(_TAKE)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)

    def __repr__(self) -> str:
        return f"RedisRegistry({self.fleet.url!r}, root={str(self.root)!r})"

    # -- keys ----------------------------------------------------------------------------------

    def _info_key(self, template: str) -> str:
        return self.fleet.template_key(template, "info")

    def _rev_key(self, template: str) -> str:
        return self.fleet.template_key(template, "rev")

    def _version_key(self, template: str, version: int) -> str:
        return self.fleet.template_key(template, "v", str(version))

    def _schema_key(self, template: str, name: str) -> str:
        return self.fleet.template_key(template, "schema", name)

    def _lease_key(self, template: str, name: str) -> str:
        return self.fleet.template_key(template, "lease", name)

    def _fence_key(self, template: str, name: str) -> str:
        return self.fleet.template_key(template, "fence", name)

    # -- reading ---------------------------------------------------------------------------------

    @_reached
    def _sync(self, fresh: bool = False) -> None:
        """Read ``scrapec:rev`` (at most every RECHECK_SECONDS unless ``fresh``) and forget the
        cached infos when anything in the fleet's registry changed."""
        now = time.monotonic()
        if not fresh and self._rev is not None and now - self._rev_read < RECHECK_SECONDS:
            return
        rev = int(self.redis.get(self.fleet.key("rev")) or 0)
        self._rev_read = now
        if rev != self._rev:
            self._rev = rev
            self._fleet_infos.clear()
            self._fleet_templates = None

    def refresh(self) -> None:
        super().refresh()
        self._rev = None

    @_reached
    def templates(self) -> list[str]:
        self._sync()
        if self._fleet_templates is None:
            members = self.redis.smembers(self.fleet.key("templates"))
            self._fleet_templates = sorted(text(m) for m in members)
        return list(self._fleet_templates)

    @_reached
    def info(self, template: str, fresh: bool = False) -> TemplateInfo:
        self._sync(fresh)
        cached = self._fleet_infos.get(template)
        if cached is not None and not fresh:
            return cached
        raw, rev = self.redis.mget([self._info_key(template), self._rev_key(template)])
        where = self._where(template)
        if raw is None:
            raise RegistryError(f"{where}: no such template in the fleet's registry")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise RegistryError(f"{where}: corrupt parser.json: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("versions", {}), dict):
            raise RegistryError(f"{where}: corrupt parser.json: expected an object with 'versions'")
        info = FleetTemplateInfo(template, where, data, (int(rev or 0), 0))
        info.registry = self
        self._fleet_infos[template] = info
        return info

    def _where(self, template: str) -> Path:
        """How messages name a template's parser.json in the fleet."""
        return Path(f"{self.fleet.url.rstrip('/')}#{template}") / "parser.json"

    @_reached
    def _read_version(
        self, template: str, info: TemplateInfo, version: int, check_hash: bool = True
    ) -> str:
        cached = self._fleet_sources.get((template, version))
        if cached is None:
            raw = self.redis.get(self._version_key(template, version))
            if raw is None:
                raise RegistryError(f"{info.path}: version {version} is not in the fleet's Redis")
            if len(raw) > MAX_SOURCE_BYTES:
                raise RegistryError(f"{info.path}: version {version} is over 4 MiB: refused")
            try:
                cached = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            except UnicodeDecodeError as exc:
                raise RegistryError(f"{info.path}: cannot read version {version}: {exc}") from None
            self._fleet_sources[(template, version)] = cached
        expected = info.version(version).get("source_hash")
        if check_hash and expected and source_hash(cached) != expected:
            raise RegistryError(
                f"{info.path}: version {version} does not match the hash in parser.json"
            )
        return cached

    # -- leases ----------------------------------------------------------------------------------

    @_reached
    def _take_lease(self, template: str, ttl: float, name: str) -> Lease | None:
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        keys = [self._lease_key(template, name), self._fence_key(template, name)]
        token = int(self._take(keys=keys, args=[holder, _ms(ttl)]))
        if token == 0:
            return None
        return RedisLease(self, template, name, holder, token, ttl)

    @_reached
    def lease_holder(self, template: str, name: str = "regenerate") -> dict[str, Any] | None:
        key = self._lease_key(template, name)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, left = pipe.execute()
        if raw is None or left is None or left < 0:
            return None
        holder, _, token = text(raw).rpartition("|")
        return {"holder": holder, "token": int(token), "left": round(left / 1000, 3)}

    # -- writing ---------------------------------------------------------------------------------

    @_reached
    def _swap(
        self,
        template: str,
        change: Callable[[dict[str, Any] | None], tuple[dict[str, Any], int]],
        source: str | None = None,
        fenced: bool = True,
    ) -> tuple[dict[str, Any], int]:
        """Compare-and-swap the template's info: ``change(data)`` gives the new info and the
        number of the new version (written with ``source``; 0 without one), computed from the
        info read (None for a new template); retried while another process changed the
        template meanwhile. Returns the new info and the version number."""
        fence = self._fences.get(template) if fenced else None
        for _ in range(100):
            raw, rev = self.redis.mget([self._info_key(template), self._rev_key(template)])
            current = json.loads(raw) if raw is not None else None
            data, number = change(current)
            keys = [
                self._rev_key(template),
                self._info_key(template),
                self._version_key(template, number) if source is not None else "",
                self._lease_key(template, fence.name) if fence is not None else "",
                self.fleet.key("rev"),
                self.fleet.key("templates"),
            ]
            value = fence.value if isinstance(fence, RedisLease) else ""
            text = json.dumps(data, sort_keys=True)
            result = int(
                self._cas(keys=keys, args=[int(rev or 0), value, text, source or "", template])
            )
            if result == -1:
                assert fence is not None
                raise RegistryError(
                    f"{template}: not published: this process's {fence.name} lease (token "
                    f"{fence.token}) expired and another process took the template over"
                )
            if result == -3:
                raise RegistryError(
                    f"{self._where(template)}: version {number} exists already: versions are"
                    " immutable (corrupt parser.json?)"
                )
            if result > 0:
                self._rev = None  # our own change is seen at once
                return data, number
        raise RegistryError(f"{template}: the fleet's registry changed 100 times during one write")

    @_reached
    def publish(
        self,
        template: str,
        source: str,
        *,
        schema: str,
        generator: str,
        reason: str,
        schema_hash: str = "",
        schema_document: dict[str, Any] | None = None,
        layout: frozenset[str] | None = None,
        url_pattern: str | None = None,
        fixtures_passed: list[str] | None = None,
        llm: dict[str, Any] | None = None,
        render: bool | None = None,
        fields: dict[str, dict[str, Any]] | None = None,
        missing: dict[str, str] | None = None,
        fixtures_unreviewed: list[str] | None = None,
    ) -> int:
        from crawler.registry import check_template_id

        check_template_id(template)
        check_source(source, f"{template}/(new version)")  # the policy; the gate ran it in a worker
        if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
            raise RegistryError(f"{template}: a parser over 4 MiB is not published")
        schema_file = None
        if schema_document is not None:
            text = json.dumps(schema_document, indent=2, sort_keys=True) + "\n"
            digest = schema_hash or hashlib.sha256(text.encode()).hexdigest()[:16]
            schema_file = f"schema-{digest}.json"
            self.redis.setnx(self._schema_key(template, schema_file), text)

        def change(data: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
            if data is None:
                data = {"template": template, "site": template.split("/")[0], "versions": {}}
            number = max([0, *(int(v) for v in data.get("versions", {}))]) + 1
            new = with_version(
                data,
                number,
                source,
                schema=schema,
                generator=generator,
                reason=reason,
                schema_hash=schema_hash,
                schema_file=schema_file,
                layout=layout,
                url_pattern=url_pattern,
                fixtures_passed=fixtures_passed,
                llm=llm,
                render=render,
                fields=fields,
                missing=missing,
                fixtures_unreviewed=fixtures_unreviewed,
            )
            return new, number

        return self._swap(template, change, source)[1]

    def update(self, template: str, **fields: Any) -> None:
        def change(data: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
            if data is None:
                raise RegistryError(f"{self._where(template)}: no such template in the fleet")
            return {**data, **fields}, 0

        self._swap(template, change, fenced=False)

    def rollback(self, template: str, version: int | None = None) -> int:
        chosen: dict[str, int] = {}

        def change(data: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
            where = self._where(template)
            if data is None:
                raise RegistryError(f"{where}: no such template in the fleet")
            numbers = sorted(int(v) for v in data.get("versions", {}))
            current = data.get("active")
            target = version
            if target is None:
                earlier = [n for n in numbers if isinstance(current, int) and n < current]
                if not earlier:
                    raise RegistryError(f"{where}: no version before v{current} to roll back to")
                target = earlier[-1]
            if target not in numbers:
                raise RegistryError(f"{where}: no version {target} (have {numbers})")
            chosen["v"] = target
            return rolled_back(data, target), 0

        self._swap(template, change, fenced=False)
        return chosen["v"]


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
