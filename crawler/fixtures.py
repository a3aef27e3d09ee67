"""Fixtures: saved pages of a template with their expected items, the tests a parser must pass.

Layout: ``<root>/<site>/<template>/<case>/{page.html, meta.json, expected.json}``; ``meta.json``
holds at least ``url`` (and may hold ``template`` and ``schema``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput
from crawler.parsing import Page, clean, decode_html

__all__ = ["FieldDiff", "Fixture", "compare_items", "load_fixtures", "normalise"]


@dataclass(frozen=True)
class FieldDiff:
    """One field whose extracted value differs from the expected one."""

    case: str
    field: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.case}: {self.field}: expected {self.expected!r}, got {self.got!r}"


@dataclass
class Fixture:
    """One saved page of a template and its expected item."""

    path: Path
    template: str
    url: str
    schema: str | None
    expected: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    partial: bool = False  # expected holds only the fields a labeller knew: compare only those
    source: str | None = field(default=None, repr=False)  # the HTML, for fixtures held in memory

    @property
    def name(self) -> str:
        return f"{self.template}/{self.path.name}"

    def html(self) -> str:
        if self.source is not None:
            return self.source
        return decode_html((self.path / "page.html").read_bytes())

    def page(self) -> Page:
        return Page(self.html(), self.url)

    def compare(self, got: dict[str, Any]) -> list[FieldDiff]:
        if self.partial:
            got = {k: v for k, v in got.items() if k in self.expected}
        return compare_items(self.expected, got, self.name)

    def save(self, case_dir: str | Path, schema: str | None = None) -> Fixture:
        """Write this fixture as ``case_dir/{page.html, meta.json, expected.json}`` (atomically)."""
        from crawler.registry import atomic_write

        case = Path(case_dir)
        meta = dict(self.meta, url=self.url, template=self.template)
        if schema or self.schema:
            meta["schema"] = schema or self.schema
        if self.partial:
            meta["partial"] = True
        atomic_write(case / "page.html", self.html().encode("utf-8"))
        atomic_write(
            case / "meta.json", (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
        )
        atomic_write(
            case / "expected.json",
            (
                json.dumps(self.expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            ).encode(),
        )
        return Fixture.load(case, self.template)

    @classmethod
    def load(cls, case_dir: str | Path, template: str | None = None) -> Fixture:
        case = Path(case_dir)
        for required in ("page.html", "expected.json"):
            if not (case / required).is_file():
                raise BadInput(f"{case / required}: fixture file missing")
        meta: dict[str, Any] = {}
        if (case / "meta.json").is_file():
            meta = _read_json(case / "meta.json")
        expected = _read_json(case / "expected.json")
        name = template or meta.get("template") or f"{case.parent.parent.name}/{case.parent.name}"
        return cls(
            case,
            str(name),
            str(meta.get("url", "")),
            meta.get("schema"),
            expected,
            meta,
            bool(meta.get("partial")),
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_fixtures(root: str | Path, template: str | None = None) -> list[Fixture]:
    """Every fixture under ``root``: a folder of cases, of templates, or of sites.

    With ``template``, only that template's fixtures (and cases found directly under ``root`` are
    taken as that template's).
    """
    base = Path(root)
    if not base.is_dir():
        raise BadInput(f"{base}: fixtures folder not found")
    cases = sorted(
        {p.parent for p in base.rglob("expected.json") if (p.parent / "page.html").is_file()}
    )
    out = []
    for case in cases:
        depth = len(case.relative_to(base).parts)
        fixture = Fixture.load(case, template if template and depth <= 2 else None)
        if template is None or fixture.template == template:
            out.append(fixture)
    return out


def normalise(value: Any) -> Any:
    """The comparable form of a value: strings cleaned, numbers as floats, lists element-wise."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if normalise(v) not in (None, [], {})}
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def compare_items(expected: dict[str, Any], got: dict[str, Any], case: str = "") -> list[FieldDiff]:
    """Field-by-field differences; a field missing on one side equals None / empty on the other,
    and a field the parser returns that the fixture does not expect is a difference too."""
    diffs = []
    for name in sorted(set(expected) | set(got)):
        want, have = normalise(expected.get(name)), normalise(got.get(name))
        if want in ([], {}):
            want = None
        if have in ([], {}):
            have = None
        if not _equal(want, have):
            diffs.append(FieldDiff(case, name, expected.get(name), got.get(name)))
    return diffs
