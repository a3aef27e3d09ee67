"""Fetching one URL outside a crawl: plain HTTP with httpx, or rendered by headless Chromium.

:func:`fetch` / :func:`afetch` return a :class:`Fetched` (the body as bytes and the encoding to
decode it with) or raise a :class:`~crawler.exceptions.FetchError` saying why not::

    FetchError                 (url, reason)
    ├── NetworkError           DNS failure, refused or reset connection, timeout, TLS
    ├── HTTPStatusError        4xx/5xx after the retries (status)
    ├── TooManyRedirects       more than ``max_redirects`` hops (a loop says so)
    ├── NotHTML                PDF, image, JSON, octet-stream, … (content_type)
    ├── PageTooLarge           body longer than ``max_bytes`` (limit); never read to the end
    ├── RenderError            the browser could not load the page or not within the timeout
    └── RobotsDisallowed       robots.txt forbids the URL (only with ``robots=True``)

:class:`BadInput` is raised for a URL that is not http(s) or has no host, and for a redirect to
one (naming both URLs): only http and https are ever fetched or followed.

A :class:`Fetcher` holds one ``httpx.Client`` (thread-safe) and, per running event loop, one
``httpx.AsyncClient``; the module functions use one process-wide Fetcher (:func:`default_fetcher`).
Its rules:

- ``timeout`` is the deadline of the whole call: every hop, retry, backoff and the body read
  share it, so a call returns or raises within about ``timeout`` seconds of network time
  (waiting for a turn under ``delay`` and ``per_host`` is not counted).
- Redirects are followed by hand (at most ``max_redirects``), each hop checked with
  :func:`check_url` (and with robots.txt).
- Retried, with exponential backoff (``backoff`` · 2ⁿ, at most ``retries`` times, never past the
  deadline): connection failures other than DNS and TLS, timeouts while time is left, and the
  statuses 429, 502, 503, 504. ``Retry-After`` (seconds or an HTTP date) is waited for when it
  is at most ``retry_after_cap`` seconds; a longer one ends the call at once (HTTPStatusError).
- The body is streamed and the connection closed as soon as it passes ``max_bytes`` (decoded
  size, so a compression bomb stops too); a ``Content-Length`` above the limit is refused unread.
- A declared non-HTML type (PDF, image/audio/video/font, JSON, octet-stream, archives, …) is
  refused unread; HTML and XHTML are taken; any other or missing type is decided by sniffing the
  first bytes (magic numbers, then the WHATWG HTML tag patterns).
- The encoding is decided by ``w3lib.encoding.html_to_unicode`` (BOM, then the HTTP charset, then
  ``<meta>``, else UTF-8) on the head of the body; it is normalised to a Python codec name.
- ``robots=True``: robots.txt is fetched once per origin (scheme, host, port) and kept for
  ``ROBOTS_TTL`` seconds. 2xx: its rules (protego) decide; 4xx: allow all; 5xx: disallow all
  (RFC 9309 §2.3.1.4; 429 too), kept only ``ROBOTS_ERROR_TTL`` seconds before asking again;
  unreachable (DNS, refused): the NetworkError is raised and nothing is cached.
- ``delay``: at least that many seconds between the starts of two requests to one host (sync and
  async callers share the schedule; robots.txt requests count). ``per_host``: at most that many
  requests in flight to one host, in threads and in each event loop.

Rendering (``render=True``) goes through a :class:`Browser`: one headless Chromium (Debian's
``/usr/bin/chromium``, or ``SCRAPEC_CHROMIUM``; Playwright cannot download its own here) driven
by the async Playwright API on a background thread with its own event loop, started on the first
render and reused by every later one, sync or async. Playwright is imported only then.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import dataclasses
import email.utils
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import AsyncGenerator, Coroutine, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from crawler.exceptions import (
    BadInput,
    FetchError,
    HTTPStatusError,
    NetworkError,
    NotHTML,
    PageTooLarge,
    RenderError,
    RobotsDisallowed,
    TooManyRedirects,
)

if TYPE_CHECKING:
    import httpx
    from protego import Protego

__all__ = [
    "Browser",
    "CHROMIUM_ARGS",
    "Fetched",
    "Fetcher",
    "MAX_BODY_BYTES",
    "USER_AGENT",
    "afetch",
    "check_url",
    "default_fetcher",
    "fetch",
    "launch_options",
]

USER_AGENT = "scrapec/0.1 (+https://scrapec.dev)"
ROBOTS_AGENT = "scrapec"  # the product token robots.txt groups are matched against
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_BODY_BYTES = 32 * 2**20  # the page limit of crawler.extract
MAX_REDIRECTS = 10
RETRY_STATUSES = frozenset({429, 502, 503, 504})
ROBOTS_TTL = 24 * 3600.0  # RFC 9309 §2.4: a cached robots.txt SHOULD NOT be used for longer
ROBOTS_ERROR_TTL = 60.0  # how long a 5xx robots.txt (disallow all) is kept before asking again
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 §2.5: at least 500 KiB must be parsed; the rest is not
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 §2.3.1.2
SCHEMES = frozenset({"http", "https"})
HEAD_BYTES = 8192  # what the encoding and the type sniffing look at

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_NOT_HTML_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_NOT_HTML_TYPES = frozenset(
    {
        "application/pdf",
        "application/json",
        "application/ld+json",
        "application/octet-stream",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/msword",
        "application/javascript",
        "text/javascript",
        "text/css",
        "text/csv",
        "application/wasm",
    }
)
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"RIFF", "image/webp"),  # or another RIFF container: not HTML either way
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"OggS", "audio/ogg"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)
# WHATWG MIME sniffing, "identifying a resource with an unknown MIME type": HTML tag patterns
_HTML_SNIFF = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p"
    rb"|meta|link|!--)[\s>/]",
    re.IGNORECASE,
)


def launch_options() -> dict[str, Any]:
    """Playwright launch options for the system chromium (also used as PLAYWRIGHT_LAUNCH_OPTIONS)."""
    return {
        "headless": True,
        "executable_path": os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium"),
        "args": list(CHROMIUM_ARGS),
    }


def check_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host, else raise :class:`BadInput` naming it."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadInput(f"{url!r}: not a URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise BadInput(f"{url!r}: not an http(s) URL; only http and https are fetched")
    if not parts.hostname:
        raise BadInput(f"{url!r}: an http(s) URL without a host")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError as exc:
        raise BadInput(f"{url!r}: bad port: {exc}") from None
    return url


@dataclasses.dataclass(frozen=True)
class Fetched:
    """One fetched page. ``url`` is the URL asked for, ``final_url`` the one after redirects;
    ``body`` the bytes (a rendered page: its DOM as UTF-8); ``encoding`` the Python codec name to
    decode ``body`` with; ``seconds`` the wall time of the call (waits and retries included)."""

    url: str
    final_url: str
    status: int
    body: bytes
    encoding: str
    content_type: str
    rendered: bool
    seconds: float

    @property
    def text(self) -> str:
        """``body`` decoded with ``encoding`` (bytes that do not decode become U+FFFD)."""
        return self.body.decode(self.encoding, errors="replace")

    @classmethod
    def saved(cls, html: str, url: str) -> Fetched:
        """A page already at hand (a saved file, decoded) as if fetched from ``url``."""
        body = html.encode("utf-8", errors="replace")
        return cls(url, url, 200, body, "utf-8", "text/html", False, 0.0)


def decide_encoding(content_type: str | None, body: bytes) -> str:
    """The codec to decode an HTML body with, by ``w3lib.encoding.html_to_unicode``: BOM, HTTP
    charset, ``<meta>``, else UTF-8. Only the head of the body is looked at (all of those rules
    read no further), so a large page is not decoded twice."""
    from w3lib.encoding import html_to_unicode, http_content_type_encoding

    from crawler.parsing import page_codec

    declared = http_content_type_encoding(content_type) if content_type else None
    if declared is not None and page_codec(declared) is None:
        content_type = None  # a charset no page is written in (zlib, hex, rot13, idna): ignored
    try:
        name, _ = html_to_unicode(content_type or None, body[:HEAD_BYTES])
    except (LookupError, UnicodeError, ValueError):  # a <meta> naming such a codec
        name = "utf-8"
    return page_codec(name) or "utf-8"


def sniff_type(head: bytes) -> str | None:
    """``text/html`` when the first bytes look like HTML, a type when a magic number says what
    they are, else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        end = text.find(b"?>")
        text = text[end + 2 :].lstrip() if end >= 0 else text
    if _HTML_SNIFF.match(text + b" "):
        return "text/html"
    return None


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _declared_not_html(mime: str) -> bool:
    return (
        mime in _NOT_HTML_TYPES
        or mime.startswith(_NOT_HTML_PREFIXES)
        or mime.endswith(("+json", "+zip"))
    )


def _check_type(url: str, content_type: str, head: bytes | None) -> None:
    """Raise NotHTML unless the response is an HTML page (``head``: None before the body is read,
    then its first bytes)."""
    mime = _mime(content_type)
    if mime in _HTML_TYPES:
        return
    if _declared_not_html(mime):
        raise NotHTML(url, content_type or "(none)")
    if head is None:
        return  # decided on the first bytes
    sniffed = sniff_type(head)
    if sniffed == "text/html":
        return
    shown = content_type or "(none)"
    if sniffed:
        raise NotHTML(
            url, shown, f"not an HTML page: the body is {sniffed} (Content-Type {shown!r})"
        )
    raise NotHTML(url, shown, f"not an HTML page (Content-Type {shown!r}, no HTML at the start)")


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _network_error(url: str, exc: Exception, limit: float) -> tuple[NetworkError, bool]:
    """The NetworkError for an httpx transport error, and whether it is worth retrying."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(url, f"timed out after {limit:g} s ({type(exc).__name__})"), True
    cause: BaseException | None = exc
    errno = 0  # the innermost OS error number (the async backend wraps it twice)
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            host = _host(url)
            return NetworkError(url, f"cannot resolve host {host!r}: {cause.strerror}"), False
        if isinstance(cause, ssl.SSLError):
            return NetworkError(url, f"TLS failure: {cause}"), False
        if isinstance(cause, OSError) and cause.errno:
            errno = cause.errno
        cause = cause.__cause__ or cause.__context__
    said = f"{os.strerror(errno)} (errno {errno})" if errno else str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(url, f"cannot connect: {said}"), True
    return NetworkError(url, f"{type(exc).__name__}: {said}"), True


class _Retry(Exception):
    """One attempt failed in a way worth retrying: ``error`` if it is the last, ``wait`` first."""

    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        self.error = error
        self.wait = wait


@dataclasses.dataclass
class _Robots:
    rules: Protego | None  # None: allow all
    disallow_all: str | None  # the reason, for a 5xx robots.txt
    expires: float


class _LoopState:
    """What a Fetcher keeps per event loop: its AsyncClient and its asyncio primitives."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.robots_locks: dict[str, asyncio.Lock] = {}
        self.keeper: AsyncGenerator[None, None] | None = None


class _LazyTLS:
    """An httpx transport made on its first request (the https one: its SSL context loads the
    CA certificates, which costs more than a whole fetch of a local page)."""

    def __init__(self) -> None:
        self._real: Any = None
        self._lock = threading.Lock()

    def handle_request(self, request: Any) -> Any:
        with self._lock:
            if self._real is None:
                import httpx

                self._real = httpx.HTTPTransport()
        return self._real.handle_request(request)

    def close(self) -> None:
        if self._real is not None:
            self._real.close()

    def __enter__(self) -> _LazyTLS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Fetcher:
    """Fetches pages over one httpx client (and, when asked to render, one :class:`Browser`).

    Use it from threads (``fetch``) and from event loops (``afetch``), and close it when done
    (``close()``/``aclose()``, or ``with``/``async with``). See the module docstring for the rules.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_bytes: int = MAX_BODY_BYTES,
        retries: int = 2,
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
        max_redirects: int = MAX_REDIRECTS,
        robots: bool = False,
        delay: float = 0.0,
        per_host: int = 4,
        user_agent: str = USER_AGENT,
        browser: Browser | None = None,
    ) -> None:
        for name, value in (("timeout", timeout), ("max_bytes", max_bytes)):
            if not value > 0:
                raise BadInput(f"Fetcher: {name} must be positive, not {value!r}")
        for name, value in (("retries", retries), ("backoff", backoff), ("delay", delay)):
            if value < 0:
                raise BadInput(f"Fetcher: {name} must be zero or more, not {value!r}")
        if per_host < 1:
            raise BadInput(f"Fetcher: per_host must be at least 1, not {per_host!r}")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.retry_after_cap = retry_after_cap
        self.max_redirects = max_redirects
        self.robots = robots
        self.delay = delay
        self.per_host = per_host
        self.user_agent = user_agent
        self._browser = browser
        self._owns_browser = browser is None
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._next_start: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    # -- lifetime ---------------------------------------------------------------------------

    @property
    def browser(self) -> Browser:
        """The Browser renders go through (created on first use when none was given)."""
        with self._lock:
            if self._browser is None:
                self._browser = Browser(user_agent=self.user_agent)
            return self._browser

    def close(self) -> None:
        """Close the sync client and, if this Fetcher made it, the browser."""
        with self._lock:
            client, self._client = self._client, None
            browser = self._browser if self._owns_browser else None
        if client is not None:
            client.close()
        if browser is not None:
            browser.close()

    async def aclose(self) -> None:
        """Close the AsyncClient of the running loop, then what :meth:`close` closes."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None and state.keeper is not None:
            await state.keeper.aclose()  # runs _keep's finally: the client is closed
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _client_options(self) -> dict[str, Any]:
        return {
            "follow_redirects": False,
            "headers": {"User-Agent": self.user_agent, "Accept": "text/html,*/*;q=0.8"},
        }

    def _sync_client(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._client is None:
                options = self._client_options()
                if not urllib.request.getproxies():
                    # no proxy to honour: TLS set up (certificates loaded, ~0.2 s) on the
                    # first https request only, so a crawl of http pages or a one-shot
                    # command does not pay it
                    options["transport"] = _LazyTLS()
                    # plain http has no TLS to verify (an https hop goes to the lazy one)
                    options["mounts"] = {"http://": httpx.HTTPTransport(verify=False)}
                self._client = httpx.Client(**options)
            return self._client

    async def _loop_state(self) -> _LoopState:
        """The AsyncClient of the running loop. It is closed by ``aclose()``, or when the loop
        shuts its async generators down (``asyncio.run`` does), so none outlives its loop."""
        import httpx

        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            for old in [k for k in self._loops if k.is_closed()]:
                del self._loops[old]
            state = self._loops[loop] = _LoopState(httpx.AsyncClient(**self._client_options()))
            state.keeper = self._keep(loop, state)
            await state.keeper.__anext__()
        return state

    async def _keep(
        self, loop: asyncio.AbstractEventLoop, state: _LoopState
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if self._loops.get(loop) is state:
                del self._loops[loop]
            await state.client.aclose()

    # -- politeness -------------------------------------------------------------------------

    def _gate(self, url: str) -> float:
        """0.0 when a request to ``url``'s host may start now (the host is then booked for
        ``delay`` seconds from now), else the seconds to wait before asking again. Booking at
        the real start, not ahead, keeps starts ``delay`` apart however late a waiter wakes."""
        if not self.delay:
            return 0.0
        host = _host(url)
        with self._lock:
            now = time.monotonic()
            free_at = self._next_start.get(host, 0.0)
            if now >= free_at:
                self._next_start[host] = now + self.delay
                return 0.0
            return free_at - now

    def _pace_sync(self, url: str) -> None:
        while (wait := self._gate(url)) > 0:
            time.sleep(wait)

    async def _pace_async(self, url: str) -> None:
        while (wait := self._gate(url)) > 0:
            await asyncio.sleep(wait)

    def _thread_slot(self, url: str) -> threading.BoundedSemaphore:
        host = _host(url)
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(self.per_host)
            return slot

    # -- one request ------------------------------------------------------------------------

    def _response_head(
        self, url: str, response: httpx.Response, max_bytes: int
    ) -> tuple[str | None, int]:
        """Judge a response by its status and headers: (next hop URL or None, status). Raises
        for an error status (``_Retry`` when it is worth another attempt) and for a declared
        non-HTML type or too long a Content-Length."""
        status = response.status_code
        if 300 <= status < 400 and status != 304:
            location = response.headers.get("location")
            if not location:
                raise HTTPStatusError(url, status, f"HTTP {status} without a Location header")
            target = urljoin(url, location.strip())
            try:
                check_url(target)
            except BadInput as exc:
                raise BadInput(f"{url!r}: redirected ({status}) to {exc}") from None
            return target, status
        if status >= 400 or status == 304:
            error = HTTPStatusError(url, status, f"HTTP {status} {response.reason_phrase}".strip())
            if status in RETRY_STATUSES:
                wait = _retry_after(response.headers.get("retry-after"), time.time())
                if wait is not None and wait > self.retry_after_cap:
                    raise HTTPStatusError(
                        url,
                        status,
                        f"HTTP {status}: the server asks to retry after {wait:g} s "
                        f"(more than the {self.retry_after_cap:g} s this fetcher waits)",
                    )
                raise _Retry(error, wait)
            raise error
        content_type = response.headers.get("content-type", "")
        _check_type(url, content_type, None)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise PageTooLarge(url, max_bytes)
        return None, status

    def _fetched(
        self, asked: str, url: str, response: httpx.Response, body: bytes, started: float
    ) -> Fetched:
        content_type = response.headers.get("content-type", "")
        _check_type(url, content_type, body[:HEAD_BYTES])
        return Fetched(
            url=asked,
            final_url=str(response.url),
            status=response.status_code,
            body=body,
            encoding=decide_encoding(content_type, body),
            content_type=content_type,
            rendered=False,
            seconds=time.monotonic() - started,
        )

    def _attempt_sync(
        self, client: httpx.Client, url: str, deadline: float, max_bytes: int, limit: float
    ) -> tuple[str | None, httpx.Response, bytes]:
        import httpx

        remaining = deadline - time.monotonic()
        try:
            with client.stream("GET", url, timeout=max(remaining, 0.001)) as response:
                target, _ = self._response_head(url, response, max_bytes)
                if target is not None:
                    return target, response, b""
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise PageTooLarge(url, max_bytes)
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the body did not arrive in time")
                return None, response, b"".join(chunks)
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from None
        except httpx.InvalidURL as exc:
            raise BadInput(f"{url!r}: not a URL httpx can fetch: {exc}") from None
        except httpx.TransportError as exc:
            error, retry = _network_error(url, exc, limit)
            if retry:
                raise _Retry(error) from None
            raise error from None

    async def _attempt_async(
        self, client: httpx.AsyncClient, url: str, deadline: float, max_bytes: int, limit: float
    ) -> tuple[str | None, httpx.Response, bytes]:
        import httpx

        remaining = deadline - time.monotonic()
        try:
            async with client.stream("GET", url, timeout=max(remaining, 0.001)) as response:
                target, _ = self._response_head(url, response, max_bytes)
                if target is not None:
                    return target, response, b""
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise PageTooLarge(url, max_bytes)
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the body did not arrive in time")
                return None, response, b"".join(chunks)
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from None
        except httpx.InvalidURL as exc:
            raise BadInput(f"{url!r}: not a URL httpx can fetch: {exc}") from None
        except httpx.TransportError as exc:
            error, retry = _network_error(url, exc, limit)
            if retry:
                raise _Retry(error) from None
            raise error from None

    def _backoff(self, attempt: int, retry: _Retry, deadline: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when there is none left."""
        if attempt >= self.retries:
            return None
        wait = retry.wait if retry.wait is not None else self.backoff * 2**attempt
        if time.monotonic() + wait >= deadline:
            return None
        return wait

    # -- the calls --------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        render: bool = False,
        timeout: float | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET ``url`` (rendered in the browser with ``render=True``): a :class:`Fetched`, or
        :class:`FetchError`/:class:`BadInput` as the module docstring says."""
        check_url(url)
        started = time.monotonic()
        limit = self.timeout if timeout is None else timeout
        deadline = started + limit
        cap = self.max_bytes if max_bytes is None else max_bytes
        if render:
            self._robots_check_sync(url, deadline, limit)
            with self._thread_slot(url):
                self._pace_sync(url)
                got = self.browser.render(url, timeout=limit, max_bytes=cap, asked=url)
            return dataclasses.replace(got, seconds=time.monotonic() - started)
        client = self._sync_client()  # made before the first turn is taken, not in it
        hop, hops = url, [url]
        while True:
            self._robots_check_sync(hop, deadline, limit)
            attempt = 0
            while True:
                queued = time.monotonic()
                try:
                    with self._thread_slot(hop):
                        self._pace_sync(hop)
                        deadline += time.monotonic() - queued  # waiting a turn is not counted
                        target, response, body = self._attempt_sync(
                            client, hop, deadline, cap, limit
                        )
                    break
                except _Retry as retry:
                    wait = self._backoff(attempt, retry, deadline)
                    if wait is None:
                        raise retry.error from None
                    time.sleep(wait)
                    attempt += 1
            if target is None:
                return self._fetched(url, hop, response, body, started)
            hop = self._next_hop(url, hops, target)

    async def afetch(
        self,
        url: str,
        *,
        render: bool = False,
        timeout: float | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """The same as :meth:`fetch`, awaited (the render runs on the browser's own thread)."""
        check_url(url)
        started = time.monotonic()
        limit = self.timeout if timeout is None else timeout
        deadline = started + limit
        cap = self.max_bytes if max_bytes is None else max_bytes
        if render:
            await self._robots_check_async(url, deadline, limit)
            async with await self._loop_slot(url):
                await self._pace_async(url)
                got = await self.browser.arender(url, timeout=limit, max_bytes=cap, asked=url)
            return dataclasses.replace(got, seconds=time.monotonic() - started)
        client = (await self._loop_state()).client
        hop, hops = url, [url]
        while True:
            await self._robots_check_async(hop, deadline, limit)
            attempt = 0
            while True:
                queued = time.monotonic()
                try:
                    async with await self._loop_slot(hop):
                        await self._pace_async(hop)
                        deadline += time.monotonic() - queued  # waiting a turn is not counted
                        target, response, body = await self._attempt_async(
                            client, hop, deadline, cap, limit
                        )
                    break
                except _Retry as retry:
                    wait = self._backoff(attempt, retry, deadline)
                    if wait is None:
                        raise retry.error from None
                    await asyncio.sleep(wait)
                    attempt += 1
            if target is None:
                return self._fetched(url, hop, response, body, started)
            hop = self._next_hop(url, hops, target)

    async def _loop_slot(self, url: str) -> asyncio.Semaphore:
        state = await self._loop_state()
        host = _host(url)
        slot = state.slots.get(host)
        if slot is None:
            slot = state.slots[host] = asyncio.Semaphore(self.per_host)
        return slot

    def _next_hop(self, url: str, hops: list[str], target: str) -> str:
        hops.append(target)
        if len(hops) - 1 > self.max_redirects:
            chain = " -> ".join(hops[-4:])
            what = "a redirect loop" if len(set(hops)) < len(hops) else "too long a chain"
            raise TooManyRedirects(
                url, f"more than {self.max_redirects} redirects ({what}: … {chain})"
            )
        return target

    # -- robots.txt -------------------------------------------------------------------------

    def _robots_verdict(self, url: str, entry: _Robots) -> None:
        if entry.disallow_all is not None:
            raise RobotsDisallowed(url, entry.disallow_all)
        if entry.rules is not None and not entry.rules.can_fetch(url, ROBOTS_AGENT):
            robots_url = _origin_url(url) + "/robots.txt"
            raise RobotsDisallowed(url, f"disallowed by {robots_url} for {ROBOTS_AGENT!r}")

    def _robots_cached(self, origin: str) -> _Robots | None:
        with self._lock:
            entry = self._robots.get(origin)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        return None

    def _robots_store(self, url: str, status: int, body: bytes) -> _Robots:
        from protego import Protego

        now = time.monotonic()
        if 200 <= status < 300:
            entry = _Robots(Protego.parse(body.decode("utf-8", "replace")), None, now + ROBOTS_TTL)
        elif status >= 500 or status == 429:  # unreachable (429: as Google reads it)
            reason = (
                f"{_origin_url(url)}/robots.txt answered HTTP {status}: disallow all "
                f"(RFC 9309) for {ROBOTS_ERROR_TTL:g} s"
            )
            entry = _Robots(None, reason, now + ROBOTS_ERROR_TTL)
        else:  # 4xx ("unavailable"), or a redirect chain that did not end
            entry = _Robots(None, None, now + ROBOTS_TTL)
        with self._lock:
            self._robots[_origin(url)] = entry
        return entry

    def _robots_check_sync(self, url: str, deadline: float, limit: float) -> None:
        if not self.robots:
            return
        origin = _origin(url)
        entry = self._robots_cached(origin)
        if entry is None:
            with self._lock:
                lock = self._robots_locks.setdefault(origin, threading.Lock())
            with lock:
                entry = self._robots_cached(origin)
                if entry is None:
                    entry = self._robots_store(url, *self._robots_get_sync(url, deadline, limit))
        self._robots_verdict(url, entry)

    async def _robots_check_async(self, url: str, deadline: float, limit: float) -> None:
        if not self.robots:
            return
        origin = _origin(url)
        entry = self._robots_cached(origin)
        if entry is None:
            state = await self._loop_state()
            lock = state.robots_locks.setdefault(origin, asyncio.Lock())
            async with lock:
                entry = self._robots_cached(origin)
                if entry is None:
                    got = await self._robots_get_async(url, deadline, limit)
                    entry = self._robots_store(url, *got)
        self._robots_verdict(url, entry)

    def _robots_get_sync(self, url: str, deadline: float, limit: float) -> tuple[int, bytes]:
        import httpx

        hop = _origin_url(url) + "/robots.txt"
        for _ in range(ROBOTS_MAX_REDIRECTS + 1):
            self._pace_sync(hop)
            remaining = max(deadline - time.monotonic(), 0.001)
            try:
                with self._sync_client().stream("GET", hop, timeout=remaining) as response:
                    target = _robots_redirect(response)
                    if target is None:
                        return response.status_code, _read_capped(response.iter_bytes())
            except httpx.HTTPError as exc:
                raise _robots_error(url, hop, exc, limit) from None
            hop = target
        return 404, b""  # a redirect chain without an end: treated as unavailable

    async def _robots_get_async(self, url: str, deadline: float, limit: float) -> tuple[int, bytes]:
        import httpx

        client = (await self._loop_state()).client
        hop = _origin_url(url) + "/robots.txt"
        for _ in range(ROBOTS_MAX_REDIRECTS + 1):
            await self._pace_async(hop)
            remaining = max(deadline - time.monotonic(), 0.001)
            try:
                async with client.stream("GET", hop, timeout=remaining) as response:
                    target = _robots_redirect(response)
                    if target is None:
                        chunks, size = [], 0
                        async for chunk in response.aiter_bytes():
                            chunks.append(chunk)
                            size += len(chunk)
                            if size >= ROBOTS_MAX_BYTES:
                                break
                        return response.status_code, b"".join(chunks)[:ROBOTS_MAX_BYTES]
            except httpx.HTTPError as exc:
                raise _robots_error(url, hop, exc, limit) from None
            hop = target
        return 404, b""


def _origin_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no user name or password: robots.txt is public)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2]}"


def _robots_redirect(response: httpx.Response) -> str | None:
    if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
        target = urljoin(str(response.url), response.headers["location"].strip())
        if urlsplit(target).scheme.lower() in SCHEMES:
            return target
    return None


def _read_capped(chunks: Iterable[bytes]) -> bytes:
    got, size = [], 0
    for chunk in chunks:
        got.append(chunk)
        size += len(chunk)
        if size >= ROBOTS_MAX_BYTES:
            break
    return b"".join(got)[:ROBOTS_MAX_BYTES]


def _robots_error(url: str, robots_url: str, exc: Exception, limit: float) -> FetchError:
    import httpx

    if isinstance(exc, httpx.TransportError):
        error, _ = _network_error(url, exc, limit)
        return NetworkError(url, f"robots.txt {robots_url}: {error.reason}")
    return FetchError(url, f"robots.txt {robots_url}: {exc}")


# ---------------------------------------------------------------------------------------------
# the browser


class Browser:
    """One headless Chromium, started on the first render and reused until :meth:`close`.

    The async Playwright API runs on a background thread with its own event loop: :meth:`render`
    (sync) and :meth:`arender` (async, from any loop) hand it coroutines, so threads, notebooks
    with a running loop and ``asyncio`` code share the one browser. Each render opens a new
    context (no cookies shared between pages). A browser that has crashed or disconnected is
    started again, once per render. ``browser_launches`` counts the starts; ``max_pages`` bounds
    the pages open at once. Closed by :meth:`close`, ``with``, or at interpreter exit.
    """

    def __init__(self, *, user_agent: str = USER_AGENT, max_pages: int = 4) -> None:
        self.user_agent = user_agent
        self.max_pages = max_pages
        self.browser_launches = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # the objects below are used on the browser thread only
        self._playwright: Any = None
        self._browser: Any = None
        self._launching: asyncio.Lock | None = None
        self._pages: asyncio.Semaphore | None = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    @property
    def running(self) -> bool:
        """Whether a Chromium is up (False before the first render and after close)."""
        return self._browser is not None and bool(self._browser.is_connected())

    def render(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        max_bytes: int = MAX_BODY_BYTES,
        asked: str | None = None,
    ) -> Fetched:
        """Load ``url`` and return its DOM after the load event (``Fetched.rendered`` is True)."""
        check_url(url)
        future = self._submit(self._render(url, timeout, max_bytes, asked or url))
        try:
            return future.result(timeout=timeout + LAUNCH_ALLOWANCE)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RenderError(url, f"the browser did not answer within {timeout:g} s") from None

    async def arender(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        max_bytes: int = MAX_BODY_BYTES,
        asked: str | None = None,
    ) -> Fetched:
        """The same as :meth:`render`, awaited from any event loop."""
        check_url(url)
        future = self._submit(self._render(url, timeout, max_bytes, asked or url))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout + LAUNCH_ALLOWANCE)
        except TimeoutError:
            raise RenderError(url, f"the browser did not answer within {timeout:g} s") from None

    def close(self) -> None:
        """Close the browser and stop its thread (a later render starts them again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        atexit.unregister(self.close)
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        except Exception:  # noqa: BLE001 - closing must not fail; the thread is stopped below
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()

    def _submit(self, coro: Coroutine[Any, Any, Fetched]) -> concurrent.futures.Future[Fetched]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="scrapec-browser", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                atexit.register(self.close)
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _ensure(self, url: str) -> Any:
        """The running Chromium, launched when there is none or it has died."""
        if self._launching is None:
            self._launching = asyncio.Lock()
            self._pages = asyncio.Semaphore(self.max_pages)
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._shutdown()
            options = launch_options()
            if not os.path.exists(options["executable_path"]):
                raise RenderError(
                    url,
                    f"rendering needs chromium at {options['executable_path']!r} "
                    "(apt-get install chromium, or set SCRAPEC_CHROMIUM)",
                )
            try:
                from playwright.async_api import Error as PlaywrightError
                from playwright.async_api import async_playwright
            except ImportError:  # pragma: no cover - playwright is a dependency
                raise RenderError(
                    url, "rendering needs playwright: pip install playwright"
                ) from None
            try:
                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(**options)
            except PlaywrightError as exc:
                await self._shutdown()
                raise RenderError(url, f"chromium did not start: {_first_line(exc)}") from None
            self.browser_launches += 1
            return self._browser

    async def _shutdown(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        for close in (browser and browser.close, playwright and playwright.stop):
            if close:
                try:
                    await close()
                except Exception:  # noqa: BLE001 - a dead browser may not close cleanly
                    pass

    async def _render(self, url: str, timeout: float, max_bytes: int, asked: str) -> Fetched:
        from playwright.async_api import Error as PlaywrightError

        started = time.monotonic()
        browser = await self._ensure(url)
        assert self._pages is not None
        async with self._pages:
            try:
                return await self._load(browser, url, timeout, max_bytes, asked, started)
            except PlaywrightError as exc:
                if browser.is_connected() and not _CRASHED.search(str(exc)):
                    raise _render_error(url, exc, timeout) from None
            browser = await self._ensure(url)  # crashed under the page: start again, once
            try:
                return await self._load(browser, url, timeout, max_bytes, asked, started)
            except PlaywrightError as exc:
                raise _render_error(url, exc, timeout) from None

    async def _load(
        self, browser: Any, url: str, timeout: float, max_bytes: int, asked: str, started: float
    ) -> Fetched:
        context = await browser.new_context(user_agent=self.user_agent)
        try:
            page = await context.new_page()
            response = await page.goto(url, wait_until="load", timeout=timeout * 1000)
            status = response.status if response is not None else 200
            headers = await response.all_headers() if response is not None else {}
            content_type = headers.get("content-type", "text/html")
            if status >= 400:
                raise HTTPStatusError(url, status)
            _check_type(url, content_type, None)
            remaining = max(timeout - (time.monotonic() - started), 0.001)
            try:
                html = await asyncio.wait_for(page.content(), remaining)
            except TimeoutError:
                raise RenderError(
                    url, f"the page did not finish rendering within {timeout:g} s"
                ) from None
            final_url = page.url
        finally:
            try:
                await context.close()
            except Exception:  # noqa: BLE001 - the browser may be gone; the page is done with
                pass
        check_url(final_url)
        body = html.encode("utf-8")
        if len(body) > max_bytes:
            raise PageTooLarge(url, max_bytes)
        return Fetched(
            url=asked,
            final_url=final_url,
            status=status,
            body=body,
            encoding="utf-8",
            content_type=content_type,
            rendered=True,
            seconds=time.monotonic() - started,
        )


LAUNCH_ALLOWANCE = 60.0  # beyond a render's timeout, for starting Chromium and queueing
# what Playwright says when the browser (or the page's renderer) died under a call
_CRASHED = re.compile(r"has been closed|crash|disconnected|Target closed", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _render_error(url: str, exc: Exception, timeout: float) -> FetchError:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    if isinstance(exc, PlaywrightTimeout):
        return RenderError(url, f"the page did not finish loading within {timeout:g} s")
    line = _first_line(exc)
    found = re.search(r"net::(ERR_[A-Z_]+)", line)
    if found and found.group(1) in _NET_ERRORS:
        return NetworkError(
            url, f"{_NET_ERRORS[found.group(1)]} ({found.group(1)}, in the browser)"
        )
    return RenderError(url, f"rendering failed: {line}")


_NET_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "cannot resolve host",
    "ERR_CONNECTION_REFUSED": "connection refused",
    "ERR_CONNECTION_RESET": "connection reset",
    "ERR_CONNECTION_CLOSED": "connection closed",
    "ERR_CONNECTION_TIMED_OUT": "connect timed out",
    "ERR_TIMED_OUT": "timed out",
    "ERR_ADDRESS_UNREACHABLE": "address unreachable",
    "ERR_INTERNET_DISCONNECTED": "no network",
    "ERR_EMPTY_RESPONSE": "empty response",
    "ERR_CERT_AUTHORITY_INVALID": "TLS failure",
    "ERR_SSL_PROTOCOL_ERROR": "TLS failure",
}


# ---------------------------------------------------------------------------------------------
# the module functions: one process-wide Fetcher (and through it one Browser)

_default: Fetcher | None = None
_default_lock = threading.Lock()


def default_fetcher() -> Fetcher:
    """The process-wide Fetcher behind :func:`fetch` and :func:`afetch` (library defaults:
    no robots.txt, no delay). Its ``browser`` is the one Chromium every render reuses."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Fetcher()
        return _default


def fetch(
    url: str, *, render: bool = False, timeout: float = 30.0, max_bytes: int = MAX_BODY_BYTES
) -> Fetched:
    """GET ``url`` (rendered in headless Chromium with ``render=True``) with the default Fetcher."""
    return default_fetcher().fetch(url, render=render, timeout=timeout, max_bytes=max_bytes)


async def afetch(
    url: str, *, render: bool = False, timeout: float = 30.0, max_bytes: int = MAX_BODY_BYTES
) -> Fetched:
    """:func:`fetch`, awaited."""
    return await default_fetcher().afetch(url, render=render, timeout=timeout, max_bytes=max_bytes)
