"""Grounding matches whole values as the page's text shows them: not digit strings, not markup."""

from __future__ import annotations

import pytest

from crawler.checks import PageText, grounding_errors
from crawler.parsing import Page
from crawler.schemas import load_schema


def shown(body: str) -> PageText:
    return PageText(Page(f"<html><head><title>t</title></head><body>{body}</body></html>"))


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("£12.50", 12.5),
        ("12,50 €", 12.5),
        ("1.250 kr", 1250),  # thousands or decimals: the page does not say which
        ("1.250 kr", 1.25),
        ("₹ 1,23,456", 123456),
        ("1.234.567,89 €", 1234567.89),
        ("2.499,-", 2499),
        ("CHF 1'250.50", 1250.5),
        ("£12.99", 12.990000000000002),  # float noise of arithmetic on 12.99
        ("on 03.05.2026", 2026),  # a date is no number, its parts are
        ("costs 12.50.", 12.5),
        ('<meta itemprop="price" content="12.50">', 12.5),  # an attribute value counts
        ('<p data-cents="1250">£12.50</p>', 1250),
    ],
)
def test_a_number_written_as_a_number_is_grounded(written: str, value: float) -> None:
    assert shown(written).contains_number(value)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("£12.50", 1250),  # digits are not the number
        ("£12.50", 50),
        ("£12.50", 12),
        ("12,50 €", 1250),
        ("£12.99", 13.0),
        ("£12.99", 13),
        ("1, 2", 12),
        ("<!-- 1250 -->12.50", 1250),  # a comment is not shown
        ('<p class="x1250">12.50</p>', 12),
    ],
)
def test_a_number_the_page_does_not_write_is_not_grounded(written: str, value: float) -> None:
    assert not shown(written).contains_number(value)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("<h1>Caf&eacute;   Table,\n Oak</h1>", "Café Table, Oak"),
        ("<p>a &gt; Widget</p>", "Widget"),
        ("<p>Lydia's Charm</p>", "Lydia's Charm"),
        ("<p>AT&amp;T</p>", "AT&T"),
        ("<p>AT&amp;T</p>", "AT&amp;T"),  # a value that kept its entity
        ('<img alt="A &amp; B">', "A & B"),
        ('<p class="name">x</p>', "name"),  # attribute values count
        ('<script>var p = {"name": "Oak Desk"};</script>', "Oak Desk"),
        (
            '<script type="application/ld+json">{"name": "Caf\\u00e9 \\"Oak\\""}</script>',
            'Café "Oak"',
        ),
    ],
)
def test_text_and_attribute_values_ground_strings(body: str, value: str) -> None:
    assert shown(body).contains(value)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("<b>x</b>", "b"),  # a tag name
        ("<b>x</b>", "<b>"),
        ('<p class="name">x</p>', "class"),  # an attribute name
        ('<p class="name">x</p>', 'class="name"'),
        ("<Widget>x</Widget>", "Widget"),
        ("<!-- Widget -->", "Widget"),  # a comment
        ("<!-- <! > Widget -->", "Widget"),
        ('<a b=">" Widget="1">x</a>', "Widget"),  # markup after a > inside a value
        ("<a b='>' Widget='1'>x</a>", "Widget"),
        ("<p>Widget</p><p>1</p>", "Widget1"),
    ],
)
def test_markup_grounds_nothing(body: str, value: str) -> None:
    assert not shown(body).contains(value)


def test_grounding_errors_name_markup_and_digit_strings() -> None:
    page = Page(
        '<html><body><h1 class="Oak">Desk</h1><p>£12.50</p>'
        '<table class="specs"><tr><td>SKU</td></tr></table></body></html>',
        "http://x.test/d",
    )
    item = {"name": "Desk", "brand": "table", "price": 1250, "sku": "Oak", "rating": 12.5}
    assert grounding_errors(item, page, load_schema("product")) == [
        "brand: value 'table' does not occur in the page",
        "price: value 1250 does not occur in the page",
    ]


def test_the_fast_path_for_numbers_never_grounds_what_the_full_reading_does_not() -> None:
    """Soundness of the raw-source shortcut: on random snippets of digits, separators, entities
    and markup, every number it finds is one the page's text reads as that number."""
    import random

    from crawler.checks import PageText, _canonical_forms
    from crawler.parsing import Page

    rng = random.Random(7)
    pieces = [
        "1",
        "2",
        "5",
        "0",
        "9",
        ",",
        ".",
        "'",
        " ",
        "<b>",
        "</b>",
        "&#49;",
        "&amp;",
        "£",
        "kr",
        "<!--",
        "-->",
        '<a title="',
        '">',
        "<br>",
        "<p>",
        "</p>",
        "<span>",
        "</span>",
        "<body>",
        "</td>",
    ]
    values = [1, 2, 5, 12, 125, 1250, 1.25, 12.5, 2.5, 0.5, 10, 1.5, 25, 50, 125.5]
    fast_hits = 0
    for _ in range(20000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        text = PageText(Page(f"<html><body><p>{body}</p></body></html>", "http://x/"))
        value = rng.choice(values)
        wanted = _canonical_forms(value)
        if text._node_number(wanted):
            fast_hits += 1
            assert text._reads_number(wanted), (body, value)
    assert fast_hits > 200  # the shortcut is exercised, not vacuous


def test_the_raw_source_shortcut_reads_no_text_inside_an_unclosed_attribute_quote() -> None:
    """``<a title="x>VALUE``: the last ``>`` before the value is inside the quoted attribute
    (the tag's quotes are unbalanced), so the value is no text content for the shortcut."""
    from crawler.checks import PageText
    from crawler.parsing import Page

    text = PageText(
        Page('<html><body><p>9<a title="9>Widget Deluxe</p></body></html>', "http://x/")
    )
    assert not text._verbatim_in_text("Widget Deluxe")
    shown = PageText(Page('<html><body><a title="9">Widget Deluxe</a></body></html>', "http://x/"))
    assert shown._verbatim_in_text("Widget Deluxe")
