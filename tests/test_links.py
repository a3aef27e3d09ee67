"""The links of a page as the generic spider follows them (crawler.links): the same URLs as
Scrapy's ``response.urljoin(href)`` without the fragment, read in the parser worker."""

from __future__ import annotations

import random

from scrapy.http import HtmlResponse

from crawler.links import absolute_links, base_url, tree_links
from crawler.parsing import Page

HREFS = [
    "/a/b.html",
    "/a/b.html?x=1&y=/2",
    "/a/./b",
    "/a/../b",
    "/a//b",
    "//other.example/x",
    "rel.html",
    "../up.html",
    "./here.html",
    "?q=1",
    "#top",
    "/x#frag",
    " /spaced ",
    "/tab\there",
    "/a;params",
    "/query?",
    "https://elsewhere.example/p?q#f",
    "HTTP://Host.Example/upper",
    "mailto:someone@example.com",
    "javascript:void(0)",
    "file:///etc/passwd",
    "",
    "/é/ünïcode",
    "/%7Euser/",
]


def scrapy_links(html: str, url: str) -> list[str]:
    response = HtmlResponse(url, body=html.encode(), encoding="utf-8")
    out: dict[str, None] = {}
    for href in response.css("a::attr(href)").getall():
        out[response.urljoin(href).split("#", 1)[0]] = None
    return list(out)


def page(hrefs: list[str], head: str = "") -> str:
    anchors = "".join(f'<a href="{h}">{n}</a>' for n, h in enumerate(hrefs))
    return f"<html><head>{head}</head><body><p>{anchors}</p></body></html>"


def test_the_same_urls_as_scrapy_urljoin() -> None:
    for url in ("http://shop.example/c/d/page.html?p=2", "https://shop.example", "http://h:8080/"):
        html = page(HREFS)
        got = tree_links(Page(html, url).selector.root, base_url(html, url))
        assert got == scrapy_links(html, url)


def test_base_href_is_the_base() -> None:
    html = page(HREFS, head='<base href="http://cdn.example/root/">')
    url = "http://shop.example/x/y.html"
    assert base_url(html, url) == "http://cdn.example/root/"
    got = tree_links(Page(html, url).selector.root, base_url(html, url))
    assert got == scrapy_links(html, url)
    assert "http://cdn.example/root/rel.html" in got


def test_random_hrefs_join_as_urljoin_does() -> None:
    from urllib.parse import urljoin

    rng = random.Random(3)
    alphabet = list("/./..?#;&=ab\\ \t%:@é") + ["..", "/..", "//", "?", "#", ";", "\x01"]
    for _ in range(20000):
        href = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        base = rng.choice(["http://h:1/x/y", "http://h:1/", "https://h/a/b/c.html?q=1", "http://h"])
        assert absolute_links([href], base) == [urljoin(base, href).split("#", 1)[0]], href


def test_each_link_once_in_document_order_and_a_cap() -> None:
    html = page(["/b", "/a", "/b#x", "/a"])
    root = Page(html, "http://h/").selector.root
    assert tree_links(root, "http://h/") == ["http://h/b", "http://h/a"]
    assert tree_links(root, "http://h/", limit=3) is None  # 4 hrefs: the spider reads them


def test_the_worker_reads_the_links_of_the_page_it_parses() -> None:
    from crawler.workers import WorkerPool

    source = (
        "from crawler.parsing import Page, text\n\n\n"
        "def parse(page: Page) -> dict:\n    return {'name': text(page.css('h1'))}\n"
    )
    html = "<html><body><h1>Hi</h1>" + "".join(f'<a href="/p/{i}">x</a>' for i in range(3))
    html += '<a href="../up">u</a></body></html>'
    pool = WorkerPool(1)
    try:
        plain = pool.run(source, html, "http://h/c/d", grounding=False)
        asked = pool.run(source, html, "http://h/c/d", grounding=False, links=True)
    finally:
        pool.close()
    assert plain.links is None
    assert asked.item == {"name": "Hi"}
    assert asked.links == ["http://h/p/0", "http://h/p/1", "http://h/p/2", "http://h/up"]
