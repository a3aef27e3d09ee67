"""The parser registry: ``<root>/<site>/<template>/v<N>.py`` beside a ``parser.json``.

``parser.json`` holds the template's schema, URL pattern, reference layout and render mode, the
active version, and for every version: generator, created time, schema hash, source hash, the
layout fingerprint it was made for, the fixtures it passed, LLM calls/tokens/cost, and why it was
made. Publishing is atomic (temp file, fsync, rename, fsync of the folder) and serialised by a
file lock, so two processes never interleave and a crash leaves the previous version active.
Old versions stay on disk for :meth:`Registry.rollback`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput, RegistryError, RoutingError
from crawler.routing import Route, fingerprint, similarity, site_of, url_key
from crawler.sandbox import LoadedParser, check_source, load_parser, source_hash
from crawler.schemas import Schema, load_schema
from crawler.settings import LAYOUT_THRESHOLD  # minimum similarity for routing by layout

__all__ = [
    "Registry",
    "TemplateInfo",
    "atomic_write",
    "check_template_id",
    "rolled_back",
    "with_version",
]

_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,120}/[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
RECHECK_SECONDS = 1.0  # how long a read of the disk is trusted before it is checked again


def check_template_id(template: str) -> str:
    """Return ``template`` if it is a valid ``SITE/NAME`` id, else raise :class:`BadInput`.

    Each part is one folder name (no ``/``, no ``..``, no leading ``.``, no control character:
    ``fullmatch``, as ``$`` would let a final newline through)."""
    if not isinstance(template, str) or not _TEMPLATE_ID.fullmatch(template) or ".." in template:
        raise BadInput(
            f"bad template id {template!r}: expected SITE/NAME, e.g. 'books.example.com/product'"
        )
    return template


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename, fsync dir.

    A failure (a full disk: ENOSPC; a file size limit: EFBIG) raises an :class:`OSError` of the
    same kind whose ``filename`` is ``path``, and leaves the old content of ``path`` as it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def with_version(
    data: dict[str, Any],
    number: int,
    source: str,
    *,
    schema: str,
    generator: str,
    reason: str,
    schema_hash: str,
    schema_file: str | None,
    layout: frozenset[str] | None,
    url_pattern: str | None,
    fixtures_passed: list[str] | None,
    llm: dict[str, Any] | None,
    render: bool | None,
    fields: dict[str, dict[str, Any]] | None,
    missing: dict[str, str] | None,
    fixtures_unreviewed: list[str] | None = None,
) -> dict[str, Any]:
    """A template's ``parser.json`` ``data`` with version ``number`` (of ``source``) added and
    made active: what :meth:`Registry.publish` writes, whichever backend keeps it."""
    versions = dict(data.get("versions", {}))
    versions[str(number)] = {
        "file": f"v{number}.py",
        "generator": generator,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "schema": schema,
        "schema_hash": schema_hash,
        "schema_file": schema_file,
        "source_hash": source_hash(source),
        "layout": sorted(layout) if layout is not None else None,
        "fixtures_passed": list(fixtures_passed or []),
        # those of the cases passed that no person has checked (crawler.fixtures: review)
        "fixtures_unreviewed": list(fixtures_unreviewed or []),
        "llm": llm or {"calls": 0, "tokens": 0, "cost": 0.0},
        "reason": reason,
        "fields": fields or {},
        "missing_fields": missing or {},
        # who published it: a run counts the regenerations it made, not another process's
        "publisher": publisher(),
    }
    data = {**data, "versions": versions, "schema": schema, "schema_file": schema_file}
    data["active"] = number
    if layout is not None:
        data["reference_layout"] = sorted(layout)
    if url_pattern is not None:
        data["url_pattern"] = url_pattern
    if render is not None:
        data["render"] = render
    return data


def publisher() -> str:
    """``host:pid`` of this process (a version's ``publisher``)."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def rolled_back(data: dict[str, Any], version: int) -> dict[str, Any]:
    """A template's ``parser.json`` ``data`` with ``version`` (one it has) active again, with
    the schema and reference layout that version was made for."""
    data = dict(data)
    data["active"] = version
    chosen = dict(data.get("versions", {}).get(str(version), {}))
    if chosen.get("schema"):
        data["schema"] = chosen["schema"]
    data["schema_file"] = chosen.get("schema_file")
    data["reference_layout"] = chosen.get("layout") or data.get("reference_layout", [])
    return data


@dataclass
class TemplateInfo:
    """The parsed ``parser.json`` of one template."""

    template: str
    path: Path
    data: dict[str, Any]
    stamp: tuple[int, int] = (0, 0)

    @property
    def active(self) -> int | None:
        value = self.data.get("active")
        return value if isinstance(value, int) else None

    @property
    def schema(self) -> str:
        return str(self.data.get("schema", ""))

    def load_schema(self) -> Schema | None:
        """The schema the active version was compiled against: the copy kept in the template's
        folder (``schema_file``, so a schema given by path stays with the template), else the
        shipped schema of that name; None when the template names none."""
        kept = self.data.get("schema_file")
        if isinstance(kept, str) and kept:
            path = self.path.parent / Path(kept).name
            if path.is_file():
                return load_schema(path, self.schema or None)
        return load_schema(self.schema) if self.schema else None

    @property
    def reference(self) -> frozenset[str]:
        return frozenset(self.data.get("reference_layout", []))

    @property
    def url_pattern(self) -> str | None:
        value = self.data.get("url_pattern")
        return value if isinstance(value, str) else None

    def version(self, number: int) -> dict[str, Any]:
        return dict(self.data.get("versions", {}).get(str(number), {}))

    @property
    def missing_fields(self) -> dict[str, str]:
        """Fields the active version leaves out (no rule fitted them), with the reason."""
        found = self.version(self.active or 0).get("missing_fields") or {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _lease_live(data: dict[str, Any]) -> bool:
    """Whether a lease holds: not released, not expired, its holder not a dead local process."""
    import socket

    if data.get("released"):
        return False
    try:
        if float(data.get("expires", 0)) <= time.time():
            return False
    except (TypeError, ValueError):
        return False
    host, _, rest = str(data.get("holder", "")).partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False  # the holder died: its lease is free at once
        except PermissionError:
            pass
    return True


@dataclass
class Lease:
    """Single-flight work on a template across processes (:meth:`Registry.lease`)."""

    registry: Registry
    template: str
    name: str
    holder: str
    token: int
    ttl: float

    def current(self) -> bool:
        """Whether this is still the template's live lease (not expired, not taken over)."""
        reg = self.registry
        with reg.lock(self.template, self.name):
            return self._mine(reg._read_lease(self.template, self.name))

    def _mine(self, data: dict[str, Any] | None) -> bool:
        """Whether the lease file's ``data`` is this lease, live."""
        return (
            data is not None
            and data.get("holder") == self.holder
            and data.get("token") == self.token
            and _lease_live(data)
        )

    def renew(self) -> bool:
        """Another ``ttl`` seconds from now; False (and nothing written) if the lease was lost."""
        reg = self.registry
        with reg.lock(self.template, self.name):
            data = reg._read_lease(self.template, self.name)
            if data is None or not self._mine(data):
                return False
            reg._write_lease(self.template, self.name, {**data, "expires": time.time() + self.ttl})
        return True

    def release(self) -> None:
        """Let go (the token stays in the file, so the next holder's is higher)."""
        reg = self.registry
        with reg.lock(self.template, self.name):
            data = reg._read_lease(self.template, self.name)
            if data is not None and data.get("holder") == self.holder:
                reg._write_lease(self.template, self.name, {**data, "released": True})


class Registry:
    """Parsers of every template, on disk under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._loaded: dict[str, tuple[tuple[int, int, int], LoadedParser]] = {}
        self._sources: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._infos: dict[str, tuple[tuple[int, int], TemplateInfo]] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._listed: tuple[float, list[str]] | None = None
        self._checked: dict[str, float] = {}
        self._fences: dict[str, Lease] = {}  # leases this object holds: publish checks them

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------------

    def folder(self, template: str) -> Path:
        """The folder of a template, refused (:class:`RegistryError`) when it would leave the
        registry: a site or template folder that is a symlink pointing outside, or an entry of
        the folder that is not a regular file or folder (a FIFO would hang a read, a device
        never end) or is a symlink pointing outside the registry."""
        folder = self.root / check_template_id(template)
        root = self.root.resolve()
        resolved = folder.resolve()
        if not resolved.is_relative_to(root):
            raise RegistryError(
                f"{folder}: template folder resolves to {str(resolved)!r}, outside the registry"
                f" {str(root)!r}: refused"
            )
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return folder
        except OSError as exc:
            raise RegistryError(f"{folder}: cannot list: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if not target.is_relative_to(root):
                    raise RegistryError(
                        f"{entry.path}: symlink to {str(target)!r}, outside the registry: refused"
                    )
            if not (entry.is_file() or entry.is_dir()) and os.path.exists(entry.path):
                raise RegistryError(f"{entry.path}: not a regular file: refused")
        return folder

    def templates(self) -> list[str]:
        """Ids of every template that has a ``parser.json`` (the folder is listed again at most
        once a second; a publish in this process is seen at once)."""
        now = time.monotonic()
        if self._listed is not None and now - self._listed[0] < RECHECK_SECONDS:
            return list(self._listed[1])
        found: list[str] = []
        if self.root.is_dir():
            found = sorted(
                f"{p.parent.parent.name}/{p.parent.name}" for p in self.root.glob("*/*/parser.json")
            )
        self._listed = (now, found)
        return list(found)

    def refresh(self) -> None:
        """Forget what was read from disk (after waiting on another process)."""
        self._checked.clear()
        self._listed = None

    def info(self, template: str, fresh: bool = False) -> TemplateInfo:
        """The ``parser.json`` of a template (cached until the file changes; a stat at most once a
        second unless ``fresh``)."""
        cached = self._infos.get(template)
        now = time.monotonic()
        if not fresh and cached and now - self._checked.get(template, 0.0) < RECHECK_SECONDS:
            return cached[1]
        path = self.folder(template) / "parser.json"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise RegistryError(
                f"{path}: no such template in registry {str(self.root)!r}"
            ) from None
        stamp = (st.st_mtime_ns, st.st_size)
        self._checked[template] = now
        if cached and cached[0] == stamp:
            return cached[1]
        from crawler.fixtures import MAX_JSON_BYTES, read_input_file

        try:  # 16 MiB at most; a FIFO or a device is refused, not waited on
            data = json.loads(read_input_file(path, MAX_JSON_BYTES, RegistryError))
        except ValueError as exc:
            raise RegistryError(f"{path}: corrupt parser.json: {exc}") from None
        except OSError as exc:
            raise RegistryError(f"{path}: cannot read: {exc.strerror}") from None
        if not isinstance(data, dict) or not isinstance(data.get("versions", {}), dict):
            raise RegistryError(f"{path}: corrupt parser.json: expected an object with 'versions'")
        info = TemplateInfo(template, path, data, stamp)
        self._infos[template] = (stamp, info)
        return info

    def active_source(self, template: str) -> tuple[int, str]:
        """The active version of a template and its source (checked against its hash), for a
        worker to load: nothing of the parser runs in this process."""
        info = self.info(template)
        version = info.active
        if version is None:
            raise RegistryError(f"{info.path}: template {template!r} has no active version")
        key = (*info.stamp, version)
        cached = self._sources.get(template)
        if cached and cached[0] == key:
            return version, cached[1]
        source = self._read_version(template, info, version)
        self._sources[template] = (key, source)
        return version, source

    def _version_file(self, template: str, info: TemplateInfo, version: int) -> Path:
        """The file of a version, which parser.json may only name inside the template folder."""
        name = str(info.version(version).get("file", f"v{version}.py"))
        if Path(name).name != name or name in ("", ".", "..") or "\0" in name:
            raise RegistryError(
                f"{info.path}: corrupt parser.json: version {version} names the file {name!r},"
                " not one of the template folder: refused"
            )
        return self.folder(template) / name

    def _read_version(
        self, template: str, info: TemplateInfo, version: int, check_hash: bool = True
    ) -> str:
        """A version's source, read bounded; with ``check_hash``, it must match parser.json."""
        from crawler.fixtures import read_input_file

        file = self._version_file(template, info, version)
        raw = read_input_file(file, 4 * 2**20, RegistryError)  # a parser: 4 MiB at most
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegistryError(f"{file}: cannot read parser: {exc}") from None
        expected = info.version(version).get("source_hash")
        if check_hash and expected and source_hash(source) != expected:
            raise RegistryError(
                f"{file}: source does not match the hash in parser.json (edited by hand?)"
            )
        return source

    def active(self, template: str) -> LoadedParser:
        """The active parser of a template loaded in this process (checked and compiled once per
        process per version) — for callers that ask for the in-process path; everything else
        runs parsers in worker processes (:meth:`active_source`)."""
        info = self.info(template)
        version = info.active
        if version is None:
            raise RegistryError(f"{info.path}: template {template!r} has no active version")
        key = (*info.stamp, version)
        cached = self._loaded.get(template)
        if cached and cached[0] == key:
            return cached[1]
        source = self._read_version(template, info, version)
        file = self._version_file(template, info, version)
        parser = load_parser(source, str(file), template, version)
        self._loaded[template] = (key, parser)
        return parser

    def source(self, template: str, version: int | None = None) -> str:
        info = self.info(template)
        number = version if version is not None else info.active
        if number is None:
            raise RegistryError(f"{info.path}: template {template!r} has no active version")
        if not info.version(number):
            raise RegistryError(f"{info.path}: template {template!r} has no version {number}")
        return self._read_version(template, info, number, check_hash=False)

    # -- routing ---------------------------------------------------------------------------------

    def route(self, url: str, tokens: frozenset[str] | None, page: Any = None) -> Route:
        """The template of a page: by URL pattern when exactly one matches, else by layout.

        The layout fingerprint (``tokens``, or computed from ``page``) is needed only when the URL
        is not enough; a route by URL then carries no similarity (None). Raises
        :class:`RoutingError` when nothing fits.
        """
        key = url_key(url) if url else ""
        site = site_of(url) if url else ""
        by_url = []
        candidates = []
        for template in self.templates():
            info = self.info(template)
            pattern = info.url_pattern
            if pattern and key:
                compiled = self._patterns.get(pattern)
                if compiled is None:
                    try:
                        compiled = re.compile(pattern)
                    except (re.error, RecursionError, OverflowError, ValueError) as exc:
                        shown = pattern if len(pattern) <= 200 else pattern[:200] + "…"
                        why = (str(exc).splitlines() or [type(exc).__name__])[0]
                        raise RegistryError(
                            f"{info.path}: corrupt parser.json: url_pattern {shown!r} is not a"
                            f" regular expression: {why}"
                        ) from None
                    self._patterns[pattern] = compiled
                if compiled.match(key):
                    by_url.append(info)
            if not site or info.data.get("site") in (None, site):
                candidates.append(info)
        if len(by_url) == 1:
            info = by_url[0]
            score = similarity(tokens, info.reference) if tokens is not None else None
            return Route(info.template, score, "url")
        if tokens is None and page is not None:
            tokens = fingerprint(page)
        pool = by_url or candidates or [self.info(t) for t in self.templates()]
        if tokens is None:
            raise RoutingError(
                f"no template for {url!r}: several fit its URL and no layout was given"
            )
        best = max(pool, key=lambda i: similarity(tokens, i.reference), default=None)
        if best is not None:
            score = similarity(tokens, best.reference)
            if score >= LAYOUT_THRESHOLD:
                return Route(best.template, score, "layout")
        known = ", ".join(self.templates()) or "none"
        raise RoutingError(f"no template fits {url or 'the page'!r} (templates: {known})")

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def lock(self, template: str, name: str = "publish", blocking: bool = True) -> Iterator[bool]:
        """A cross-process file lock on a template (``publish`` or ``regenerate``).

        Yields True when held; with ``blocking=False`` yields False if another process holds it.
        A lock file that is a symlink (dangling or not) or not a regular file is refused
        (:class:`RegistryError`): nothing is created outside the registry.
        """
        import stat

        folder = self.folder(template)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f".{name}.lock"
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if os.path.islink(path):
                raise RegistryError(f"{path}: lock file is a symlink: refused") from None
            raise RegistryError(f"{path}: cannot open lock: {exc.strerror or exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RegistryError(f"{path}: lock is not a regular file: refused")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def lease(self, template: str, ttl: float, name: str = "regenerate") -> Iterator[Lease | None]:
        """A lease on ``name`` work for ``template`` (single flight across processes): yields a
        :class:`Lease` when this process may do the work, None while another holds a live
        lease. A lease expires ``ttl`` seconds after it was taken or last renewed, or at once
        when its holder (a process on this host) has died, and is then taken over: a holder
        that hangs frees the template after ``ttl``. While a lease is held, :meth:`publish` of
        this registry checks it is still the current one (a fencing token): a holder that
        wakes after a takeover cannot overwrite the version its successor published.

        The lease lives in ``.<name>.lease`` (JSON); the file lock beside it is held only for
        the instant of reading and writing it."""
        lease = self._take_lease(template, ttl, name)
        if lease is None:
            yield None
            return
        self._fences[template] = lease
        try:
            yield lease
        finally:
            if self._fences.get(template) is lease:
                del self._fences[template]
            lease.release()

    def lease_holder(self, template: str, name: str = "regenerate") -> dict[str, Any] | None:
        """The live lease on ``template`` (holder, token, seconds left), or None."""
        with self.lock(template, name):
            current = self._read_lease(template, name)
        if current is None or not _lease_live(current):
            return None
        return {**current, "left": round(float(current["expires"]) - time.time(), 3)}

    def _lease_path(self, template: str, name: str) -> Path:
        return self.folder(template) / f".{name}.lease"

    def _read_lease(self, template: str, name: str) -> dict[str, Any] | None:
        from crawler.fixtures import MAX_JSON_BYTES, read_input_file

        path = self._lease_path(template, name)
        if not path.exists() and not path.is_symlink():
            return None
        try:
            data = json.loads(read_input_file(path, MAX_JSON_BYTES).decode("utf-8"))
        except (BadInput, ValueError):
            return None  # a torn or foreign file: no live lease (the next write replaces it)
        if not isinstance(data, dict) or not isinstance(data.get("token"), int):
            return None
        return data

    def _write_lease(self, template: str, name: str, data: dict[str, Any]) -> None:
        path = self._lease_path(template, name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out)
            os.replace(tmp, path)  # a symlink at ``path`` is replaced, never followed
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _take_lease(self, template: str, ttl: float, name: str) -> Lease | None:
        import socket
        import uuid

        with self.lock(template, name):
            current = self._read_lease(template, name)
            if current is not None and _lease_live(current):
                return None
            token = int(current["token"]) + 1 if current is not None else 1
            holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
            expires = time.time() + ttl
            self._write_lease(
                template,
                name,
                {"holder": holder, "token": token, "expires": expires, "released": False},
            )
        return Lease(self, template, name, holder, token, ttl)

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
        """Check, write and activate a new version; return its number.

        The source must pass the sandbox policy (it is loaded once before anything is written).
        """
        filename = f"{template}/(new version)"
        check_source(source, filename)  # the policy; the gate ran it in a worker
        fence = self._fences.get(template)
        with self.lock(template):
            if fence is not None and not fence.current():
                raise RegistryError(
                    f"{template}: not published: this process's {fence.name} lease (token "
                    f"{fence.token}) expired and another process took the template over"
                )
            folder = self.folder(template)
            path = folder / "parser.json"
            data: dict[str, Any]
            if path.exists():
                data = dict(self.info(template, fresh=True).data)
            else:
                data = {"template": template, "site": template.split("/")[0], "versions": {}}
            versions = dict(data.get("versions", {}))
            for orphan in folder.glob(
                ".*.tmp"
            ):  # left by a publisher that was killed (we hold the lock)
                orphan.unlink(missing_ok=True)
            on_disk = [
                int(m.group(1))
                for p in folder.glob("v*.py")
                if (m := re.match(r"v(\d+)\.py$", p.name))
            ]
            number = max([0, *on_disk, *(int(v) for v in versions)]) + 1
            schema_file = None
            if schema_document is not None:
                text = json.dumps(schema_document, indent=2, sort_keys=True) + "\n"
                digest = schema_hash or hashlib.sha256(text.encode()).hexdigest()[:16]
                schema_file = f"schema-{digest}.json"
                if not (folder / schema_file).is_file():
                    atomic_write(folder / schema_file, text.encode("utf-8"))
            atomic_write(folder / f"v{number}.py", source.encode("utf-8"))
            data = with_version(
                {**data, "versions": versions},
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
            self._write_info(template, data)
            return number

    def update(self, template: str, **fields: Any) -> None:
        """Set top-level fields of ``parser.json`` (e.g. ``render=True``) under the lock."""
        with self.lock(template):
            data = dict(self.info(template, fresh=True).data)
            data.update(fields)
            self._write_info(template, data)

    def rollback(self, template: str, version: int | None = None) -> int:
        """Activate an earlier version (the one before the active, or ``version``); return it."""
        with self.lock(template):
            info = self.info(template, fresh=True)
            numbers = sorted(int(v) for v in info.data.get("versions", {}))
            current = info.active
            if version is None:
                earlier = [n for n in numbers if current is not None and n < current]
                if not earlier:
                    raise RegistryError(
                        f"{info.path}: no version before v{current} to roll back to"
                    )
                version = earlier[-1]
            if version not in numbers:
                raise RegistryError(f"{info.path}: no version {version} (have {numbers})")
            self._write_info(template, rolled_back(info.data, version))
            return version

    def _write_info(self, template: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        atomic_write(self.folder(template) / "parser.json", text.encode("utf-8"))
        self._infos.pop(template, None)
        self._listed = None
