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
