"""Grounding (every value comes from the page) and the visible-data share used for rendering."""

from __future__ import annotations

from crawler.checks import grounding_errors, shown_share
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
