"""Article bodies: main_text_labels (trafilatura, snapped to a container), the block-text rule
induction learns from one labelled page, and grounding of a body read from several elements."""

from __future__ import annotations

from pathlib import Path

from crawler.checks import grounding_errors
from crawler.compiler import compile_fixtures
from crawler.compiler.body import main_text_fields, main_text_labels, readings
from crawler.compiler.labels import merge_labels, structured_labels
from crawler.demo.news import NewsSite, body_text
from crawler.demo.shop import Shop
from crawler.extract import Extractor
from crawler.fixtures import Fixture, normalise
from crawler.parsing import Page, paragraphs
from crawler.registry import Registry
from crawler.schemas import load_schema

BASE = "http://127.0.0.1:8765"
TEMPLATE = "herald.test/article"


def _url(path: str) -> str:
    return BASE + path


def _page(site: NewsSite, n: int) -> Page:
    a = site.articles[n]
    return Page(site.page(a), site.url(site.path(a)))


def test_the_article_schema_marks_its_body_as_main_text() -> None:
    assert main_text_fields(load_schema("article")) == ["body"]
    assert main_text_fields(load_schema("product")) == []


def test_main_text_labels_is_the_body_read_from_its_container() -> None:
    site = NewsSite(3, 4, _url)
    schema = load_schema("article")
    for n, a in enumerate(site.articles):
        page = _page(site, n)
        labels = main_text_labels(page, schema)
        # the body only: no share buttons, no "Read more" box, no comments, no caption
        assert normalise(labels["body"]) == normalise(body_text(a.body))
        assert "Read more" not in labels["body"] and "Share this story" not in labels["body"]
        assert "\n\n" in labels["body"]  # paragraphs kept apart
        best = readings(page, labels["body"])[0]
        assert best.element.get("class") == "story-body" and best.skip is None
        assert not grounding_errors(labels, page, schema)


def test_main_text_labels_returns_nothing_without_a_main_text() -> None:
    schema = load_schema("article")
    news = NewsSite(3, 24, _url)
    listing = Page(news.listing(1), _url("/news/page/1.html"))  # teasers under headlines
    assert main_text_labels(listing, schema) == {}
    shop = Shop(3, 4, _url)
    product = shop.products[0]
    page = Page(shop.page(product, redesign=False), _url(shop.path(product)))
    assert main_text_labels(page, schema) == {}
    short = Page("<html><body><nav><a href='/'>Home</a></nav><p>Hello.</p></body></html>")
    assert main_text_labels(short, schema) == {}
    assert main_text_labels(_page(news, 0), load_schema("product")) == {}  # no main-text field


def test_a_body_compiled_from_one_labelled_page_reads_unseen_pages(tmp_path: Path) -> None:
    site = NewsSite(5, 3, _url)
    schema = load_schema("article")
    page = _page(site, 0)
    labels = merge_labels(main_text_labels(page, schema), structured_labels(page, schema))
    assert "body" in labels and "headline" in labels
    fixture = Fixture(
        tmp_path / "case", TEMPLATE, page.url, "article", labels, partial=True, source=page.source
    )
    registry = Registry(tmp_path / "registry")
    result = compile_fixtures(
        [fixture], schema, registry, TEMPLATE, generator="induce", partial=True, progress=None
    )
    assert result.published, result.report + result.notes
    assert result.fields["body"]["how"] == "paragraphs"
    source = registry.active_source(TEMPLATE)[1]
    assert "'body': paragraphs(page.xpath('//div[@itemprop=\"articleBody\"]'))" in source
    extractor = Extractor(registry, schema)
    for n in (1, 2):
        got = extractor.extract_page(_page(site, n), TEMPLATE)
        assert got.valid, got.errors
        assert got.item is not None
        truth = body_text(site.articles[n].body)
        assert normalise(got.item["body"]) == normalise(truth)
        assert got.item["body"].count("\n\n") == truth.count("\n\n")


def test_paragraphs_and_grounding_of_a_body_from_several_elements() -> None:
    schema = load_schema("article")
    html = (
        "<html><body><div class='txt'><p>Rain <a href='/w'>fell</a> all day.</p>"
        "<aside><p>Read more: other news</p></aside><p>It stopped at <b>six</b>.<br>"
        "Then the sun came out.</p></div></body></html>"
    )
    page = Page(html, _url("/a.html"))
    body = paragraphs(page.css("div.txt"), skip=".//aside")
    assert body == "Rain fell all day.\n\nIt stopped at six.\nThen the sun came out."
    assert not grounding_errors({"body": body}, page, schema)
    invented = body + "\n\nThe mayor resigned."
    problems = grounding_errors({"body": invented}, page, schema)
    assert [p.field for p in problems] == ["body"]
    # only a main-text field is read line by line: a summary must stand in the page as written
    assert grounding_errors({"summary": "Rain fell all day. It stopped at six."}, page, schema)


def _post(n: int, paras: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paras[:1])
    body += f"<figure><img src='/{n}.jpg'><figcaption>Photo {n}: the harbour at dawn, by a reader.</figcaption></figure>"
    body += "".join(f"<p>{p}</p>" for p in paras[1:])
    body += "<div class='share'><a href='/s'>Share on social media</a></div>"
    return (
        f"<html><head><title>Post {n}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<h1>Post number {n}</h1><div class='entry-content'>{body}</div>"
        "<div id='comments'><p>Lovely piece, thank you for writing it all up.</p></div>"
        "</body></html>"
    )


def test_induction_finds_the_container_of_a_body_that_leaves_out_a_caption() -> None:
    """A labelled body without the caption that stands inside the container (as trafilatura
    leaves it out): the container is found, the figure skipped, and the rule reads the
    labelled text exactly; on an unseen page too."""
    from crawler.compiler.induce import induce

    schema = load_schema("article")
    texts = [
        [
            f"Paragraph {k} of post {n} says something long enough to be a sentence."
            for k in range(3)
        ]
        for n in range(3)
    ]
    samples = []
    for n in (0, 1):
        page = Page(_post(n, texts[n]), _url(f"/post/{n}.html"))
        samples.append((page, {"headline": f"Post number {n}", "body": "\n\n".join(texts[n])}))
    result = induce(TEMPLATE, schema, samples, partial=True)
    body = next(f for f in result.fields if f.name == "body")
    assert body.made and body.rule is not None and body.rule.kind == "paragraphs"
    assert body.rule.skip is not None and "figure" in body.rule.skip
    unseen = Page(_post(2, texts[2]), _url("/post/2.html"))
    assert body.rule.apply(unseen) == "\n\n".join(texts[2])
