"""Validation with jsonschema-rs: formats asserted, draft 2020-12, one compiled validator per
schema, errors worded as ``field: message (JSON path)``, jsonschema for what jsonschema-rs cannot
take, and never a crash or a remote fetch."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from crawler.schemas import Schema, load_schema, schema_from_document, schema_names
from crawler.workers import WorkerPool

IMAGE = "https://books.toscrape.com/media/cache/fe/72/fe72.jpg"


def test_shipped_schemas_compile_once_with_jsonschema_rs() -> None:
    for name in schema_names():
        schema = load_schema(name)
        assert schema.engine == "jsonschema-rs", (name, schema.compile_error)
        assert schema.fast is not None
        assert load_schema(name).compiled is schema.compiled
    product = load_schema("product")
    renamed = load_schema("product", name="gadget")
    assert renamed.name == "gadget" and renamed.compiled is product.compiled
    assert renamed.errors({"name": "x", "price": -1}) == [
        "price: -1 is less than the minimum of 0 ($.price)"
    ]


def test_format_is_checked() -> None:
    product = load_schema("product")
    assert product.errors({"name": "Mixer", "image": IMAGE}) == []
    assert product.errors({"name": "Mixer", "image": "data:image/png;base64,AAAA"}) == []
    assert product.errors({"name": "Mixer", "image": "not a uri"}) == [
        'image: "not a uri" is not a "uri" ($.image)'
    ]
    assert product.errors({"name": "Mixer", "image": "/relative/x.jpg"})
    assert product.fast is not None and not product.fast({"name": "Mixer", "image": "not a uri"})
    schema = schema_from_document(
        {
            "type": "object",
            "properties": {
                "day": {"type": "string", "format": "date"},
                "mail": {"type": "string", "format": "email"},
                "when": {"type": "string", "format": "date-time"},
            },
        }
    )
    assert schema.engine == "jsonschema-rs"
    good = {"day": "2026-02-03", "mail": "a@b.test", "when": "2026-02-03T10:00:00Z"}
    assert schema.errors(good) == []
    bad = schema.errors({"day": "2026-02-30", "mail": "nobody", "when": "yesterday"})
    assert [e.split(":", 1)[0] for e in bad] == ["day", "mail", "when"], bad
    assert bad[0] == "day: '2026-02-30' is not a 'date' ($.day)"  # jsonschema's words
    assert bad[2].endswith('is not a "date-time" ($.when)')  # only jsonschema-rs checks it


def test_messages_keep_the_field_message_path_shape() -> None:
    product = load_schema("product")
    assert product.errors({"price": "cheap", "extra": 1, "more": 2}) == [
        "extra,more: Additional properties are not allowed ('extra', 'more' were unexpected) ($)",
        "name: 'name' is a required property ($)",
        "price: 'cheap' is not of type 'number' ($.price)",
    ]
    assert product.errors({"name": ""}) == ["name: '' should be non-empty ($.name)"]
    assert product.errors({"name": "x", "currency": "gbp"}) == [
        "currency: 'gbp' does not match '^[A-Z]{3}$' ($.currency)"
    ]
    assert product.errors({"name": "x", "price": float("nan")}) == [
        "price: nan is not a JSON number ($.price)"
    ]
    assert product.errors([]) == ["(item): [] is not of type 'object' ($)"]
    article = load_schema("article")
    assert article.errors({"headline": "h", "author": ["a", 1]}) == [
        "author: 1 is not of type 'string' ($.author[1])"
    ]
    both = schema_from_document({"type": "object", "required": ["a", "b"]})
    assert both.errors({}) == [
        "a: 'a' is a required property ($)",
        "b: 'b' is a required property ($)",
    ]


def test_draft_2020_12_keywords() -> None:
    schema = schema_from_document(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
            },
            "dependentRequired": {"price": ["currency"]},
            "$defs": {"tag": {"type": "string", "minLength": 2}},
        }
    )
    assert schema.engine == "jsonschema-rs"
    assert schema.errors({"pair": ["a"], "tags": ["ab"]}) == []
    assert [e.split(":", 1)[0] for e in schema.errors({"pair": [1]})] == ["pair"]
    assert [e.split(":", 1)[0] for e in schema.errors({"pair": ["a", "b"]})] == ["pair"]
    assert schema.errors({"tags": ["a"]}) == ["tags: 'a' is too short ($.tags[0])"]
    assert schema.errors({"price": 1}), "dependentRequired"


ODD: list[Any] = [
    None,
    True,
    0,
    -1,
    2.5,
    float("nan"),
    float("inf"),
    2**63,
    "",
    "x",
    "GBP",
    "2026-02-30",
    "2026-02-03",
    IMAGE,
    "not a url",
    "\ud800",
    [],
    ["a"],
    [1],
    ("a",),
    {},
    {"a": 1},
]


def test_jsonschema_rs_is_never_laxer_than_jsonschema() -> None:
    """Where jsonschema finds an error, so does jsonschema-rs; what jsonschema-rs calls valid
    jsonschema does too (jsonschema-rs is stricter only on formats, NaN and ECMA regexes)."""
    rng = random.Random(7)
    for name in schema_names():
        schema = load_schema(name)
        fields = list(schema.properties) + ["unknown_field"]
        for _ in range(2000):
            item = {f: rng.choice(ODD) for f in rng.sample(fields, rng.randint(0, len(fields)))}
            tuples = any(isinstance(v, tuple) for v in item.values())
            errors = schema.errors(item)
            if not schema.validator.is_valid(item) and not tuples:  # a tuple is an array to rs
                assert errors, (name, item)
            if not errors and not tuples:
                assert schema.validator.is_valid(item), (name, item)
            assert all(e.split(":", 1)[0] for e in errors)


def test_values_that_are_not_json_go_to_jsonschema() -> None:
    product = load_schema("product")
    assert product.errors({"name": "x", "sku": {1, 2}}) == [
        "sku: {1, 2} is not of type 'string' ($.sku)"
    ]
    assert product.errors({"name": "x", 1: 2}) == [
        "1: Additional properties are not allowed (1 was unexpected) ($)"
    ]
    loose = schema_from_document({"type": "object"})
    assert loose.errors({"a": object()}) == []  # jsonschema's verdict, as before


def test_a_schema_jsonschema_rs_cannot_compile_keeps_working() -> None:
    schema = schema_from_document(
        {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]+\\Z"}}}
    )
    assert schema.engine == "jsonschema" and "regex" in schema.compile_error
    assert schema.fast is not None  # the hand-written checker
    assert schema.errors({"code": "123"}) == []
    assert schema.errors({"code": "12a"}) == ["code: '12a' does not match '^[0-9]+\\\\Z' ($.code)"]


def test_a_remote_ref_is_never_fetched() -> None:
    schema = schema_from_document(
        {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/other.json"}}}
    )
    assert schema.compiled is None and "Retrieval is disabled" in schema.compile_error


def test_deep_values_under_a_recursive_schema_do_not_crash() -> None:
    """jsonschema-rs recurses on the C stack: a value nested 50 000 deep would kill the process,
    so it goes to jsonschema (RecursionError, which callers handle) — run apart to be safe."""
    code = textwrap.dedent(
        """
        import threading
        from crawler.schemas import schema_from_document
        schema = schema_from_document({
            "type": "object",
            "properties": {"tree": {"$ref": "#/$defs/t"}},
            "$defs": {"t": {"type": "array", "items": {"$ref": "#/$defs/t"}}},
        })
        value = []
        for _ in range(50000):
            value = [value]
        out = []
        def run():
            out.append(schema.fast({"tree": value}))
            try:
                schema.errors({"tree": value})
            except RecursionError:
                out.append("RecursionError")
            out.append(schema.errors({"tree": [[[]]]}))
            out.append(schema.errors({"tree": [[1]]}))
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        print(out)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "[False, 'RecursionError', [], [\"tree: 1 is not of type 'array' ($.tree[0][0])\"]]"
    )


@pytest.fixture
def pool() -> Any:
    workers = WorkerPool(1)
    yield workers
    workers.close()


def test_the_worker_checks_formats(pool: WorkerPool) -> None:
    """Workers get schemas by document (``schema_from_document``) and compile them behind the
    sandbox: the format check works there too."""
    source = (
        "from crawler.parsing import Page, text\n\n\n"
        "def parse(page: Page) -> dict:\n"
        '    return {"name": text(page.css("h1")), "image": "not a uri"}\n'
    )
    schema: Schema = load_schema("product")
    result = pool.run(source, "<h1>Mixer</h1>", "http://x.test/", schema=schema, grounding=False)
    assert result.failure is None, result.failure
    assert result.errors == ['image: "not a uri" is not a "uri" ($.image)']
