"""Parsers run in killable worker processes: a crash, a hang or a memory bomb costs one page.

A :class:`WorkerPool` keeps a few long-lived ``python -m crawler.workers`` processes. The parent
sends a parser's source (once per worker and version), a schema (once per worker), and a page;
the worker checks the source against the policy, loads it, parses the page under the in-process
limits of :mod:`crawler.sandbox`, and runs the schema and grounding checks there too. The item and
the errors come back as JSON (never pickle: a worker is untrusted once it ran a parser): each
error's text in ``errors`` and its ``[kind, field]`` at the same place in ``problems``, a
failure's text in ``failure`` and its ``[kind, field]`` in ``failure_problem``; the parent builds
the problems (:class:`crawler.problems.Problem`) again.

Bounds, each enforced where the parser cannot reach it:

* **time** — the parent waits for an answer at most ``time_limit + grace`` seconds of wall clock,
  then kills the worker (SIGKILL) and starts a new one: a long C call (a cubic XPath, a huge
  sort) cannot outlive it. The worker's own SIGALRM limit stops Python-level loops earlier.
* **memory** — the per-parse ``RLIMIT_AS`` of the sandbox inside the worker (the worker does one
  thing at a time, so the process-wide limit hurts no one else), and the parent replaces a worker
  whose resident size has grown past ``memory_limit`` (query caches are also cleared per page).
* **crash** — a segfault, a C stack overflow or an abort ends the worker: the parent sees the
  pipe close, reports the page as failed with the signal, and starts a new worker.
* **no network, no filesystem** — after its imports (and a first parse that loads every helper's
  data) the worker installs a seccomp filter with libseccomp (the ``pyseccomp`` binding, ctypes on
  the system's ``libseccomp.so.2``): ``socket``, ``connect``, ``open``/``openat``/``creat``,
  ``execve``, ``fork``/``clone``, ``unlink``, ``rename``, ``mkdir``, ``chmod``, ``ptrace`` and the
  like fail with EPERM. Chosen over Landlock (filesystem only, no sockets before Linux 6.7) and
  over namespaces (need privileges or user namespaces, which containers often lack); a reviewer
  can read the whole list in :data:`DENIED_SYSCALLS`. ``RLIMIT_FSIZE`` 0 and ``RLIMIT_NOFILE`` at
  the open descriptors back it up, and the worker starts with an environment holding no secrets
  (API keys are not inherited). Where libseccomp is missing the rlimits stay and the pool says so
  once (``WorkerPool.sandboxed``).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import IO, Any

from crawler.problems import Problem, ProblemKind, parser_failure

__all__ = ["DENIED_SYSCALLS", "WorkResult", "WorkerPool", "default_pool"]

MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one framed message either way
GRACE = 1.0  # seconds of wall clock beyond the soft limit before the parent kills a worker
START_TIMEOUT = 60.0  # seconds a new worker may take to import and get ready
DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024  # resident bytes after which a worker is replaced
MAX_PARSERS = 64  # loaded parser versions a worker keeps

DENIED_SYSCALLS = (
    "socket socketpair connect bind listen accept accept4 sendto sendmsg sendmmsg recvfrom "
    "recvmsg recvmmsg open openat openat2 creat open_by_handle_at name_to_handle_at "
    "execve execveat fork vfork clone clone3 "
    "unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat mkdir mkdirat rmdir "
    "mknod mknodat chmod fchmod fchmodat chown fchown fchownat lchown truncate ftruncate "
    "ptrace process_vm_readv process_vm_writev mount umount2 chroot pivot_root setns unshare "
    "kexec_load init_module finit_module delete_module bpf perf_event_open userfaultfd "
    "io_uring_setup"
).split()


@dataclass
class WorkResult:
    """One page through a worker: the item, the check errors, or why there is no item."""

    item: dict[str, Any] | None
    errors: list[Problem] = field(default_factory=list)
    failure: Problem | None = None  # the parser failed on this page (time, memory, crash, …)
    policy: Problem | None = None  # the source was refused by the policy or did not load
    layout: frozenset[str] | None = None  # the page's layout fingerprint, when asked for
    links: list[str] | None = None  # the page's absolute links, when asked for (crawler.links)


# ---------------------------------------------------------------------------------------------
# framing: a 4-byte big-endian length and ASCII JSON (no lone surrogate can travel), then a
# 4-byte length and raw bytes (the page's HTML as UTF-8: no JSON escaping of 100 KB per page)


def _send(stream: IO[bytes], message: dict[str, Any], payload: bytes = b"") -> None:
    data = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    stream.write(struct.pack(">I", len(data)) + data + struct.pack(">I", len(payload)))
    if payload:
        stream.write(payload)
    stream.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; None on end of file; TimeoutError past ``deadline``."""
    chunks: list[bytes] = []
    left = size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _frame(fd: int, deadline: float | None) -> bytes | None:
    head = _read_exact(fd, 4, deadline)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is larger than {MAX_MESSAGE}")
    return _read_exact(fd, size, deadline) if size else b""


def _receive(fd: int, deadline: float | None = None) -> tuple[dict[str, Any], bytes] | None:
    """A message and its payload; None at end of file."""
    body = _frame(fd, deadline)
    payload = _frame(fd, deadline) if body is not None else None
    if body is None or payload is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message, payload


# ---------------------------------------------------------------------------------------------
# the parent side


def _signal_name(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _clean_env() -> dict[str, str]:
    """The worker's environment: what Python needs, no secrets (API keys stay in the parent)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "PYTHONHASHSEED", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class _Worker:
    """One worker process and what it has loaded."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_clean_env(),
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.fd = self.proc.stdout.fileno()
        self.parsers: OrderedDict[str, None] = OrderedDict()
        self.schemas: set[str] = set()
        self.sandboxed: bool | None = None  # known once it said it is ready

    def wait_ready(self) -> None:
        """Wait for the worker's imports and lock-down (started meanwhile: see prestart)."""
        if self.sandboxed is not None:
            return
        got = _receive(self.fd, time.monotonic() + START_TIMEOUT)
        ready = got[0] if got else {}
        if ready.get("ready") is not True:
            self.kill()
            raise RuntimeError("a parser worker did not start")
        self.sandboxed = bool(ready.get("seccomp"))

    def rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class WorkerPool:
    """A few worker processes that load and run untrusted parsers; safe to use from threads.

    ``run`` takes one page and returns a :class:`WorkResult`; a worker that overruns its time,
    grows past ``memory_limit`` or dies is replaced, and the page is reported as failed with the
    reason.
    """

    def __init__(self, size: int = 1, memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        self.sandboxed: bool | None = None  # known once a worker started
        self.replaced = 0  # workers killed or lost and replaced
        self.pages = 0

    def _take(self) -> _Worker:
        worker: _Worker | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the worker pool is closed")
                if self._idle:
                    worker = self._idle.pop()
                    break
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            if worker is None:
                worker = _Worker()
            worker.wait_ready()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        self.sandboxed = worker.sandboxed
        return worker

    def prestart(self) -> None:
        """Start a worker now, without waiting for it: its imports overlap the caller's own
        start-up (``scrapec extract`` of one file), and the first page finds it ready."""
        with self._cond:
            if self._closed or self._idle or self._count >= self.size:
                return
            self._count += 1
        try:
            worker = _Worker()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        self._give(worker)

    def _give(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None or self._closed:
                self._count -= 1
                if worker is not None:
                    worker.kill()
            else:
                self._idle.append(worker)
            self._cond.notify()

    def run(
        self,
        source: str,
        html: str,
        url: str,
        *,
        template: str = "?",
        version: int = 0,
        schema: Any = None,
        grounding: bool = True,
        time_limit: float | None = None,
        layout: bool = False,
        links: bool = False,
    ) -> WorkResult:
        """Check, load and run ``source`` on one page in a worker; schema and grounding checks
        run there too (``schema`` is a :class:`crawler.schemas.Schema` or None)."""
        from crawler.sandbox import DEFAULT_TIME_LIMIT, source_hash

        limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
        digest = source_hash(source)
        worker = self._take()
        request: dict[str, Any] = {
            "op": "run",
            "parser": digest,
            "template": template,
            "version": version,
            "url": url,
            "grounding": grounding,
            "time_limit": limit,
            "layout": layout,
            "links": links,
        }
        if digest not in worker.parsers:
            request["source"] = source
        if schema is not None:
            request["schema"] = schema.digest or schema.name
            if request["schema"] not in worker.schemas:
                request["schema_document"] = schema.document
                request["schema_name"] = schema.name
        keep = False
        try:
            try:
                _send(worker.stdin, request, html.encode("utf-8", "surrogatepass"))
                hard = limit + max(GRACE, limit / 2)
                got = _receive(worker.fd, time.monotonic() + hard)
                answer = got[0] if got is not None else None
            except TimeoutError:
                late = f"hard time limit of {hard:g} s reached"
                return WorkResult(None, failure=_failed(ProblemKind.TIME, late))
            except (OSError, ValueError) as exc:
                broken = f"parser worker failed: {type(exc).__name__}"
                return WorkResult(None, failure=_failed(ProblemKind.CRASH, broken))
            if answer is None:  # the worker died on this page
                worker.kill()
                died = f"parser worker {_signal_name(worker.proc.returncode)}"
                return WorkResult(None, failure=_failed(ProblemKind.CRASH, died))
            self.pages += 1
            worker.parsers[digest] = None
            worker.parsers.move_to_end(digest)
            while len(worker.parsers) > MAX_PARSERS:
                worker.parsers.popitem(last=False)
            if "schema" in request:
                worker.schemas.add(request["schema"])
            keep = not answer.get("restart") and worker.rss() <= self.memory_limit
            item = answer.get("item")
            tokens = answer.get("layout")
            hrefs = answer.get("links")
            return WorkResult(
                item if isinstance(item, dict) else None,
                _problems(answer.get("errors"), answer.get("problems")),
                _problem(answer.get("failure"), answer.get("failure_problem")),
                _problem(answer.get("policy"), [ProblemKind.POLICY.value, None]),
                frozenset(str(t) for t in tokens) if isinstance(tokens, list) else None,
                [str(u) for u in hrefs] if isinstance(hrefs, list) else None,
            )
        finally:  # whatever happened, the worker goes back or is replaced: never leaked
            if keep:
                self._give(worker)
            else:
                worker.kill()
                self.replaced += 1
                self._give(None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()


def _failed(kind: ProblemKind, message: str) -> Problem:
    """A failure of the whole page (no field)."""
    return Problem.of(kind, None, message)


def _problem(text: Any, pair: Any) -> Problem | None:
    """A problem read back from a worker's answer: its text and ``[kind, field]``."""
    if text is None:
        return None
    return Problem.from_pair(str(text), pair)


def _problems(texts: Any, pairs: Any) -> list[Problem]:
    """The errors of a worker's answer, each text with the ``[kind, field]`` at its place."""
    if not isinstance(texts, list):
        return []
    kinds = pairs if isinstance(pairs, list) and len(pairs) == len(texts) else [None] * len(texts)
    return [Problem.from_pair(str(t), k) for t, k in zip(texts, kinds, strict=True)]


def _failure(kind: ProblemKind, message: str, *, restart: bool = False) -> dict[str, Any]:
    """The answer of a worker whose page failed (no field): see :func:`_failed_with`."""
    return _failed_with(_failed(kind, message), restart=restart)


def _failed_with(problem: Problem, *, restart: bool = False) -> dict[str, Any]:
    """The answer of a worker whose page failed: the text and the ``[kind, field]``."""
    answer: dict[str, Any] = {"failure": problem.text, "failure_problem": problem.to_pair()}
    if restart:
        answer["restart"] = True
    return answer


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process's shared pool (``SCRAPEC_WORKERS`` workers, default 1), started on first use."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            size = int(os.environ.get("SCRAPEC_WORKERS", "1") or 1)
            _default = WorkerPool(size)
            atexit.register(_default.close)
        return _default


# ---------------------------------------------------------------------------------------------
# the worker side


def _install_seccomp(seccomp: Any) -> bool:
    import errno

    if seccomp is None:
        return False
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                continue  # a call this kernel or architecture does not have
        rules.load()
    except (RuntimeError, OSError, ValueError):
        return False
    return True


def _lock_down() -> bool:
    """No new files, sockets or processes from here on; True when seccomp is in force."""
    import resource

    try:  # loaded (with its shared library) before descriptors run out
        import pyseccomp as seccomp
    except (ImportError, OSError):
        seccomp = None
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file grows
    highest = max(
        [int(n) for n in os.listdir("/proc/self/fd") if n.isdigit()] or [2]
    )  # listing opens a descriptor: done before the limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, highest + 1))
    return _install_seccomp(seccomp)


def _clear_query_caches() -> None:
    """parsel keeps an LRU of CSS → XPath translations per translator: not across pages."""
    from parsel import csstranslator

    for name in ("_translator", "_html_translator"):
        translator = getattr(csstranslator, name, None)
        cache = getattr(translator, "_cache", None)
        if cache is not None and hasattr(cache, "cache_clear"):
            cache.cache_clear()


def _warm_up() -> None:
    """Load everything a parse may need before the filesystem goes away."""
    from crawler import parsing

    page = parsing.Page("<p class='a'>5. März 2024 <b>£1,299.00</b></p>", "http://x.test/")
    parsing.text(page.css("p.a"))
    parsing.date("hace 2 días")
    parsing.date("5. März 2024")
    parsing.price("1.299 kr")
    parsing.currency("£1")
    parsing.regex(r"(\d+)", "a 12", 1)
    page.jsonld()


def _serve() -> int:
    from crawler.checks import PageText, grounding_errors
    from crawler.exceptions import ParserFailed, PolicyViolation
    from crawler.links import base_url, tree_links
    from crawler.parsing import Page
    from crawler.routing import fingerprint
    from crawler.sandbox import LoadedParser, load_parser
    from crawler.schemas import Schema, schema_from_document

    _warm_up()
    out = os.fdopen(os.dup(1), "wb")
    inp = 0
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # a stray print cannot corrupt the channel
    sandboxed = _lock_down()
    parsers: OrderedDict[str, LoadedParser | str] = OrderedDict()
    schemas: dict[str, Schema] = {}
    _send(out, {"ready": True, "seccomp": sandboxed})
    while True:
        try:
            got = _receive(inp)
        except (ValueError, OSError):
            return 1
        if got is None:
            return 0
        request, payload = got
        answer: dict[str, Any] = {}
        digest = str(request.get("parser"))
        template = str(request.get("template", "?"))
        limit = float(request.get("time_limit") or 2.0)
        loaded = parsers.get(digest)
        if loaded is None:
            source = request.get("source")
            if not isinstance(source, str):
                _send(out, {"policy": "the parser source was not sent"})
                continue
            try:
                loaded = load_parser(
                    source,
                    f"{template}/v{request.get('version', 0)}",
                    template,
                    int(request.get("version") or 0),
                    time_limit=limit,
                )
            except PolicyViolation as exc:
                loaded = str(exc)
            except ParserFailed as exc:
                loaded = exc.reason
            except RecursionError:
                loaded = "the source is nested too deeply to check"
            parsers[digest] = loaded
            while len(parsers) > MAX_PARSERS:
                parsers.popitem(last=False)
        if isinstance(loaded, str):
            _send(out, {"policy": loaded})
            continue
        loaded.time_limit = limit
        key = request.get("schema")
        schema = None
        if key is not None:
            schema = schemas.get(str(key))
            document = request.get("schema_document")
            if schema is None and isinstance(document, dict):
                schema = schemas[str(key)] = schema_from_document(
                    document, str(request.get("schema_name") or "schema")
                )
        page = None
        try:
            page = Page(payload.decode("utf-8", "surrogatepass"), str(request.get("url", "")))
            item = loaded.run(page)
            errors = schema.errors(item) if schema is not None else []
            if request.get("grounding", True):
                errors += grounding_errors(item, PageText(page), schema)
            answer = {
                "item": item,
                "errors": [e.text for e in errors],
                "problems": [e.to_pair() for e in errors],
            }
            if request.get("layout"):
                answer["layout"] = sorted(fingerprint(page))
        except ParserFailed as exc:
            answer = _failed_with(parser_failure(exc))
        except RecursionError:
            answer = _failure(ProblemKind.CRASH, "recursion too deep", restart=True)
        except MemoryError:
            answer = _failure(ProblemKind.MEMORY, "memory limit reached", restart=True)
        except Exception as exc:  # noqa: BLE001 - a check that failed on odd data: this page only
            answer = _failure(ProblemKind.EXCEPTION, f"checks failed: {type(exc).__name__}")
        if request.get("links") and page is not None and not answer.get("restart"):
            # the crawl follows these: its reactor thread then parses no item page itself
            try:
                answer["links"] = tree_links(page.selector.root, base_url(page.source, page.url))
            except Exception:  # noqa: BLE001 - odd markup: the spider reads the links itself
                pass
        _clear_query_caches()
        try:
            _send(out, answer)
        except (ValueError, TypeError, OverflowError):
            unsendable = "the item could not be sent (not plain JSON)"
            _send(out, _failure(ProblemKind.EXCEPTION, unsendable))


if __name__ == "__main__":
    raise SystemExit(_serve())
