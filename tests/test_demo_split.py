"""Each demo site module serves every one of its pages, alone and through ``DemoSite``."""

from __future__ import annotations

import pytest

from crawler.demo.jobs import TEMPLATE as JOB_TEMPLATE
from crawler.demo.jobs import JobBoard
from crawler.demo.news import TEMPLATE as ARTICLE_TEMPLATE
from crawler.demo.news import NewsSite
from crawler.demo.shop import TEMPLATE as PRODUCT_TEMPLATE
from crawler.demo.shop import Shop
from crawler.demo.site import DemoSite
from crawler.parsing import Page, text

BASE = "http://127.0.0.1:8765"


def _url(path: str) -> str:
    return BASE + path


def _is_document(html: str) -> bool:
    return html.startswith("<!DOCTYPE html>\n") and html.endswith("</html>\n") and "<body" in html


def test_shop_renders_every_page_in_both_layouts() -> None:
    shop = Shop(7, 30, _url)
    assert len(shop.details) == 30 and list(shop.listings) == [
        "/shop/page/1.html",
        "/shop/page/2.html",
        "/shop/page/3.html",
    ]
    for path, product in shop.details.items():
        assert path == shop.path(product)
        v1, v2 = shop.page(product, redesign=False), shop.page(product, redesign=True)
        assert _is_document(v1) and _is_document(v2) and v1 != v2
        for html in (v1, v2):
            assert text(Page(html, _url(path)).css("h1")) == product.name
        assert shop.item(product)["image"] == _url(f"/shop/img/{product.id}.png")
    for n in shop.listings.values():
        assert _is_document(shop.listing(n, redesign=False))
        assert _is_document(shop.listing(n, redesign=True))


def test_job_board_renders_every_page_before_and_after_its_script() -> None:
    board = JobBoard(7, 20)
    assert len(board.details) == 20 and len(board.listings) == 2
    for path, job in board.details.items():
        assert path == board.path(job)
        served, built = board.page(job, rendered=False), board.page(job, rendered=True)
        assert _is_document(served) and _is_document(built)
        assert Page(served).css("h1").get() is None  # the script builds the heading
        assert text(Page(built).css("h1.job-title")) == job.title
        assert board.item(job)["title"] == job.title
    for n in board.listings.values():
        listing = board.listing(n)
        assert _is_document(listing) and 'class="job-link"' in listing


def test_news_site_renders_every_page() -> None:
    news = NewsSite(7, 12, _url)
    assert len(news.details) == 12 and len(news.listings) == 2
    for path, article in news.details.items():
        assert path == news.path(article)
        html = news.page(article)
        assert _is_document(html)
        page = Page(html, _url(path))
        assert text(page.css("h1")) == article.headline
        assert page.css('link[rel="canonical"]::attr(href)').get() == _url(path)
    for n in news.listings.values():
        assert _is_document(news.listing(n))


@pytest.mark.parametrize("redesign", [False, True])
def test_demo_site_serves_every_path_of_every_site(redesign: bool) -> None:
    site = DemoSite(products=30, jobs=20, articles=12, redesign=redesign)
    paths = site.all_paths()
    assert len(paths) == len(set(paths)) == 1 + 3 + 2 + 2 + 30 + 20 + 12
    for path in paths:
        status, ctype, body = site.render(path)
        assert (status, ctype) == (200, "text/html; charset=utf-8"), path
        assert _is_document(body.decode("utf-8")), path
    for template, count in ((PRODUCT_TEMPLATE, 30), (JOB_TEMPLATE, 20), (ARTICLE_TEMPLATE, 12)):
        assert len(site.detail_paths(template)) == count
