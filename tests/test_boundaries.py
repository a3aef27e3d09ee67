"""Boundaries: only http(s) is fetched or followed, URL fields are http(s), odd text is stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
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
from crawler.demo.run import scrapy_command
from crawler.exceptions import BadInput, PageTooLarge, ParserFailed
from crawler.fetch import fetch
from crawler.history import History, escape_surrogates
from crawler.parsing import Page
from crawler.registry import Registry
from crawler.runtime import PageStore, Runtime, RuntimeSettings
from crawler.sandbox import check_item
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
        settings = {
            "SCRAPEC_REGISTRY": tmp_path / "reg",
            "SCRAPEC_FIXTURES": tmp_path / "fx",
            "LOG_LEVEL": "DEBUG",
        }
        proc = subprocess.run(
            scrapy_command(
                f"{shop.url}/", settings, "-O", str(tmp_path / "items.jsonl"), schema="product"
            ),
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
    fetched = fetch(web.replace("http", "HTTP", 1) + "/page")
    body, final, charset = fetched.body, fetched.final_url, fetched.encoding
    assert body == b"<p>hello</p>" and charset == "utf-8" and final.endswith("/page")


@pytest.mark.parametrize(("path", "target"), [("/to-ftp", "ftp://"), ("/to-file", "file://")])
def test_fetch_follows_no_redirect_off_http(web: str, path: str, target: str) -> None:
    with pytest.raises(BadInput) as info:
        fetch(web + path)
    message = str(info.value)
    assert repr(web + path) in message and "redirected (302)" in message and target in message
    assert "\n" not in message


def test_fetch_reads_no_more_than_its_limit(web: str) -> None:
    with pytest.raises(PageTooLarge) as info:
        fetch(web + "/big", max_bytes=100_000)
    assert info.value.limit == 100_000 and info.value.url == web + "/big"
    body = fetch(web + "/big", max_bytes=2_000_000).body
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


# ---------------------------------------------------------------------------------------------
# odd text at the output boundaries: check_item, the history, the held pages

LONE = "\ud800"  # a lone surrogate: a str may hold it, UTF-8 has no form for it


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, -1])
def test_check_item_keeps_signed_64_bit_integers(value: int) -> None:
    assert check_item({"rating": value}) == {"rating": value}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2**63, "9223372036854775808"),
        (-(2**63) - 1, "-9223372036854775809"),
        (2**64, "18446744073709551616"),
        (10**4000, "of 13288 bits"),  # never str() of a huge integer
    ],
)
def test_check_item_refuses_integers_outside_signed_64_bits(value: int, shown: str) -> None:
    with pytest.raises(ParserFailed) as info:
        check_item({"offers": [{"price": value}]}, T)
    assert info.value.field == "offers[0].price"
    assert info.value.reason == f"integer {shown} is outside the signed 64-bit range"


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        (
            {"name": f"Oak {LONE} Desk"},
            "name",
            "string holds a lone surrogate '\\ud800' at character 4",
        ),
        (
            {"tags": ["ok", "\udfff"]},
            "tags[1]",
            "string holds a lone surrogate '\\udfff' at character 0",
        ),
        ({"x": {f"k{LONE}": 1}}, "x", "key holds a lone surrogate '\\ud800' at character 1"),
        ({"e": "\ud83d\ude00"}, "e", "string holds a lone surrogate '\\ud83d' at character 0"),
    ],
)
def test_check_item_refuses_strings_that_are_not_unicode_text(
    item: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ParserFailed) as info:
        check_item(item, T)
    assert info.value.field == field and info.value.reason == reason + ": not Unicode text"
    assert str(info.value).isascii()


def test_check_item_keeps_unicode_text() -> None:
    item = {"name": "Café 😀 — 東京", "tags": ["ø"]}
    assert check_item(item) == item


def test_history_stores_surrogates_escaped(tmp_path: Path) -> None:
    url = f"http://shop.test/p/{LONE}.html"
    item = {"name": f"Oak {LONE} Desk", f"k{LONE}": [LONE, "Café"], "price": 1.5}
    with History(tmp_path / "history.sqlite") as history:
        history.record(url, T, 1, item)
        history.record("http://shop.test/p/2.html", T, 1, {"name": "Café"})
        assert history.get(url) == {
            "name": "Oak \\ud800 Desk",
            "k\\ud800": ["\\ud800", "Café"],
            "price": 1.5,
        }
        assert history.get("http://shop.test/p/\\ud800.html") == history.get(url)
        assert history.get("http://shop.test/p/2.html") == {"name": "Café"}
        assert history.count(T) == 2
        assert [u for u, _ in history.items(T)] == [
            "http://shop.test/p/2.html",
            "http://shop.test/p/\\ud800.html",
        ]
    assert escape_surrogates("Café") == "Café" and escape_surrogates(LONE) == "\\ud800"


def test_page_store_writes_surrogates_escaped(tmp_path: Path) -> None:
    store = PageStore(tmp_path / "state")
    url = f"http://shop.test/p/{LONE}.html"
    html = f'<script type="application/ld+json">{{"name": "a{LONE}b"}}</script><p>Café {LONE}</p>'
    path = store.put("held", T, url, html, f"ValueError: Oak {LONE} Desk")
    meta = json.loads(path.read_bytes().decode("utf-8"))  # strict UTF-8: no surrogate written
    assert meta["url"] == "http://shop.test/p/\\ud800.html"
    assert meta["reason"] == "ValueError: Oak \\ud800 Desk"
    [held] = store.pages("held", T)
    saved = store.html(held)
    assert saved == html.replace(LONE, "\\ud800")
    assert Page(saved).jsonld() == [{"name": f"a{LONE}b"}]  # JSON-LD reads the same string
    store.remove("held", T, url)  # found under the URL it was put with
    assert store.pages("held", T) == []


SURROGATE_PARSER = '''"""odd text test parser"""
from crawler.parsing import Page, ld, text


def parse(page: Page) -> dict:
    name = ld(page, "name")
    if text(page.css("p.fail")):
        raise ValueError(name)
    return {"name": name, "sku": text(page.css("p.sku"))}
'''


def odd_page(name_json: str, body: str = "") -> str:
    return (
        '<html><head><script type="application/ld+json">'
        f'{{"@type": "Product", "name": "{name_json}"}}</script></head>'
        f'<body><h1>Oak Desk</h1><p class="sku">SKU-1</p>{body}</body></html>'
    )


def test_a_lone_surrogate_in_json_ld_or_an_error_holds_the_page_never_loses_it(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(T, SURROGATE_PARSER, schema="product", generator="manual", reason="test")
    runtime = Runtime(registry, settings=RuntimeSettings(regen_samples=100), llm=None)
    try:
        good = runtime.process(odd_page("Oak Desk"), "http://shop.test/p/1.html", template=T)
        value = runtime.process(
            odd_page("Oak \\ud800 Desk"), "http://shop.test/p/2.html", template=T
        )
        error = runtime.process(
            odd_page("Oak \\ud800 Desk", '<p class="fail">x</p>'),
            "http://shop.test/p/3.html",
            template=T,
        )
        assert good.status == "ok" and good.item == {"name": "Oak Desk", "sku": "SKU-1"}
        assert value.status == "held" and error.status == "held"
        assert "lone surrogate '\\ud800'" in value.errors[0]
        held = {m.url: m for m in runtime.store.pages("held", T)}
        assert set(held) == {"http://shop.test/p/2.html", "http://shop.test/p/3.html"}
        assert held["http://shop.test/p/3.html"].reason == "ValueError: Oak \\ud800 Desk"
        assert runtime.history.get("http://shop.test/p/1.html") == good.item
        assert runtime.history.get("http://shop.test/p/2.html") is None
    finally:
        runtime.close()
