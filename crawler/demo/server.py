"""Serve a :class:`~crawler.demo.site.DemoSite` over HTTP on 127.0.0.1, in a background thread.

``GET`` (and ``HEAD``) serve ``site.render(path)``. ``POST /admin/redesign?on=1`` (or ``on=0``)
flips the shop redesign, so another process can change the layout mid-crawl; ``GET
/admin/redesign`` reports it. The server only ever binds 127.0.0.1 and logs nothing per request.

    python -m crawler.demo.server --port 8765 [--seed 7] [--redesign]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from crawler.demo.site import DemoSite

__all__ = ["DemoServer", "Site", "main"]

HOST = "127.0.0.1"
ADMIN_REDESIGN = "/admin/redesign"


class Site(Protocol):
    """What the server serves: :class:`DemoSite`, :class:`~crawler.demo.first.FirstSite`."""

    base_url: str
    redesign: bool
    seed: int

    def render(self, path: str) -> tuple[Any, ...]:
        """(status, content type, body[, headers])."""
        ...


class _Handler(BaseHTTPRequestHandler):
    server_version = "scrapec-demo/0.1"
    site: Site  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: no line per request on stderr."""

    def _send(
        self,
        status: int,
        ctype: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _admin(self) -> tuple[int, str, bytes]:
        state = {"redesign": self.site.redesign, "seed": self.site.seed}
        return 200, "application/json", json.dumps(state).encode("utf-8")

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if urlsplit(self.path).path == ADMIN_REDESIGN:
            self._send(*self._admin())
        else:
            self._send(*self.site.render(self.path))

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._send(*self.site.render(self.path), head=True)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        if parts.path != ADMIN_REDESIGN:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")
            return
        value = parse_qs(parts.query).get("on", ["1"])[0].strip().lower()
        if value not in ("0", "1", "true", "false", "on", "off"):
            self._send(400, "text/plain; charset=utf-8", b"on must be 1 or 0\n")
            return
        self.site.redesign = value in ("1", "true", "on")
        self._send(*self._admin())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-response (a browser dropping a request it no longer
        needs) is normal traffic, not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class DemoServer:
    """A demo site served on ``127.0.0.1:port`` (``port=0``: a free port) in a daemon thread.

    Starting sets ``site.base_url`` to the server's address, so true items carry URLs that work.

    >>> import urllib.request
    >>> with DemoServer(DemoSite()) as server:
    ...     urllib.request.urlopen(server.base_url + "/").status
    200
    """

    def __init__(self, site: Site | None = None, host: str = HOST, port: int = 0) -> None:
        if host not in (HOST, "localhost"):
            raise ValueError(f"the demo server only binds {HOST}, not {host!r}")
        self.site = site if site is not None else DemoSite()
        self.host = HOST
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the real port once started)."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        handler = type("DemoHandler", (_Handler,), {"site": self.site})
        self._httpd = _Server((self.host, self.port), handler)
        self.port = int(self._httpd.server_address[1])
        self.site.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"demo-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.server", description="Serve the scrapec demo sites."
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--redesign", action="store_true", help="start with the shop redesign on")
    args = parser.parse_args(argv)
    server = DemoServer(DemoSite(seed=args.seed, redesign=args.redesign), port=args.port)
    server.start()
    print(
        f"serving the demo sites at {server.base_url}/ (seed {args.seed}); "
        f"POST {server.base_url}{ADMIN_REDESIGN}?on=1 flips the shop redesign; Ctrl-C stops",
        flush=True,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
