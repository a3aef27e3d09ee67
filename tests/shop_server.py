"""A tiny shop on 127.0.0.1 for crawl tests: a listing and product pages whose layout can change."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conftest import product_page


class ShopServer:
    def __init__(self, products: int = 30, redesign_after: int | None = None) -> None:
        self.products = products
        self.redesign_after = redesign_after  # product pages served before the layout changes
        self.served = 0
        self.lock = threading.Lock()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body = shop.render(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def render(self, path: str) -> tuple[int, bytes]:
        if path in ("/", "/index.html"):
            links = "".join(
                f'<li><a href="/p/{i}.html">P{i}</a></li>' for i in range(1, self.products + 1)
            )
            return 200, f"<html><body><ul class='listing'>{links}</ul></body></html>".encode()
        if path.startswith("/p/") and path.endswith(".html"):
            try:
                i = int(path[3:-5])
            except ValueError:
                return 404, b"not found"
            with self.lock:
                self.served += 1
                layout = (
                    "b"
                    if self.redesign_after is not None and self.served > self.redesign_after
                    else "a"
                )
            return 200, product_page(i, layout).encode()
        if path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n"
        return 404, b"not found"

    def __enter__(self) -> ShopServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
