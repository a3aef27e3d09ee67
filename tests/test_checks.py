"""Grounding (every value comes from the page) and the visible-data share used for rendering."""

from __future__ import annotations

import pytest

from crawler.checks import PageText, grounding_errors, shown_share
from crawler.parsing import Page
from crawler.schemas import load_schema

PAGE = Page(
    "<html><body><h1>Caf&eacute;   Table,\n Oak</h1><p>Price: £1,299.50</p>"
    '<img alt="A &amp; B" src="/t.png"><p>Updated 3 May 2026</p></body></html>',
    "http://shop.test/t.html",
)


def test_values_in_text_attributes_and_numbers_are_grounded() -> None:
    schema = load_schema("product")
    item = {
        "name": "Café Table, Oak",  # entities decoded, whitespace folded
        "description": "A & B",  # an attribute value counts
        "price": 1299.5,  # digits, whatever the separators
        "image": "http://shop.test/t.png",  # derived: exempt
        "currency": "GBP",  # derived: exempt
    }
    assert grounding_errors(item, PAGE, schema) == []


def test_made_up_values_are_named() -> None:
    schema = load_schema("product")
    errors = grounding_errors(
        {"name": "Walnut Desk", "price": 99.0, "brand": ["Oak"]}, PAGE, schema
    )
    assert errors == [
        "name: value 'Walnut Desk' does not occur in the page",
        "price: value 99.0 does not occur in the page",  # 1,299.50 is not 99
    ]


def test_shown_share_tells_markup_data_from_script_data() -> None:
    item = {"name": "Café Table, Oak", "summary": "Updated 3 May 2026", "url": "http://x/y"}
    assert shown_share(item, PAGE) == 1.0
    scripted = Page(
        '<html><body><div id="root"></div><script>var d = {"name": "Café Table, Oak",'
        ' "summary": "Updated 3 May 2026"}</script></body></html>'
    )
    assert shown_share(item, scripted) == 0.0
    assert shown_share({}, PAGE) == 0.0


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1 299 €", 1299),
        ("1&nbsp;299,00&nbsp;€", 1299.0),
        ("1\u202f299,50 €", 1299.5),
        ("£<span>12</span><sup>.99</sup>", 12.99),
        (
            '<span class="whole">1,299<span class="dot">.</span></span>'
            '<span class="fraction">99</span>',
            1299.99,
        ),
        ("12.500 KWD", 12.5),
        ("0.00001234 BTC", 1.234e-05),
        ("1.299,00 €", 1299.0),
        ("$0.99", 0.99),
        ("1'299.50", 1299.5),
        ("-5 °C", -5),
    ],
)
def test_numbers_as_pages_write_them_are_grounded(written: str, value: float) -> None:
    page = Page(f"<html><body><p>{written}</p></body></html>")
    assert PageText(page).contains_number(value)


@pytest.mark.parametrize(("written", "value"), [("£1,299.50", 99), ("$0.99", 99), ("£12.99", 1)])
def test_a_number_inside_another_is_not_grounded(written: str, value: float) -> None:
    page = Page(f"<html><body><p>{written}</p></body></html>")
    assert not PageText(page).contains_number(value)
