"""A pytest plugin: every fixture of every template becomes tests, one per expected field plus
one "no extra fields" and one "checks" (schema and grounding) test per case.

Collected from ``expected.json`` files beside a ``page.html``; the parsers come from the
registry named by the ``scrapec_registry`` ini option (default ``generated_parsers``). A case
whose template has no published parser is skipped with the reason; a retired case (of a layout
the site no longer has, :mod:`crawler.fixtures`) is not collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.checks import grounding_errors
from crawler.exceptions import ScrapecError
from crawler.fixtures import RETIRED, Fixture, compare_items
from crawler.registry import Registry
from crawler.schemas import load_schema
from crawler.workers import default_pool


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "scrapec_registry", "parser registry used for fixture tests", default="generated_parsers"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name == "expected.json" and (file_path.parent / "page.html").is_file():
        return FixtureFile.from_parent(parent, path=file_path)
    return None


class FixtureFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        fixture = Fixture.load(self.path.parent)
        if fixture.review == RETIRED:
            return  # a fixture of a layout the site no longer has gates nothing
        root = Path(self.config.rootpath) / str(self.config.getini("scrapec_registry"))
        for name in sorted(fixture.expected):
            yield FieldItem.from_parent(
                self, name=f"field[{name}]", fixture=fixture, registry=root, field=name
            )
        yield FieldItem.from_parent(
            self, name="no-extra-fields", fixture=fixture, registry=root, field=None
        )
        yield FieldItem.from_parent(self, name="checks", fixture=fixture, registry=root, field="")


_items: dict[tuple[str, str], tuple[dict[str, Any] | None, str | None]] = {}


def _extract(fixture: Fixture, registry: Path) -> tuple[dict[str, Any] | None, str | None]:
    key = (str(registry), str(fixture.path))
    if key not in _items:
        try:
            version, source = Registry(registry).active_source(fixture.template)
        except ScrapecError as exc:
            _items[key] = (None, f"skip: {exc}")
        else:
            work = default_pool().run(
                source,
                fixture.html(),
                fixture.url,
                template=fixture.template,
                version=version,
                grounding=False,
            )
            failure = work.policy or work.failure
            _items[key] = (work.item, None) if work.item is not None else (None, failure)
    return _items[key]


class FieldItem(pytest.Item):
    def __init__(
        self, *, fixture: Fixture, registry: Path, field: str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.fixture = fixture
        self.registry = registry
        self.field = field

    def runtest(self) -> None:
        item, problem = _extract(self.fixture, self.registry)
        if problem and problem.startswith("skip: "):
            pytest.skip(problem[6:])
        if item is None:
            raise FixtureMismatch(f"parser failed: {problem}")
        if self.field == "":
            schema = (
                load_schema(self.fixture.schema)
                if self.fixture.schema
                else Registry(self.registry).info(self.fixture.template).load_schema()
            )
            if schema is None:
                raise FixtureMismatch(f"no schema known for {self.fixture.template}")
            errors = schema.errors(item) + grounding_errors(item, self.fixture.page(), schema)
            if errors:
                raise FixtureMismatch("; ".join(errors))
            return
        if self.field is None:
            extra = sorted(
                k for k in item if k not in self.fixture.expected and item[k] not in (None, [], "")
            )
            if extra:
                raise FixtureMismatch(f"fields not in expected.json: {extra}")
            return
        missing = Registry(self.registry).info(self.fixture.template).missing_fields
        if self.field in missing:
            pytest.skip(f"{self.field} is left out of the parser: {missing[self.field]}")
        diffs = compare_items(
            {self.field: self.fixture.expected.get(self.field)}, {self.field: item.get(self.field)}
        )
        if diffs:
            raise FixtureMismatch(str(diffs[0]).lstrip(": "))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureMismatch):
            return f"{self.fixture.path}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.fixture.path, 0, f"{self.fixture.name} {self.name}"


class FixtureMismatch(AssertionError):
    """A fixture field differs from what the parser extracted."""
