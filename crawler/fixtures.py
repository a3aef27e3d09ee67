"""Fixtures: saved pages of a template with their expected items, the tests a parser must pass.

Layout: ``<root>/<site>/<template>/<case>/{page.html, meta.json, expected.json}``; ``meta.json``
holds at least ``url`` (and may hold ``template`` and ``schema``).

A fixture has a life, said by one field of its ``meta.json``, ``review`` (:func:`review_status`,
read by the gate, ``scrapec test`` and ``scrapec fixture list`` alike):

- ``reviewed`` (or no ``review`` field: a fixture a person wrote): its expected item is the truth;
- ``unreviewed``: a machine wrote the expected item (``scrapec fixture save`` from the current
  parser, or a regeneration from held pages, cases ``regen-<key>``): it waits in the review
  queue — ``scrapec fixture list`` shows it, ``scrapec fixture accept`` makes it reviewed. It is
  tested like any case, but it is named as unreviewed wherever its result is reported
  (``parser.json``'s ``fixtures_unreviewed``), and ``scrapec publish`` wants at least one
  reviewed case: an unreviewed fixture never stands in for a person;
- ``retired``: a fixture of a layout the site no longer has: kept, marked with the parser
  ``version`` it belongs to (and ``retired_by``, the version that replaced it, ``retired_at``,
  ``retired_reason``), and no longer loaded (:func:`load_fixtures`), so it gates nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput, ScrapecError
from crawler.parsing import Page, clean, decode_html

__all__ = [
    "MAX_JSON_BYTES",
    "RETIRED",
    "REVIEWED",
    "REVIEW_STATUSES",
    "UNREVIEWED",
    "FieldDiff",
    "Fixture",
    "check_input_file",
    "compare_items",
    "find_case",
    "held_case",
    "load_fixtures",
    "normalise",
    "read_input_file",
    "retire",
    "review_status",
    "set_review",
]

REVIEWED, UNREVIEWED, RETIRED = "reviewed", "unreviewed", "retired"
REVIEW_STATUSES = (REVIEWED, UNREVIEWED, RETIRED)
_RETIRED_MARKS = ("version", "retired_by", "retired_at", "retired_reason")

MAX_JSON_BYTES = 16 * 2**20  # meta.json, expected.json, a schema
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _limit_error(path: Path, size: int, limit: int) -> str:
    return f"{path}: {size / 1e6:.1f} MB is larger than the {limit / 2**20:g} MiB limit"


def check_input_file(
    path: str | Path, limit: int, error: type[ScrapecError] = BadInput
) -> os.stat_result:
    """Stat ``path`` (symlinks followed) and raise ``error`` naming it unless it is a regular file
    of at most ``limit`` bytes: a FIFO would block a read, a device or a huge file never end."""
    file = Path(path)
    try:
        st = file.stat()
    except OSError as exc:
        raise error(f"{file}: cannot read: {exc.strerror or exc}") from None
    _check_stat(file, st, limit, error)
    return st


def _check_stat(file: Path, st: os.stat_result, limit: int, error: type[ScrapecError]) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise error(f"{file}: is {kind}, not a file")
    if st.st_size > limit:
        raise error(_limit_error(file, st.st_size, limit))


def read_input_file(path: str | Path, limit: int, error: type[ScrapecError] = BadInput) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else ``error`` naming the file.

    The file is opened without blocking (a FIFO is refused, not waited on), checked with fstat
    (so what is checked is what is read) and read to at most ``limit`` + 1 bytes (a file that
    grows while it is read is refused too).
    """
    file = Path(path)
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise error(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        _check_stat(file, os.fstat(fd), limit, error)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        try:
            os.set_blocking(fd, True)
            data = fh.read(limit + 1)
        except OSError as exc:
            raise error(f"{file}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(_limit_error(file, len(data), limit))
    return data


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
    # the case's name when it is not its folder's (a held page labelled in memory is named by
    # the case it will be saved as: :func:`held_case`)
    case: str | None = None

    @property
    def name(self) -> str:
        return f"{self.template}/{self.case or self.path.name}"

    @property
    def review(self) -> str:
        """``reviewed``, ``unreviewed`` or ``retired`` (:func:`review_status`)."""
        return review_status(self.meta)

    @property
    def reviewed(self) -> bool:
        return self.review == REVIEWED

    def html(self) -> str:
        if self.source is not None:
            return self.source
        from crawler.extract import MAX_PAGE_BYTES, check_page_bytes

        file = self.path / "page.html"
        body = read_input_file(file, MAX_PAGE_BYTES)
        check_page_bytes(body, str(file))
        return decode_html(body)

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
        """Read a case folder; raise :class:`BadInput` naming the file for a missing or unusable
        file and for a ``meta.json`` field of the wrong type."""
        from crawler.extract import MAX_PAGE_BYTES

        case = Path(case_dir)
        for required in ("page.html", "expected.json"):
            if not os.path.lexists(case / required):
                raise BadInput(f"{case / required}: fixture file missing")
        check_input_file(case / "page.html", MAX_PAGE_BYTES)
        meta: dict[str, Any] = {}
        if os.path.lexists(case / "meta.json"):
            meta = _read_json(case / "meta.json")
            _check_meta(case / "meta.json", meta)
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


_META_TYPES: dict[str, tuple[type, ...]] = {
    "url": (str,),
    "template": (str,),
    "schema": (str, type(None)),
    "partial": (bool,),
    "review": (str,),
    "version": (int, type(None)),
    "retired_by": (int, type(None)),
}


def review_status(meta: dict[str, Any]) -> str:
    """The review status a fixture's ``meta.json`` says: ``reviewed`` when it says none (a
    fixture a person wrote), ``unreviewed`` for any text that is not a status (the note older
    ``scrapec fixture save`` wrote: "saved from the current parser: check expected.json")."""
    value = meta.get("review")
    if value is None or value == REVIEWED:
        return REVIEWED
    return value if value in REVIEW_STATUSES else UNREVIEWED


def held_case(url: str) -> str:
    """The case name a held page labelled by a regeneration is saved under: ``regen-<key>``."""
    return "regen-" + hashlib.sha1(url.encode("utf-8", "backslashreplace")).hexdigest()[:10]


def set_review(case_dir: str | Path, status: str, **marks: Any) -> Fixture:
    """Set a saved fixture's review status (and, for ``retired``, its ``marks``: ``version``,
    ``retired_by``, ``retired_reason``) in its ``meta.json``, atomically; return it reloaded.

    Making it ``reviewed`` or ``unreviewed`` drops the marks of a retirement."""
    from crawler.registry import atomic_write

    if status not in REVIEW_STATUSES:
        raise BadInput(f"review status {status!r}: choose one of {', '.join(REVIEW_STATUSES)}")
    fixture = Fixture.load(case_dir)
    meta = dict(fixture.meta, url=fixture.url, template=fixture.template, review=status)
    for key in _RETIRED_MARKS:
        meta.pop(key, None)
    if status == RETIRED:
        meta["retired_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta.update({k: v for k, v in marks.items() if v is not None})
    path = Path(case_dir) / "meta.json"
    atomic_write(path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return Fixture.load(case_dir, fixture.template)


def retire(
    fixtures: list[Fixture], version: int | None, by: int | None, reason: str
) -> list[Fixture]:
    """Retire saved fixtures (those on disk; not already retired): kept, marked with the parser
    ``version`` they belong to and the version ``by`` that replaced it; returns them reloaded."""
    out = []
    for one in fixtures:
        if one.source is not None or one.review == RETIRED:
            continue  # held in memory (nothing on disk to mark), or retired already
        out.append(
            set_review(one.path, RETIRED, version=version, retired_by=by, retired_reason=reason)
        )
    return out


def find_case(root: str | Path, name: str) -> Path:
    """The case folder ``name`` names: ``SITE/NAME/CASE`` under the fixtures folder ``root``, or
    a path to the case folder; :class:`BadInput` naming it when it is no fixture, or is outside
    ``root``."""
    base = Path(root)
    given = Path(name)
    candidates = [given] if given.is_absolute() else [base / name, given]
    for case in candidates:
        if os.path.lexists(case / "expected.json"):
            resolved, inside = case.resolve(), base.resolve()
            if not resolved.is_relative_to(inside):
                raise BadInput(
                    f"{case}: resolves to {str(resolved)!r}, outside the fixtures folder "
                    f"{str(inside)!r}"
                )
            return case
    raise BadInput(
        f"{name!r}: no fixture of that name under {str(base)!r} "
        "(give SITE/NAME/CASE, as `scrapec fixture list` shows it, or the case folder)"
    )


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    for key, types in _META_TYPES.items():
        if key in meta and not isinstance(meta[key], types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise BadInput(f"{path}: {key!r} must be {wanted}, got {meta[key]!r}")
    if isinstance(meta.get("template"), str):
        from crawler.registry import check_template_id

        try:
            check_template_id(meta["template"])
        except BadInput as exc:
            raise BadInput(f"{path}: 'template': {exc}") from None


def _read_json(path: Path) -> dict[str, Any]:
    raw = read_input_file(path, MAX_JSON_BYTES)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_fixtures(
    root: str | Path, template: str | None = None, retired: bool = False
) -> list[Fixture]:
    """Every fixture under ``root``: a folder of cases, of templates, or of sites; retired ones
    only with ``retired`` (they gate nothing).

    With ``template``, only that template's fixtures (and cases found directly under ``root`` are
    taken as that template's).
    """
    base = Path(root)
    if not base.is_dir():
        raise BadInput(f"{base}: fixtures folder not found")
    cases = sorted(
        {p.parent for p in base.rglob("expected.json") if os.path.lexists(p.parent / "page.html")}
    )
    out = []
    for case in cases:
        depth = len(case.relative_to(base).parts)
        fixture = Fixture.load(case, template if template and depth <= 2 else None)
        if fixture.review == RETIRED and not retired:
            continue
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
