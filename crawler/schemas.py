"""JSON Schemas of item types: loading by name or path, one reusable validator per schema.

A schema is a draft 2020-12 JSON Schema of an object. Properties may carry ``"x-derived": true``:
their values are computed (ISO dates, absolute URLs, currency codes) rather than copied from the
page, so the grounding check skips them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as _JSONSchemaError

from crawler.exceptions import SchemaError

__all__ = ["SCHEMA_DIR", "Schema", "load_schema", "schema_from_document", "schema_names"]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@dataclass(eq=False)
class Schema:
    """A loaded schema with its validator (built once, reused for every item)."""

    name: str
    path: str
    document: dict[str, Any]
    validator: Draft202012Validator = field(repr=False)
    digest: str = ""
    fast: Callable[[Any], bool] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.fast is None:
            self.fast = _fast_validator(self.document, self.validator)

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        props = self.document.get("properties", {})
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        return list(self.document.get("required", []))

    def is_derived(self, name: str) -> bool:
        return bool(self.properties.get(name, {}).get("x-derived"))

    def is_list(self, name: str) -> bool:
        return self.properties.get(name, {}).get("type") == "array"

    def field_type(self, name: str) -> str:
        prop = self.properties.get(name, {})
        kind = prop.get("type", "string")
        if kind == "array":
            kind = prop.get("items", {}).get("type", "string")
        return kind if isinstance(kind, str) else "string"

    def errors(self, item: Any) -> list[str]:
        """Every validation error as ``field: message (JSON path)``; empty when the item is valid."""
        if self.fast is not None and self.fast(item):
            return []  # the common case, decided without jsonschema's machinery
        if self.validator.is_valid(item):
            return []
        out = []
        for error in sorted(self.validator.iter_errors(item), key=lambda e: list(map(str, e.path))):
            where = error.json_path
            name = str(error.path[0]) if error.path else _missing_field(error) or "(item)"
            out.append(f"{name}: {error.message} ({where})")
        return out


def _missing_field(error: Any) -> str | None:
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance:
                return str(name)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return ",".join(
            sorted(k for k in error.instance if k not in error.schema.get("properties", {}))
        )
    return None


# -- a fast path for the usual item schema -------------------------------------------------------
#
# Validating a flat item with jsonschema costs ~0.1 ms, a large share of a page's budget. Schemas
# built only from the keywords below get a compiled checker that says "valid" for an item that
# is; anything else (an invalid item, an unusual value, a schema with other keywords) goes to
# jsonschema, which stays the one source of error messages. So the checker may only ever answer
# True where jsonschema would.

_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "default", "$comment", "deprecated", "readOnly"}
)
_FIELD_KEYWORDS = _ANNOTATIONS | {
    "type",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "minItems",
    "maxItems",
}
_ITEM_KEYWORDS = _ANNOTATIONS | {
    "$schema",
    "$id",
    "type",
    "properties",
    "required",
    "additionalProperties",
}


def _fast_validator(document: dict[str, Any], validator: Any) -> Callable[[Any], bool] | None:
    if document.get("type") != "object":
        return None
    if any(k not in _ITEM_KEYWORDS and not k.startswith("x-") for k in document):
        return None
    extra = document.get("additionalProperties", True)
    if not isinstance(extra, bool):
        return None
    checks: dict[str, Callable[[Any], bool]] = {}
    for name, prop in (document.get("properties") or {}).items():
        check = _fast_field(prop, validator)
        if check is None:
            return None
        checks[name] = check
    required = tuple(document.get("required", ()))

    def fast(item: Any) -> bool:
        if type(item) is not dict:
            return False
        for name in required:
            if name not in item:
                return False
        for name, value in item.items():
            check = checks.get(name)
            if check is None:
                if not extra:
                    return False
            elif not check(value):
                return False
        return True

    return fast


def _fast_field(prop: Any, validator: Any) -> Callable[[Any], bool] | None:
    if not isinstance(prop, dict):
        return None
    if any(k not in _FIELD_KEYWORDS and not k.startswith("x-") for k in prop):
        return None
    kind = prop.get("type")
    if kind == "array":
        inner = _fast_field(prop.get("items", {}), validator)
        if inner is None:
            return None
        low, high = prop.get("minItems", 0), prop.get("maxItems")

        def array(value: Any) -> bool:
            if type(value) is not list or len(value) < low:
                return False
            if high is not None and len(value) > high:
                return False
            return all(inner(v) for v in value)

        return array
    if kind == "string":
        low, high = prop.get("minLength", 0), prop.get("maxLength")
        pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
        fmt = prop.get("format")
        checker = validator.format_checker

        def string(value: Any) -> bool:
            if type(value) is not str or len(value) < low:
                return False
            if high is not None and len(value) > high:
                return False
            if pattern is not None and pattern.search(value) is None:
                return False
            return fmt is None or checker is None or checker.conforms(value, fmt)

        return string
    if kind in ("number", "integer"):
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in _bounds(prop)):
            return None
        allowed: tuple[type, ...] = (int,) if kind == "integer" else (int, float)
        minimum, maximum = prop.get("minimum"), prop.get("maximum")
        above, below = prop.get("exclusiveMinimum"), prop.get("exclusiveMaximum")

        def number(value: Any) -> bool:
            if type(value) not in allowed or value != value:  # no bool, no NaN
                return False
            if minimum is not None and value < minimum:
                return False
            if maximum is not None and value > maximum:
                return False
            if above is not None and value <= above:
                return False
            return below is None or value < below

        return number
    return None


def _bounds(prop: dict[str, Any]) -> list[Any]:
    keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    return [prop[k] for k in keys if k in prop]


_cache: dict[str, Schema] = {}


def schema_from_document(document: dict[str, Any], name: str = "schema") -> Schema:
    """A schema from an already parsed document (a worker receives schemas this way)."""
    try:
        Draft202012Validator.check_schema(document)
    except _JSONSchemaError as exc:
        raise SchemaError(f"schema {name!r}: not a valid JSON Schema: {exc.message}") from exc
    raw = json.dumps(document, sort_keys=True).encode()
    return Schema(
        name=name,
        path="",
        document=document,
        validator=Draft202012Validator(
            document, format_checker=Draft202012Validator.FORMAT_CHECKER
        ),
        digest=hashlib.sha256(raw).hexdigest()[:16],
    )


def schema_names() -> list[str]:
    """Names of the schemas shipped in ``schemas/``."""
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))


def load_schema(name_or_path: str | Path, name: str | None = None) -> Schema:
    """A schema by name (``product``) from ``schemas/`` or by path to a ``.json`` file (named
    ``name`` when given, else after the file).

    Raises :class:`SchemaError` naming the file and the problem.
    """
    key = str(name_or_path) + (f"#{name}" if name else "")
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if name:
        schema = load_schema(name_or_path)
        named = Schema(name, schema.path, schema.document, schema.validator, schema.digest)
        _cache[key] = named
        return named
    key = str(name_or_path)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    path = Path(key)
    if not (path.suffix == ".json" or "/" in key or path.exists()):
        path = SCHEMA_DIR / f"{key}.json"
        if not path.exists():
            raise SchemaError(
                f"unknown schema {key!r}: not a file, and not one of {schema_names()}"
            )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read schema: {exc.strerror}") from exc
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise SchemaError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SchemaError(f"{path}: a schema must be a JSON object, got {type(document).__name__}")
    try:
        Draft202012Validator.check_schema(document)
    except _JSONSchemaError as exc:
        raise SchemaError(f"{path}: not a valid JSON Schema: {exc.message}") from exc
    if document.get("type") != "object":
        raise SchemaError(
            f'{path}: the item schema must have "type": "object", got {document.get("type")!r}'
        )
    schema = Schema(
        name=path.stem,
        path=str(path),
        document=document,
        validator=Draft202012Validator(
            document, format_checker=Draft202012Validator.FORMAT_CHECKER
        ),
        digest=hashlib.sha256(raw).hexdigest()[:16],
    )
    _cache[key] = schema
    return schema
