"""Schema validation cost per item: `python bench/validation.py [--seconds 0.3]`.

For every shipped schema, one realistic valid item and one invalid item (a wrong type, a missing
required field, an unexpected field), measured in one run, best of 5 rounds:

- ``hand-written+jsonschema``: the previous ``Schema.errors`` — the hand-written fast path for a
  valid item, jsonschema's ``is_valid`` + ``iter_errors`` for an invalid one (formats unchecked
  where jsonschema has no checker: ``uri``);
- ``jsonschema``: jsonschema (Python) alone, ``is_valid`` / ``list(iter_errors)``;
- ``jsonschema-rs``: the compiled jsonschema-rs validator alone, ``is_valid`` / ``list(iter_errors)``;
- ``Schema.errors``: what the project runs now (jsonschema-rs decides; an invalid item's errors
  worded by jsonschema where it reports the same error, as ``field: message (JSON path)``).

Prints µs per valid and per invalid item, the speed-up of ``Schema.errors`` over the previous
path, and whether each one catches ``image: "not a uri"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.schemas import Schema, load_schema, schema_names  # noqa: E402

TEXT = "It is hard to imagine a world without this book. " * 6


def sample_value(spec: dict[str, Any], name: str) -> Any:
    kind = spec.get("type")
    if kind == "array":
        return [sample_value(spec.get("items", {}), name) for _ in range(2)]
    if kind in ("number", "integer"):
        return 12 if kind == "integer" else 51.77
    if spec.get("format") == "uri":
        return "https://books.toscrape.com/media/cache/fe/72/fe72f0532301ec28892ae79a629a293c.jpg"
    if "pattern" in spec:
        return "GBP" if "A-Z" in spec["pattern"] else "2026-03-14"
    return TEXT if name in ("description", "summary") else f"A {name} as a page writes it"


def items_of(schema: Schema) -> tuple[dict[str, Any], dict[str, Any]]:
    valid = {name: sample_value(spec, name) for name, spec in schema.properties.items()}
    invalid = dict(valid)
    for name, spec in schema.properties.items():  # the first string field gets a number
        if spec.get("type") == "string" and name not in schema.required:
            invalid[name] = 3
            break
    for name in schema.required:
        invalid.pop(name, None)
    invalid["unexpected"] = "x"
    return valid, invalid


def every_error(validator: Any, item: Any) -> list[Any]:
    return list(validator.iter_errors(item))


def per_call(fn: Callable[[], Any], seconds: float) -> float:
    """Best µs per call over 5 rounds of about ``seconds`` each."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 10:
        fn()
        n += 1
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n * 10):
            fn()
        best = min(best, (time.perf_counter() - t0) / (n * 10))
    return best * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.3, help="time per round and case")
    args = ap.parse_args()
    rows: dict[str, list[tuple[float, float]]] = {}
    catches: dict[str, bool] = {}
    print(f"{'schema':12} {'validator':24} {'valid µs':>9} {'invalid µs':>11}")
    for name in schema_names():
        schema = load_schema(name)
        assert schema.compiled is not None, f"{name}: jsonschema-rs cannot compile it"
        # the previous path: the same schema with jsonschema-rs left out
        previous = Schema(
            schema.name,
            schema.path,
            schema.document,
            schema.validator,
            schema.digest,
            compile_error="left out for the benchmark",
        )
        assert previous.compiled is None and previous.fast is not None
        valid, invalid = items_of(schema)
        assert schema.errors(valid) == [] and previous.errors(valid) == [], name
        assert schema.errors(invalid) and previous.errors(invalid), name
        compiled, python = schema.compiled, schema.validator
        cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "hand-written+jsonschema": (
                partial(previous.errors, valid),
                partial(previous.errors, invalid),
            ),
            "jsonschema": (
                partial(python.is_valid, valid),
                partial(every_error, python, invalid),
            ),
            "jsonschema-rs": (
                partial(compiled.is_valid, valid),
                partial(every_error, compiled, invalid),
            ),
            "Schema.errors": (partial(schema.errors, valid), partial(schema.errors, invalid)),
        }
        for label, (good, bad) in cases.items():
            pair = (per_call(good, args.seconds), per_call(bad, args.seconds))
            rows.setdefault(label, []).append(pair)
            print(f"{name:12} {label:24} {pair[0]:9.2f} {pair[1]:11.2f}")
        if "image" in schema.properties:
            wrong = dict(valid, image="not a uri")
            catches["hand-written+jsonschema"] = bool(previous.errors(wrong))
            catches["jsonschema"] = not python.is_valid(wrong)
            catches["jsonschema-rs"] = not compiled.is_valid(wrong)
            catches["Schema.errors"] = bool(schema.errors(wrong))
    print()
    print(f"{'mean over schemas':24} {'valid µs':>9} {'invalid µs':>11}  image: 'not a uri'")
    means = {}
    for label, pairs in rows.items():
        means[label] = (
            sum(p[0] for p in pairs) / len(pairs),
            sum(p[1] for p in pairs) / len(pairs),
        )
        caught = "caught" if catches.get(label) else "passes"
        print(f"{label:24} {means[label][0]:9.2f} {means[label][1]:11.2f}  {caught}")
    before, now = means["hand-written+jsonschema"], means["Schema.errors"]
    print(
        f"Schema.errors vs the previous path: {before[0] / now[0]:.1f}x faster per valid item,"
        f" {before[1] / now[1]:.1f}x per invalid item"
    )
    rs = means["jsonschema-rs"][1]
    print(
        f"wording an invalid item with jsonschema costs {now[1] - rs:.1f} µs over jsonschema-rs's"
        f" own errors ({rs:.1f} µs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
