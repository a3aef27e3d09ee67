from __future__ import annotations

import time

import pytest

from crawler.parsing import (
    Page,
    absolute,
    clean,
    currency,
    date,
    decode_html,
    first,
    join,
    labelled,
    ld,
    number,
    price,
    regex,
    regex_all,
    text,
    texts,
)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("£1,234.50", 1234.5),
        ("1.234,50 €", 1234.5),
        ("12,5", 12.5),
        ("1,234", 1234),
        ("Price: 3", 3),
        ("-4.2", -4.2),
        ("n/a", None),
        (None, None),
    ],
)
def test_number(raw: str | None, want: float | None) -> None:
    assert number(raw) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("March 5, 2024", "2024-03-05"),
        ("Posted 5 March 2026", "2026-03-05"),
        ("2024-03-05T10:00:00Z", "2024-03-05T10:00:00Z"),
        ("03/05/2024", "2024-03-05"),
        ("June 2010", "2010-06-01"),
        ("31/12/2020", "2020-12-31"),
        ("no date here", None),
        ("2024-02-30", None),
    ],
)
def test_date(raw: str, want: str | None) -> None:
    assert date(raw) == want


def test_currency_and_clean() -> None:
    assert currency("£12") == "GBP"
    assert currency("12.00 EUR") == "EUR"
    assert currency("12") is None
    # text from the page is decoded once, by the HTML parser: entities are not decoded again
    assert clean("  a &amp;\n b ") == "a &amp; b"
    page = Page("<p>AT&amp;amp;T</p><i>AT&amp;T</i>")
    assert text(page.css("p")) == "AT&amp;T" and text(page.css("i")) == "AT&T"
    assert clean("   ") is None


PAGE = """<html><head><base href="/shop/"><meta property="og:title" content="OG Title">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "Product", "name": "Lamp", "offers": {"price": "9.50"}}]}</script>
<script type="application/ld+json">{broken</script></head>
<body><h1> The <em>Lamp</em> </h1><ul><li>a</li><li> </li><li>b</li></ul>
<p><strong>ISBN-13</strong>: 978-0</p><dl><dt>Year:</dt><dd>2004</dd></dl><a href="item/2">x</a></body></html>"""


def test_page_helpers() -> None:
    page = Page(PAGE, "http://x.test/a/b")
    assert text(page.css("h1")) == "The Lamp"
    assert texts(page.css("li")) == ["a", "b"]
    assert join(page.css("li::text").getall(), ", ") == "a, b"
    assert join(None) is None and join([" ", None]) is None  # like every helper: None in, None out
    assert absolute(page, page.css("a::attr(href)").get()) == "http://x.test/shop/item/2"
    assert labelled(page, "ISBN-13") == "978-0"
    assert labelled(page, "year") == "2004"
    assert page.meta("og:title") == "OG Title"
    assert ld(page, "offers.price", "Product") == "9.50"
    assert ld(page, "name") == "Lamp"
    assert first(None, page.css(".missing"), "", "x") == "x"
    # every call gets fresh JSON-LD objects: a caller cannot change what the next one sees
    page.jsonld()[0]["name"] = "changed"
    assert page.jsonld("Product")[0]["name"] == "Lamp"


def test_regex_has_a_time_out() -> None:
    start = time.perf_counter()
    assert regex(r"(a+)+$", "a" * 40 + "b") is None
    assert time.perf_counter() - start < 2
    assert regex(r"ISBN (\d+)", "ISBN 123", 1) == "123"
    assert regex_all(r"\d+", "1 b 22") == ["1", "22"]


def test_exslt_regex_is_not_available() -> None:
    page = Page("<p>x</p>")
    with pytest.raises(ValueError):
        page.xpath("//p[re:test(., 'x')]")


def test_decoding() -> None:
    assert decode_html(b"\xef\xbb\xbf<p>\xc3\xa9</p>") == "<p>é</p>"
    assert decode_html(b'<meta charset="iso-8859-1"><p>\xe9</p>').endswith("<p>é</p>")
    assert decode_html(b'<meta charset="no-such-charset"><p>\xc3\xa9</p>').endswith("<p>é</p>")
    assert "\ufffd" in decode_html(b"<p>\xff</p>")
    page = Page(b'<meta charset="windows-1252"><p>caf\xe9 \x80</p>', "http://x/")
    assert text(page.css("p")) == "café €"


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"\x00\x00", b"<p>unclosed <b>tags", b"<!-- only a comment -->"]
)
def test_page_never_raises_on_odd_input(body: bytes) -> None:
    page = Page(body, "http://x/")
    assert page.css("h1").get() is None


def test_prices_as_real_pages_write_them() -> None:
    assert price("1.299 kr") == 1299
    assert price("2.499,-") == 2499
    assert price("R$ 1.234,56") == 1234.56 and currency("R$ 1.234,56") == "BRL"
    assert price("$ 24,250") == 24250 and price("£12.50") == 12.5
    assert price("Out of stock") is None and price(None) is None


def test_dates_in_other_languages_and_relative() -> None:
    import datetime

    assert date("5. März 2024") == "2024-03-05"
    assert date("12 de marzo de 2024") == "2024-03-12"
    assert date("Date Posted: 05/18/2011") == "2011-05-18"
    assert date("Posted:\u00a0 December 6, 2010") == "2010-12-06"
    two_days_ago = (datetime.date.today() - datetime.timedelta(days=2)).isoformat()
    assert date("hace 2 días") == two_days_ago
    assert date("N/A") is None and date("Coming soon") is None
