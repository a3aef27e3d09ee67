"""JSON Schemas of item types: loading by name or path, one reusable validator per schema.

A schema is a draft 2020-12 JSON Schema of an object. Properties may carry ``"x-derived": true``:
their values are computed (ISO dates, absolute URLs, currency codes) rather than copied from the
page, so the grounding check skips them.

Items are validated by jsonschema-rs (draft 2020-12, ``format`` asserted: ``uri``, ``date``,
``email``…, no remote ``$ref`` ever fetched), compiled once per schema: ~0.3 µs for a valid item.
An invalid item's errors are worded by jsonschema (Python) where it reports the same error (same
place, same keyword) — its wording is the one the project's messages, tests and run histories
already use — and by jsonschema-rs where only jsonschema-rs sees the error (a ``format``
jsonschema has no checker for, a NaN, a pattern under ECMA 262 rules). jsonschema-rs decides which
errors there are. jsonschema alone (with a hand-written fast path for valid items) is used for a
schema jsonschema-rs cannot compile (a Python-only regex such as ``\\Z``) and for a value that is
not JSON data (a set, an object, a non-string key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as _JSONSchemaError
from jsonschema.exceptions import ValidationError as _JSONValidationError

from crawler.exceptions import SchemaError
from crawler.problems import Problem, ProblemKind

__all__ = ["SCHEMA_DIR", "Schema", "load_schema", "schema_from_document", "schema_names"]

# the shipped schemas: ``schemas/`` of the checkout, which ``crawler/_schemas`` links to and the
# wheel carries as package data
SCHEMA_DIR = Path(__file__).resolve().parent / "_schemas"


#: Nesting (of lists and objects) beyond which an item is not given to jsonschema-rs when the
#: schema refers to itself (``$ref``): it recurses on the C stack and a value nested ~30 000 deep
#: kills the process (measured in a thread). Items from parsers are far shallower
#: (``crawler.sandbox.MAX_ITEM_DEPTH``); a deeper one goes to jsonschema, which raises
#: RecursionError instead.
MAX_RS_DEPTH = 1000

#: What jsonschema-rs raises for a value that is not JSON data (a set, an object, a dict key that
#: is not a string) — the item then goes to jsonschema.
_NOT_JSON = (ValueError, TypeError, OverflowError)


@dataclass(eq=False)
class Schema:
    """A loaded schema with its validators (built once, reused for every item).

    ``validator`` is jsonschema's (it words errors and checks schemas); ``compiled`` is the
    jsonschema-rs validator that decides validity, None when jsonschema-rs cannot compile the
    schema; ``fast`` answers "valid?" quickly (jsonschema-rs, else a hand-written checker for the
    usual flat item schema, else None).
    """

    name: str
    path: str
    document: dict[str, Any]
    validator: Draft202012Validator = field(repr=False)
    digest: str = ""
    fast: Callable[[Any], bool] | None = field(default=None, repr=False)
    compiled: jsonschema_rs.Validator | None = field(default=None, repr=False)
    compile_error: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.compiled is None and not self.compile_error:
            self.compiled, self.compile_error = _compile(self.document)
        self._recursive = _refers(self.document)
        if self.fast is None:
            if self.compiled is not None:
                self.fast = self._rs_valid
            else:
                self.fast = _fast_validator(self.document, self.validator)

    @property
    def engine(self) -> str:
        """Which library decides validity: ``jsonschema-rs`` or ``jsonschema``."""
        return "jsonschema-rs" if self.compiled is not None else "jsonschema"

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

    def _rs_takes(self, item: Any) -> bool:
        return self.compiled is not None and not (
            self._recursive and _deeper_than(item, MAX_RS_DEPTH)
        )

    def _rs_valid(self, item: Any) -> bool:
        """jsonschema-rs's verdict; False for what it cannot take (then jsonschema decides)."""
        if self.compiled is None or not self._rs_takes(item):
            return False
        try:
            return self.compiled.is_valid(item)
        except _NOT_JSON:
            return False

    def errors(self, item: Any) -> list[Problem]:
        """Every validation error as ``field: message (JSON path)``, a :class:`Problem` of kind
        ``missing`` (a required field) or ``schema`` about that field (None for the whole item);
        empty when the item is valid."""
        compiled = self.compiled
        if compiled is not None and not (self._recursive and _deeper_than(item, MAX_RS_DEPTH)):
            try:
                if compiled.is_valid(item):
                    return []  # the common case: ~0.3 µs
                found = list(compiled.iter_errors(item))
            except _NOT_JSON:
                found = []  # not JSON data: jsonschema alone decides, as below
            if found:
                return _worded(item, found, self.validator)
        elif self.fast is not None and self.fast(item):
            return []  # the hand-written checker, for a schema jsonschema-rs cannot compile
        if self.validator.is_valid(item):
            return []
        out = []
        for error in sorted(self.validator.iter_errors(item), key=lambda e: list(map(str, e.path))):
            where = error.json_path
            name = str(error.path[0]) if error.path else _missing_field(error)
            kind = ProblemKind.MISSING if error.validator == "required" else ProblemKind.SCHEMA
            out.append(_problem(kind, name, f"{error.message} ({where})"))
        return out


def _problem(kind: ProblemKind, name: str | None, message: str) -> Problem:
    """``field: message``, about the field (``(item)`` and None when about the whole item)."""
    return Problem.of(kind, name or None, f"{name or '(item)'}: {message}")


def _compile(document: dict[str, Any]) -> tuple[jsonschema_rs.Validator | None, str]:
    """The jsonschema-rs validator of a schema (draft 2020-12 whatever ``$schema`` says, formats
    asserted, never fetching a remote ``$ref``), or None and why it cannot be compiled."""
    try:
        compiled = jsonschema_rs.Draft202012Validator(
            document, validate_formats=True, ignore_unknown_formats=True, offline=True
        )
    except (*_NOT_JSON, jsonschema_rs.ReferencingError) as exc:
        return None, (str(exc).splitlines() or [type(exc).__name__])[0]
    return compiled, ""


def _refers(document: Any) -> bool:
    """Whether a schema holds a reference (so validation may recurse as deep as the item)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if {"$ref", "$dynamicRef", "$recursiveRef"} & node.keys():
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels in ``value`` (no recursion)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _worded(item: Any, found: list[jsonschema_rs.ValidationError], validator: Any) -> list[Problem]:
    """jsonschema-rs's errors as ``field: message (JSON path)``, each worded by jsonschema where
    it reports the same error (same place and keyword), else by jsonschema-rs."""
    python: dict[tuple[tuple[Any, ...], str], list[_JSONValidationError]] = {}
    try:
        for error in validator.iter_errors(item):
            key = (tuple(error.absolute_path), str(error.validator))
            python.setdefault(key, []).append(error)
    except RecursionError:
        python = {}
    out: list[tuple[list[str], Problem]] = []
    for error in found:
        path = tuple(error.instance_path)
        keyword = str(error.schema_path[-1]) if error.schema_path else ""
        kind = error.kind
        message = error.message
        named = _kind_field(kind)
        same = python.get((path, keyword), [])
        for twin in same:
            if not named or twin.message.startswith(f"{named!r} "):  # required: the same name
                message = twin.message
                same.remove(twin)
                break
        else:
            value = _value_at(item, path)
            if isinstance(value, float) and not math.isfinite(value):
                message = f"{value!r} is not a JSON number"  # jsonschema-rs shows it as null
        name = str(path[0]) if path else _rs_field(kind)
        required = isinstance(kind, jsonschema_rs.ValidationErrorKind.Required)
        problem = ProblemKind.MISSING if required else ProblemKind.SCHEMA
        line = _problem(problem, name, f"{message} ({_json_path(path)})")
        out.append((list(map(str, path)), line))
    out.sort(key=lambda pair: pair[0])
    return [line for _, line in out]


def _kind_field(kind: Any) -> str:
    """The property a ``required`` error is about, else ''."""
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return str(kind.property)
    return ""


def _rs_field(kind: Any) -> str | None:
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return str(kind.property)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        return ",".join(sorted(map(str, kind.unexpected)))
    return None


def _value_at(item: Any, path: tuple[Any, ...]) -> Any:
    value = item
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _json_path(path: tuple[Any, ...]) -> str:
    """``$.author[1]``, as jsonschema writes ``json_path``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _missing_field(error: Any) -> str | None:
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance and error.message.startswith(f"{name!r} "):
                return str(name)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return ",".join(
            sorted(str(k) for k in error.instance if k not in error.schema.get("properties", {}))
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
        named = dataclasses.replace(schema, name=name)  # the same compiled validators
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
