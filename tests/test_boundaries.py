"""Boundaries: only http(s) is fetched or followed, URL fields are http(s), odd text is stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, product_page, setup_registry, write_fixtures
from shop_server import ShopServer

from crawler import extract_html
from crawler.checks import grounding_errors, url_error
from crawler.compiler import compile_template
from crawler.exceptions import BadInput
from crawler.fetch import fetch
from crawler.parsing import Page
from crawler.schemas import load_schema

T = "shop.test/product"


# ---------------------------------------------------------------------------------------------
# the spider follows only http(s) links


class LinkingShop(ShopServer):
    """The test shop whose listing also links to a local file and to an FTP URL of its own
    host:port, and which records every path it was asked for."""

    def __init__(self, secret: Path) -> None:
        super().__init__(30)
        self.secret = secret
        self.paths: list[str] = []

    def render(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            self.paths.append(path)
        status, body = super().render(path)
        if path in ("/", "/index.html"):
            port = self.httpd.server_address[1]
            links = (
                f'<a href="file://127.0.0.1:{port}{self.secret}">file</a>'
                f'<a href="ftp://127.0.0.1:{port}/pub/p/99.html">ftp</a>'
                f'<a href="FILE://127.0.0.1:{port}/etc/passwd">upper</a>'
            )
            body = body.replace(b"</ul>", links.encode() + b"</ul>")
        return status, body


def scrapy_stats(stderr: str) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in re.findall(r"'([a-z_/]+[a-z_0-9/]*)': (\d+(?:\.\d+)?)", stderr)
    }


@pytest.mark.slow
def test_spider_follows_no_file_or_ftp_link_of_its_own_host(tmp_path: Path) -> None:
    secret = tmp_path / "secret" / "99.html"  # a product page on disk: fetched, it would be an item
    secret.parent.mkdir()
    secret.write_text(product_page(99).replace("Acme", "TOPSECRET"), "utf-8")
    with LinkingShop(secret) as shop:
        setup_registry(tmp_path, shop.url)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "site",
                "-a",
                f"start_url={shop.url}/",
                "-a",
                "schema=product",
                "-s",
                f"SCRAPEC_REGISTRY={tmp_path / 'reg'}",
                "-s",
                f"SCRAPEC_FIXTURES={tmp_path / 'fx'}",
                "-s",
                "LOG_LEVEL=DEBUG",
                "-O",
                str(tmp_path / "items.jsonl"),
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path / "home")),
            capture_output=True,
            text=True,
            timeout=300,
        )
        served = list(shop.paths)
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert len(items) == 30 and all(item.get("brand") == "Acme" for item in items)
    stats = scrapy_stats(proc.stderr)
    assert stats["scrapec/links_refused/scheme"] == 3
    # every request the crawl made reached the shop: none went to a file or an FTP server
    assert stats["downloader/request_count"] == len(served)
    assert not re.search(r"<GET (file|ftp|FILE)://", proc.stderr)
    written = [
        p.read_text("utf-8", "replace") for p in (tmp_path / "reg").rglob("*") if p.is_file()
    ]
    assert not any("TOPSECRET" in text for text in written)


# ---------------------------------------------------------------------------------------------
# fetch refuses anything but http(s), redirects included, and reads a bounded body


@pytest.fixture
def web() -> Iterator[str]:
    """A server on 127.0.0.1: ``/page``, ``/to-ftp`` and ``/to-file`` (redirects), ``/big``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            targets = {"/to-ftp": "ftp://127.0.0.1/pub/x", "/to-file": "file:///etc/passwd"}
            if self.path in targets:
                self.send_response(302)
                self.send_header("Location", targets[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"<p>hello</p>" * (100_000 if self.path == "/big" else 1)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://127.0.0.1/etc/passwd",
        "ftp://127.0.0.1/pub/x",
        "data:text/html,<p>hi</p>",
        "/etc/passwd",
        "http:///etc/passwd",
    ],
)
def test_fetch_refuses_what_is_not_http_in_one_line_naming_the_url(url: str) -> None:
    with pytest.raises(BadInput) as info:
        fetch(url)
    message = str(info.value)
    assert repr(url) in message and "\n" not in message


def test_fetch_reads_http_with_any_case_of_scheme(web: str) -> None:
    body, final, charset = fetch(web.replace("http", "HTTP", 1) + "/page")
    assert body == b"<p>hello</p>" and charset == "utf-8" and final.endswith("/page")


@pytest.mark.parametrize(("path", "target"), [("/to-ftp", "ftp://"), ("/to-file", "file://")])
def test_fetch_follows_no_redirect_off_http(web: str, path: str, target: str) -> None:
    with pytest.raises(BadInput) as info:
        fetch(web + path)
    message = str(info.value)
    assert repr(web + path) in message and "redirected (302)" in message and target in message
    assert "\n" not in message


def test_fetch_reads_no_more_than_its_limit(web: str) -> None:
    with pytest.raises(BadInput, match="larger than 100000 bytes"):
        fetch(web + "/big", max_bytes=100_000)
    body, _, _ = fetch(web + "/big", max_bytes=2_000_000)
    assert len(body) == 1_200_000


# ---------------------------------------------------------------------------------------------
# URL fields accept only http(s), or what the schema allows

PAGE = Page('<html><body><h1>Oak Desk</h1><img src="/d.png"></body></html>', "http://x.test/d")


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed (only http, https)"),
        ("ftp://x.test/d.png", "scheme 'ftp' is not allowed (only http, https)"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed (only http, https)"),
        ("data:image/png;base64,AAAA", "scheme 'data' is not allowed (only http, https)"),
        ("/d.png", "not an absolute URL"),
        ("http:///etc/passwd", "no host"),
    ],
)
def test_a_derived_url_field_must_be_http(image: str, why: str) -> None:
    errors = grounding_errors({"name": "Oak Desk", "image": image}, PAGE, load_schema("product"))
    assert errors == [f"image: {image!r} is not an allowed URL: {why}"]


def test_http_urls_pass_and_a_schema_may_allow_data(tmp_path: Path) -> None:
    product = load_schema("product")
    for ok in ("http://x.test/d.png", "HTTPS://x.test/d.png?a=1"):
        assert grounding_errors({"name": "Oak Desk", "image": ok}, PAGE, product) == []
    document = json.loads(json.dumps(product.document))
    document["properties"]["image"]["x-schemes"] = ["http", "https", "data"]
    document["properties"]["gallery"] = {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "x-derived": True,
    }
    del document["$id"]
    (tmp_path / "inline.json").write_text(json.dumps(document))
    inline = load_schema(tmp_path / "inline.json")
    item = {"name": "Oak Desk", "image": "data:image/png;base64,AAAA"}
    assert grounding_errors(item, PAGE, inline) == []
    gallery = ["http://x.test/1.png", "file:///etc/shadow"]
    assert grounding_errors({"name": "Oak Desk", "gallery": gallery}, PAGE, inline) == [
        "gallery: 'file:///etc/shadow' is not an allowed URL: scheme 'file' is not allowed"
        " (only http, https)"
    ]
    assert url_error("file:///etc/passwd", ("http", "https", "file")) is None


def test_a_saved_page_read_without_its_url_keeps_its_file_links() -> None:
    saved = Page(PAGE.source, "file:///home/me/pages/d.html")
    item = {"name": "Oak Desk", "image": "file:///home/me/pages/d.png"}
    assert grounding_errors(item, saved, load_schema("product")) == []
    assert grounding_errors(item, PAGE, load_schema("product"))  # not on a crawled page


def test_an_item_with_a_local_file_as_image_fails_extraction(tmp_path: Path) -> None:
    fixtures = write_fixtures(tmp_path / "fx", T, range(1, 4))
    compile_template(fixtures, "product", tmp_path / "reg", generator="induce", progress=None)
    hostile = product_page(7).replace('src="/img/7.jpg"', 'src="file:///etc/passwd"')
    result = extract_html(hostile, "http://shop.test/p/7.html", registry=tmp_path / "reg")
    assert result.item is not None and result.item["image"] == "file:///etc/passwd"
    assert not result.valid
    assert result.errors == [
        "image: 'file:///etc/passwd' is not an allowed URL: scheme 'file' is not allowed"
        " (only http, https)"
    ]
    fine = extract_html(product_page(7), "http://shop.test/p/7.html", registry=tmp_path / "reg")
    assert fine.valid, fine.errors
