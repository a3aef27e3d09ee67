"""Exceptions of scrapec. Every one subclasses :class:`ScrapecError` and carries its data.

::

    ScrapecError
    ├── BadInput                 a file, URL, schema or option given by the user is unusable
    │   └── SchemaError          a schema cannot be found or is not a valid JSON Schema
    ├── PolicyViolation          parser source breaks the sandbox policy (line, rule)
    ├── ParserFailed             a parser raised, timed out, ran out of memory or returned a bad item
    ├── RegistryError            the parser registry on disk is missing, corrupt or locked
    ├── RoutingError             no template fits a page
    └── CompileError             no candidate parser passed the gate
        └── BudgetExhausted      the LLM budget (calls or cost) is spent

``ParserTimeout`` is deliberately *not* an ``Exception``: it is raised inside untrusted parser code
by the time limit and must not be swallowed by an ``except Exception`` written in that code.
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "BudgetExhausted",
    "CompileError",
    "ParserFailed",
    "ParserTimeout",
    "PolicyViolation",
    "RegistryError",
    "RoutingError",
    "SchemaError",
    "ScrapecError",
]


class ScrapecError(Exception):
    """Base of every error scrapec raises on purpose."""


class BadInput(ScrapecError):
    """Unusable user input: names the file/field and the value."""


class SchemaError(BadInput):
    """A schema cannot be loaded or is not a valid draft 2020-12 JSON Schema."""


class PolicyViolation(ScrapecError):
    """Parser source breaks the sandbox policy."""

    def __init__(self, filename: str, line: int, rule: str) -> None:
        self.filename = filename
        self.line = line
        self.rule = rule
        super().__init__(f"{filename}:{line}: {rule}")


class ParserFailed(ScrapecError):
    """A parser could not produce a usable item for a page."""

    def __init__(self, template: str, field: str | None, reason: str) -> None:
        self.template = template
        self.field = field
        self.reason = reason
        where = f" field {field!r}" if field else ""
        super().__init__(f"parser of {template!r}{where}: {reason}")


class ParserTimeout(BaseException):
    """Raised inside a running parser when its time limit is reached."""


class RegistryError(ScrapecError):
    """The registry on disk is unusable (names the file and the problem)."""


class RoutingError(ScrapecError):
    """No template of the registry fits a page."""


class CompileError(ScrapecError):
    """No candidate parser passed the gate; ``report`` says why."""

    def __init__(self, message: str, report: object = None) -> None:
        self.report = report
        super().__init__(message)


class BudgetExhausted(CompileError):
    """The LLM budget (calls or cost) for a template or a run is spent."""
