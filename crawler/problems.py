"""What went wrong with one page, as data: a :class:`Problem` names its kind and its field.

A problem *is* its message (a subclass of ``str``): it prints, joins, compares and goes into JSON
as the text it has always been, so every ``errors: list[str]`` keeps working. The modules that
need to know what happened read :attr:`Problem.kind` and :attr:`Problem.field`, never the
words; rewording a message changes nothing downstream.

>>> p = Problem.of(ProblemKind.GROUNDING, "price", "price: value 99 does not occur in the page")
>>> p == "price: value 99 does not occur in the page", p.kind, p.field
(True, <ProblemKind.GROUNDING: 'grounding'>, 'price')
>>> import json; json.dumps([p])
'["price: value 99 does not occur in the page"]'

Across the worker pipe (JSON) the kind and field travel next to the text (:meth:`Problem.to_pair`,
:meth:`Problem.from_pair`). A plain string from a module that builds none is still taken:
:func:`as_problem` reads it as the project always did.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from crawler.exceptions import ParserFailed

__all__ = ["Problem", "ProblemKind", "as_problem", "as_problems", "parser_failure"]


class ProblemKind(enum.StrEnum):
    """What kind of thing went wrong (the value is what travels in JSON)."""

    SCHEMA = "schema"  # the item fails its JSON Schema (a type, a format, a pattern, …)
    MISSING = "missing"  # a field the schema requires is not in the item
    GROUNDING = "grounding"  # a value does not occur in the page
    URL = "url"  # a URL field is not an absolute URL of an allowed scheme
    MISMATCH = "mismatch"  # a field differs from the value a fixture expects
    TIME = "time"  # the parser ran out of time
    MEMORY = "memory"  # the parser ran out of memory
    CRASH = "crash"  # the worker died or failed, or the parser recursed too deep
    EXCEPTION = "exception"  # the parser raised, returned an unusable item, or a check failed
    POLICY = "policy"  # the source was refused by the sandbox policy or did not load
    NO_TEMPLATE = "no_template"  # routing: no template fits the page
    SETUP = "setup"  # the template has no usable parser or schema (registry, schema file)
    FETCH = "fetch"  # the URL gave no HTML page (network, HTTP status, not HTML, too large, …)
    INPUT = "input"  # an argument was unusable (a URL that is not http(s), examples, …)
    OTHER = "other"  # a plain string from elsewhere: what happened is said only in words


class Problem(str):
    """One problem: its message as the text, with :attr:`kind` and :attr:`field` (None when it
    is about the whole item or page). Build one with :meth:`of`."""

    kind: ProblemKind
    field: str | None

    def __new__(
        cls, message: str, kind: ProblemKind = ProblemKind.OTHER, field: str | None = None
    ) -> Problem:
        self = super().__new__(cls, message)
        self.kind = ProblemKind(kind)
        self.field = field
        return self

    @classmethod
    def of(cls, kind: ProblemKind, field: str | None, message: str) -> Problem:
        """The problem of ``kind`` about ``field`` (or None), worded ``message``."""
        return cls(message, kind, field)

    @property
    def text(self) -> str:
        """The message as a plain ``str``."""
        return str.__str__(self)

    def reworded(self, message: str) -> Problem:
        """The same problem (kind, field) with another message (e.g. a case name before it)."""
        return Problem(message, self.kind, self.field)

    def to_pair(self) -> list[str | None]:
        """``[kind, field]``: what travels next to the text in JSON."""
        return [self.kind.value, self.field]

    @classmethod
    def from_pair(cls, message: str, pair: Any) -> Problem:
        """A problem rebuilt from its text and its ``[kind, field]`` (read back from JSON); a
        missing or unknown pair gives what :func:`as_problem` reads from the text."""
        if isinstance(pair, list | tuple) and len(pair) == 2:
            kind, field = pair
            if isinstance(kind, str) and (field is None or isinstance(field, str)):
                try:
                    return cls(message, ProblemKind(kind), field)
                except ValueError:  # a kind this side does not know
                    pass
        return as_problem(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Problem, (self.text, self.kind, self.field))


def as_problem(error: str) -> Problem:
    """``error`` as a :class:`Problem`: itself when it is one. A plain string (built by a module
    that makes no problems) is read as the project always read it: the field is what comes
    before the first colon, and it is a grounding problem when it says a value does not occur
    in the page."""
    if isinstance(error, Problem):
        return error
    text = str(error)
    kind = ProblemKind.GROUNDING if "does not occur in the page" in text else ProblemKind.OTHER
    return Problem(text, kind, text.split(":", 1)[0])


def as_problems(errors: Iterable[str]) -> list[Problem]:
    """:func:`as_problem` of each."""
    return [as_problem(e) for e in errors]


def parser_failure(exc: ParserFailed) -> Problem:
    """The problem of a parser that failed on a page (:class:`ParserFailed` raised by
    :meth:`crawler.sandbox.LoadedParser.run` or :func:`crawler.sandbox.check_item`), worded by
    its reason. The sandbox says which limit stopped the parser only in its reason, in three
    fixed phrases: they are read here, once, where the exception is caught."""
    reason = exc.reason
    if reason.startswith("time limit"):
        kind = ProblemKind.TIME
    elif reason == "memory limit reached":
        kind = ProblemKind.MEMORY
    elif reason == "recursion too deep":
        kind = ProblemKind.CRASH
    else:
        kind = ProblemKind.EXCEPTION
    return Problem.of(kind, exc.field, reason)
