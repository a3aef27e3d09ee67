"""crawler.fetch against a real HTTP server on 127.0.0.1 (and real Chromium for renders)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

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
from crawler.fetch import USER_AGENT, Browser, Fetched, Fetcher, afetch, fetch

CP1251_PAGE = '<html><head><meta charset="windows-1251"><title>Т</title></head><body>Привет, мир</body></html>'
HUGE = 50 * 10**6
CHUNK = b"<p>" + b"x" * 65533


class Site:
    """A test site: fixed routes, a request log, in-flight counts and a robots.txt to set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[float, str]] = []
        self.agents: list[str] = []
        self.inflight = 0
        self.max_inflight = 0
        self.sent: dict[str, int] = {}
        self.cut: dict[str, bool] = {}
        self.done: dict[str, threading.Event] = {}
        self.release = threading.Event()
        self.robots: tuple[int, str] | None = None  # None: 404
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with site.lock:
                    site.hits[self.path] += 1
                    site.log.append((time.monotonic(), self.path))
                    site.agents.append(self.headers.get("User-Agent", ""))
                    site.inflight += 1
                    site.max_inflight = max(site.max_inflight, site.inflight)
                try:
                    site.route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with site.lock:
                        site.inflight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        if path == "/robots.txt":
            if self.robots is None:
                return reply(h, 404, b"no robots here", "text/plain")
            status, text = self.robots
            return reply(h, status, text.encode(), "text/plain")
        if path == "/page" or path.startswith(("/private", "/open")):
            return reply(h, 200, b"<html><body><p>hello</p></body></html>")
        if path == "/cp1251":
            return reply(h, 200, CP1251_PAGE.encode("cp1251"), "text/html")
        if path == "/bom":
            return reply(h, 200, b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "text/html; charset=iso-8859-1")
        if path in ("/404", "/500"):
            return reply(h, int(path[1:]), b"<p>error page</p>")
        if path.startswith("/flaky"):  # 503 the first time, then the page
            if self.hits[path] == 1:
                return reply(h, 503, b"busy", headers={"Retry-After": "0"})
            return reply(h, 200, b"<p>second time lucky</p>")
        if path == "/retry-soon":  # 429 asking for one second, then the page
            if self.hits[path] == 1:
                return reply(h, 429, b"slow down", headers={"Retry-After": "1"})
            return reply(h, 200, b"<p>thanks for waiting</p>")
        if path == "/retry-later":
            return reply(h, 429, b"slow down", headers={"Retry-After": "3600"})
        if path == "/always-503":
            return reply(h, 503, b"down")
        if path.startswith("/loop/"):
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            return reply(h, 302, b"", headers={"Location": other})
        if path == "/to-file":
            return reply(h, 302, b"", headers={"Location": "file:///etc/passwd"})
        if path == "/hop":
            return reply(h, 301, b"", headers={"Location": "/page"})
        types = {
            "/pdf": ("application/pdf", b"%PDF-1.7\n"),
            "/png": ("image/png", b"\x89PNG\r\n\x1a\n"),
            "/json": ("application/json; charset=utf-8", b'{"name": "x"}'),
            "/octet": ("application/octet-stream", b"\x00\x01"),
            "/bare-pdf": ("", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
            "/bare-html": ("", b"  <!DOCTYPE html><html><body><p>hi</p></body></html>"),
            "/plain-text": ("text/plain", b"just words, no markup"),
        }
        if path in types:
            kind, head = types[path]
            if path in ("/pdf", "/png"):  # a big body: it must not be read
                return self.stream(h, path, kind, head, 20 * 10**6, declare=True)
            return reply(h, 200, head, kind)
        if path == "/huge":
            return self.stream(h, path, "text/html", b"<html><body>", HUGE, declare=False)
        if path == "/huge-declared":
            return self.stream(h, path, "text/html", b"<html><body>", HUGE, declare=True)
        if path == "/slow":
            self.release.wait(10)
            return reply(h, 200, b"<p>late</p>")
        if path == "/trickle":
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.end_headers()
            for _ in range(200):
                if self.release.wait(0.1):
                    break
                h.wfile.write(b"x")
                h.wfile.flush()
            return None
        if path.startswith("/item/"):
            time.sleep(0.1)
            return reply(h, 200, f"<p>{path}</p>".encode())
        if path == "/js":
            return reply(
                h,
                200,
                b"<html><body><div id='out'></div><script>"
                b"document.getElementById('out').textContent = 'written by ' + 'script';"
                b"</script></body></html>",
            )
        if path == "/never":
            return reply(
                h, 200, b"<html><body><p>almost</p><script src='/hang'></script></body></html>"
            )
        if path == "/hang":
            self.release.wait(60)
            return reply(h, 200, b"", "application/javascript")
        return reply(h, 404, b"<p>not found</p>")

    def stream(
        self, h: BaseHTTPRequestHandler, path: str, kind: str, head: bytes, size: int, declare: bool
    ) -> None:
        """Send ``size`` bytes, counting what the socket took until the client hung up."""
        done = self.done.setdefault(path, threading.Event())
        sent = 0
        try:
            h.send_response(200)
            h.send_header("Content-Type", kind)
            if declare:
                h.send_header("Content-Length", str(size))
            h.end_headers()
            h.wfile.write(head)
            sent = len(head)
            while sent < size:
                h.wfile.write(CHUNK)
                sent += len(CHUNK)
            self.cut[path] = False
        except (BrokenPipeError, ConnectionResetError):
            self.cut[path] = True
        finally:
            self.sent[path] = sent
            done.set()

    def wait_done(self, path: str) -> None:
        event = self.done.setdefault(path, threading.Event())
        assert event.wait(10), f"the server did not finish sending {path}"


def reply(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    kind: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    if kind:
        h.send_header("Content-Type", kind)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(backoff=0.05) as f:
        yield f


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# what a fetch returns


def test_fetched_carries_the_page_and_how_to_decode_it(site: Site, fetcher: Fetcher) -> None:
    got = fetcher.fetch(site.url + "/hop")
    assert isinstance(got, Fetched) and not got.rendered
    assert got.url == site.url + "/hop" and got.final_url == site.url + "/page"
    assert got.status == 200 and got.body == b"<html><body><p>hello</p></body></html>"
    assert got.encoding == "utf-8" and got.content_type == "text/html; charset=utf-8"
    assert 0 < got.seconds < 5
    assert site.agents[-1] == USER_AGENT == "scrapec/0.1 (+https://scrapec.dev)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.body = b""  # type: ignore[misc]


def test_charset_only_in_meta_is_used(site: Site, fetcher: Fetcher) -> None:
    got = fetcher.fetch(site.url + "/cp1251")
    assert got.encoding == "cp1251" and got.body == CP1251_PAGE.encode("cp1251")
    assert "Привет, мир" in got.text


def test_a_bom_beats_the_http_charset(site: Site, fetcher: Fetcher) -> None:
    got = fetcher.fetch(site.url + "/bom")
    assert got.encoding == "utf-8" and "café" in got.text


def test_the_module_functions_share_one_fetcher(site: Site) -> None:
    assert fetch(site.url + "/cp1251").encoding == "cp1251"
    got = asyncio.run(afetch(site.url + "/cp1251"))
    assert got.encoding == "cp1251" and "Привет" in got.text


# ---------------------------------------------------------------------------------------------
# statuses, retries, redirects


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_status_raises_with_the_status(site: Site, fetcher: Fetcher, status: int) -> None:
    url = f"{site.url}/{status}"
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(url)
    assert info.value.status == status and info.value.url == url and url in str(info.value)
    assert site.hits[f"/{status}"] == 1  # neither is retried


def test_503_then_200_is_retried(site: Site, fetcher: Fetcher) -> None:
    got = fetcher.fetch(site.url + "/flaky/1")
    assert got.body == b"<p>second time lucky</p>" and site.hits["/flaky/1"] == 2
    got = asyncio.run(fetcher.afetch(site.url + "/flaky/2"))
    assert got.status == 200 and site.hits["/flaky/2"] == 2


def test_retries_are_bounded(site: Site) -> None:
    with Fetcher(retries=2, backoff=0.05) as f, pytest.raises(HTTPStatusError) as info:
        f.fetch(site.url + "/always-503")
    assert info.value.status == 503 and site.hits["/always-503"] == 3


def test_a_retry_after_is_waited_for(site: Site, fetcher: Fetcher) -> None:
    started = time.monotonic()
    assert fetcher.fetch(site.url + "/retry-soon").body == b"<p>thanks for waiting</p>"
    assert site.hits["/retry-soon"] == 2 and time.monotonic() - started >= 1.0


def test_a_retry_after_beyond_the_cap_ends_the_call(site: Site) -> None:
    started = time.monotonic()
    with Fetcher(retry_after_cap=5) as f, pytest.raises(HTTPStatusError) as info:
        f.fetch(site.url + "/retry-later")
    assert info.value.status == 429 and "3600" in info.value.reason
    assert site.hits["/retry-later"] == 1 and time.monotonic() - started < 2


def test_a_redirect_loop_raises_too_many_redirects(site: Site, fetcher: Fetcher) -> None:
    url = site.url + "/loop/a"
    with pytest.raises(TooManyRedirects) as info:
        fetcher.fetch(url)
    assert info.value.url == url and "redirect loop" in info.value.reason
    assert site.hits["/loop/a"] + site.hits["/loop/b"] == 11  # the request and 10 redirects
    with pytest.raises(TooManyRedirects):
        asyncio.run(fetcher.afetch(url))


def test_a_redirect_off_http_is_bad_input_naming_both_urls(site: Site, fetcher: Fetcher) -> None:
    url = site.url + "/to-file"
    for call in (lambda: fetcher.fetch(url), lambda: asyncio.run(fetcher.afetch(url))):
        with pytest.raises(BadInput) as info:
            call()
        assert repr(url) in str(info.value) and "'file:///etc/passwd'" in str(info.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http:///x", "page"])
def test_a_url_that_is_not_http_is_bad_input(url: str, fetcher: Fetcher) -> None:
    with pytest.raises(BadInput, match="only http|without a host"):
        fetcher.fetch(url)


def test_bad_options_are_bad_input() -> None:
    with pytest.raises(BadInput, match="timeout must be positive, not 0"):
        Fetcher(timeout=0)
    with pytest.raises(BadInput, match="per_host must be at least 1, not 0"):
        Fetcher(per_host=0)


# ---------------------------------------------------------------------------------------------
# what is not an HTML page


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/pdf", "application/pdf"),
        ("/png", "image/png"),
        ("/json", "application/json; charset=utf-8"),
        ("/octet", "application/octet-stream"),
    ],
)
def test_declared_non_html_raises_not_html(
    site: Site, fetcher: Fetcher, path: str, kind: str
) -> None:
    with pytest.raises(NotHTML) as info:
        fetcher.fetch(site.url + path)
    assert info.value.content_type == kind and info.value.url == site.url + path
    if path in ("/pdf", "/png"):  # refused on its headers: the 20 MB body was not read
        site.wait_done(path)
        assert site.cut[path] and site.sent[path] < 20 * 10**6


def test_a_missing_or_odd_type_is_sniffed(site: Site, fetcher: Fetcher) -> None:
    with pytest.raises(NotHTML) as info:
        fetcher.fetch(site.url + "/bare-pdf")
    assert "application/pdf" in info.value.reason and info.value.content_type == "(none)"
    assert b"<p>hi</p>" in fetcher.fetch(site.url + "/bare-html").body
    with pytest.raises(NotHTML, match="no HTML at the start"):
        fetcher.fetch(site.url + "/plain-text")


# ---------------------------------------------------------------------------------------------
# size and time limits, network failures


def test_a_50_mb_page_is_cut_at_the_limit(site: Site, fetcher: Fetcher) -> None:
    with pytest.raises(PageTooLarge) as info:
        fetcher.fetch(site.url + "/huge")
    assert info.value.limit == 32 * 2**20
    site.wait_done("/huge")
    assert site.cut["/huge"], "the server sent all 50 MB"
    assert site.sent["/huge"] < 45 * 10**6  # the limit plus what socket buffers hold
    with pytest.raises(PageTooLarge) as info:  # a Content-Length over the limit: refused unread
        fetcher.fetch(site.url + "/huge-declared", max_bytes=1_000_000)
    assert info.value.limit == 1_000_000
    site.wait_done("/huge-declared")
    assert site.cut["/huge-declared"] and site.sent["/huge-declared"] < 20 * 10**6


def test_the_async_path_cuts_too(site: Site, fetcher: Fetcher) -> None:
    with pytest.raises(PageTooLarge):
        asyncio.run(fetcher.afetch(site.url + "/huge", max_bytes=2_000_000))
    site.wait_done("/huge")
    assert site.cut["/huge"] and site.sent["/huge"] < 20 * 10**6


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_a_slow_server_fails_within_the_timeout(site: Site, fetcher: Fetcher, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        fetcher.fetch(site.url + path, timeout=1.0)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.8 and "timed out after 1 s" in info.value.reason
    started = time.monotonic()
    with pytest.raises(NetworkError):
        asyncio.run(fetcher.afetch(site.url + path, timeout=1.0))
    assert time.monotonic() - started < 1.8


def test_a_refused_connection_is_a_network_error(fetcher: Fetcher) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        fetcher.fetch(url)
    assert "refused" in info.value.reason and info.value.url == url
    assert time.monotonic() - started < 2  # two quick retries with a short backoff
    with pytest.raises(NetworkError, match="refused"):
        asyncio.run(fetcher.afetch(url))


def test_a_host_that_does_not_resolve_fails_quickly(fetcher: Fetcher) -> None:
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        fetcher.fetch("http://nowhere.invalid/")
    assert "cannot resolve host 'nowhere.invalid'" in info.value.reason
    assert time.monotonic() - started < 2  # a DNS failure is not retried
    with pytest.raises(NetworkError, match="cannot resolve"):
        asyncio.run(fetcher.afetch("http://nowhere.invalid/"))


def test_tls_to_a_plain_http_server_is_a_network_error(site: Site, fetcher: Fetcher) -> None:
    url = site.url.replace("http://", "https://") + "/page"
    with pytest.raises(NetworkError, match="TLS failure"):
        fetcher.fetch(url)


def test_every_fetch_failure_is_a_fetch_error(site: Site, fetcher: Fetcher) -> None:
    for path in ("/404", "/loop/a", "/pdf"):
        with pytest.raises(FetchError):
            fetcher.fetch(site.url + path)


# ---------------------------------------------------------------------------------------------
# robots.txt, politeness, concurrency


def test_robots_disallow_raises_and_is_fetched_once(site: Site) -> None:
    site.robots = (200, "User-agent: *\nDisallow: /private\n")
    with Fetcher(robots=True) as f:
        with pytest.raises(RobotsDisallowed) as info:
            f.fetch(site.url + "/private/x")
        assert info.value.url == site.url + "/private/x" and "robots.txt" in info.value.reason
        assert f.fetch(site.url + "/open").status == 200
        assert f.fetch(site.url + "/page").status == 200
        with pytest.raises(RobotsDisallowed):
            asyncio.run(f.afetch(site.url + "/private/y"))
        assert asyncio.run(f.afetch(site.url + "/open")).status == 200
    assert site.hits["/robots.txt"] == 1 and site.hits["/private/x"] == 0


def test_robots_rules_name_scrapec(site: Site) -> None:
    site.robots = (200, "User-agent: scrapec\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    with Fetcher(robots=True) as f, pytest.raises(RobotsDisallowed):
        f.fetch(site.url + "/page")
    with Fetcher(robots=False) as f:  # off: robots.txt is not even asked for
        assert f.fetch(site.url + "/page").status == 200
    assert site.hits["/robots.txt"] == 1


def test_a_missing_robots_txt_allows_all(site: Site) -> None:
    with Fetcher(robots=True) as f:
        assert f.fetch(site.url + "/private/x").status == 200
    assert site.hits["/robots.txt"] == 1


def test_a_5xx_robots_txt_disallows_all(site: Site) -> None:
    site.robots = (503, "down")
    with Fetcher(robots=True) as f, pytest.raises(RobotsDisallowed) as info:
        f.fetch(site.url + "/page")
    assert "HTTP 503" in info.value.reason and "disallow all" in info.value.reason
    assert site.hits["/page"] == 0


def test_a_5xx_robots_txt_is_asked_again_after_a_while(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crawler.fetch

    monkeypatch.setattr(crawler.fetch, "ROBOTS_ERROR_TTL", 0.3)
    site.robots = (500, "oops")
    with Fetcher(robots=True) as f:
        with pytest.raises(RobotsDisallowed):
            f.fetch(site.url + "/page")
        with pytest.raises(RobotsDisallowed):  # still within the 0.3 s: not asked again
            f.fetch(site.url + "/page")
        assert site.hits["/robots.txt"] == 1
        site.robots = (200, "User-agent: *\nAllow: /\n")
        time.sleep(0.35)
        assert f.fetch(site.url + "/page").status == 200
    assert site.hits["/robots.txt"] == 2


def test_concurrent_fetches_ask_for_robots_txt_once(site: Site) -> None:
    site.robots = (200, "User-agent: *\nDisallow: /private\n")

    async def many() -> list[Fetched | BaseException]:
        async with Fetcher(robots=True) as f:
            urls = [f"{site.url}/item/{i}" for i in range(6)] + [site.url + "/private/z"]
            return await asyncio.gather(*(f.afetch(u) for u in urls), return_exceptions=True)

    got = asyncio.run(many())
    assert all(isinstance(g, Fetched) for g in got[:6]) and isinstance(got[6], RobotsDisallowed)
    assert site.hits["/robots.txt"] == 1


def test_delay_spaces_requests_to_one_host(site: Site) -> None:
    with Fetcher(delay=0.3) as f:
        f.fetch(site.url + "/page")
        f.fetch(site.url + "/open")

        async def three() -> None:
            await asyncio.gather(*(f.afetch(f"{site.url}/item/{i}") for i in range(3)))

        asyncio.run(three())
    times = [t for t, _ in site.log]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # starts are 0.3 s apart at the client; the server's clock adds its threads' scheduling
    assert len(gaps) == 4 and min(gaps) >= 0.25 and times[-1] - times[0] >= 1.15, gaps


def test_per_host_bounds_requests_in_flight_async(site: Site) -> None:
    async def twenty() -> list[Fetched]:
        async with Fetcher(per_host=2) as f:
            return await asyncio.gather(*(f.afetch(f"{site.url}/item/{i}") for i in range(20)))

    started = time.monotonic()
    got = asyncio.run(twenty())
    elapsed = time.monotonic() - started
    assert [g.body for g in got] == [f"<p>/item/{i}</p>".encode() for i in range(20)]
    assert site.max_inflight == 2, site.max_inflight
    assert elapsed >= 0.95  # 20 requests of 0.1 s, two at a time


def test_the_sync_fetcher_is_thread_safe_and_bounded(site: Site) -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []
    with Fetcher(per_host=3) as f:

        def work(i: int) -> None:
            try:
                results.append(f.fetch(f"{site.url}/item/{i}").body)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and len(results) == 12 and 2 <= site.max_inflight <= 3


def test_one_fetcher_serves_one_event_loop_after_another(site: Site) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = Fetcher()
        for _ in range(3):
            assert asyncio.run(f.afetch(site.url + "/page")).status == 200
        f.close()
        del f
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_fetch_does_not_import_playwright(site: Site) -> None:
    code = (
        "import asyncio, sys\n"
        "from crawler.fetch import Fetcher, afetch, fetch\n"
        f"assert fetch({site.url + '/page'!r}).status == 200\n"
        f"assert asyncio.run(afetch({site.url + '/page'!r})).status == 200\n"
        f"assert Fetcher(robots=True).fetch({site.url + '/page'!r}).status == 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('playwright', 'litellm')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.replace("'", '"')) == []


# ---------------------------------------------------------------------------------------------
# the browser

CHROMIUM = os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM}")
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            mp.setenv(name, str(home / name.lower()))
        with Browser() as b:
            yield b


@pytest.mark.browser
def test_a_render_returns_the_dom_the_script_wrote(site: Site, browser: Browser) -> None:
    with Fetcher(browser=browser) as f:
        static = f.fetch(site.url + "/js")
        got = f.fetch(site.url + "/js", render=True)
    assert b"written by script" not in static.body
    assert got.rendered and got.status == 200 and got.encoding == "utf-8"
    assert '<div id="out">written by script</div>' in got.text
    assert got.url == got.final_url == site.url + "/js"
    assert site.agents[-1] == USER_AGENT
    assert browser.running  # the Fetcher did not own the browser: it is still up


@pytest.mark.browser
def test_three_renders_one_browser_launch(site: Site, browser: Browser) -> None:
    before = browser.browser_launches
    with Fetcher(browser=browser) as f:
        for path in ("/js", "/page", "/cp1251"):
            assert f.fetch(site.url + path, render=True).rendered
    assert browser.browser_launches == max(before, 1)
    rendered = browser.render(site.url + "/cp1251")
    assert "Привет, мир" in rendered.text  # Chromium decoded by the meta charset


@pytest.mark.browser
def test_sync_and_async_renders_share_the_browser(site: Site, browser: Browser) -> None:
    browser.render(site.url + "/page")
    launches = browser.browser_launches

    async def renders() -> list[Fetched]:
        async with Fetcher(browser=browser) as f:
            return await asyncio.gather(
                browser.arender(site.url + "/js"),
                f.afetch(site.url + "/js", render=True),
                f.afetch(site.url + "/page", render=True),
            )

    got = asyncio.run(renders())
    assert all(g.rendered for g in got) and "written by script" in got[1].text
    assert browser.browser_launches == launches


@pytest.mark.browser
def test_a_page_that_never_loads_raises_render_error(site: Site, browser: Browser) -> None:
    url = site.url + "/never"
    started = time.monotonic()
    with pytest.raises(RenderError) as info:
        browser.render(url, timeout=2.0)
    elapsed = time.monotonic() - started
    assert info.value.url == url and "within 2 s" in info.value.reason
    assert 1.9 < elapsed < 6, elapsed


@pytest.mark.browser
def test_render_failures_are_typed(site: Site, browser: Browser) -> None:
    with pytest.raises(HTTPStatusError) as info:
        browser.render(site.url + "/404")
    assert info.value.status == 404
    with pytest.raises(NetworkError, match="refused"):
        browser.render(f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(BadInput):
        browser.render("file:///etc/passwd")


@pytest.mark.browser
def test_a_crashed_browser_is_started_again(site: Site, browser: Browser) -> None:
    browser.render(site.url + "/page")
    launches = browser.browser_launches
    pids = chromium_pids()
    assert pids, "no Chromium found below this process"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # the Chromium this test process started
    got = browser.render(site.url + "/js")  # at once: the browser may not know it is dead yet
    assert "written by script" in got.text and browser.browser_launches == launches + 1


@pytest.mark.browser
def test_close_stops_the_browser_and_a_later_render_starts_it(site: Site) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM}")
    before = set(chromium_pids())
    b = Browser()
    b.render(site.url + "/page")
    mine = set(chromium_pids()) - before
    assert b.running and b.browser_launches == 1 and len(mine) == 1
    b.close()
    assert not b.running and not mine & set(chromium_pids())
    b.render(site.url + "/page")
    assert b.browser_launches == 2
    b.close()


def chromium_pids() -> list[int]:
    """The main processes of the Chromiums running below this process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents[int(entry.name)] = ppid
        names[int(entry.name)] = name
    me = os.getpid()

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == me:
                return True
        return False

    found = [p for p, n in names.items() if n.startswith("chrom") and below(p)]
    return [p for p in found if not names.get(parents.get(p, 0), "").startswith("chrom")]
