from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.exceptions import SchemaError
from crawler.schemas import load_schema, schema_names


def test_shipped_schemas_are_valid_and_described() -> None:
    names = schema_names()
    assert {"product", "article", "job_posting", "book", "event"} <= set(names)
    for name in names:
        schema = load_schema(name)
        assert schema.document["$schema"].endswith("2020-12/schema")
        assert schema.document.get("description")
        for prop, spec in schema.properties.items():
            assert spec.get("description"), f"{name}.{prop} has no description"
        assert load_schema(name) is schema, "one validator object per schema"


def test_errors_name_field_message_and_path() -> None:
    schema = load_schema("product")
    assert schema.errors({"name": "x", "price": 3}) == []
    errors = schema.errors({"price": "cheap", "extra": 1})
    assert any(e.startswith("price: 'cheap' is not of type 'number' ($.price)") for e in errors)
    assert any(e.startswith("name: 'name' is a required property") for e in errors)
    assert any(e.startswith("extra: ") for e in errors)


def test_bad_schema_input(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="unknown schema 'nope'"):
        load_schema("nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(SchemaError, match=r"bad\.json: not valid JSON"):
        load_schema(str(bad))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "nonsense"}}}))
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        load_schema(str(wrong))
    array = tmp_path / "array.json"
    array.write_text(json.dumps({"type": "array"}))
    with pytest.raises(SchemaError, match='must have "type": "object"'):
        load_schema(str(array))


def test_fast_path_never_calls_an_invalid_item_valid() -> None:
    """The compiled checker answers "valid" only where jsonschema does, over odd values too."""
    import random

    from crawler.schemas import schema_names

    rng = random.Random(11)
    odd: list[object] = [
        None,
        True,
        False,
        0,
        1,
        -1,
        2.5,
        -0.5,
        1.0,
        float("nan"),
        float("inf"),
        "",
        "x",
        "GBP",
        "gbp",
        "2026-02-30",
        "2026-02-03",
        "http://a.test/x",
        "not a url",
        [],
        ["a"],
        [1],
        ["a", ""],
        {},
        {"a": 1},
        "a" * 300,
    ]
    for name in schema_names():
        schema = load_schema(name)
        assert schema.fast is not None, f"{name}: the shipped schemas take the fast path"
        fields = list(schema.properties) + ["unknown_field"]
        for _ in range(3000):
            item = {f: rng.choice(odd) for f in rng.sample(fields, rng.randint(0, len(fields)))}
            if schema.fast(item):
                assert schema.validator.is_valid(item), (name, item)
                assert schema.errors(item) == []
    product = load_schema("product")
    assert product.fast is not None
    assert product.fast({"name": "Mixer", "price": 12.5, "currency": "GBP", "rating": 4})
    assert not product.fast({"name": "Mixer", "price": -1})
    assert product.errors({"name": "Mixer", "price": -1}) == [
        "price: -1 is less than the minimum of 0 ($.price)"
    ]
