"""Exceptions of scrapec. Every one subclasses :class:`ScrapecError` and carries its data.

::

    ScrapecError
    ├── BadInput                 a file, URL, schema or option given by the user is unusable
    │   ├── SchemaError          a schema cannot be found or is not a valid JSON Schema
    │   └── ExampleNotFound      an example value given for a field is not on the page
    ├── FetchError               a URL could not be fetched as an HTML page (``url``, ``reason``)
    │   ├── NetworkError         DNS failure, refused or reset connection, timeout, TLS
    │   ├── HTTPStatusError      the server answered 4xx/5xx (``status``)
    │   ├── TooManyRedirects     a redirect loop or too long a chain
    │   ├── NotHTML              the response is not an HTML page: PDF, image, JSON (``content_type``)
    │   ├── PageTooLarge         the body is larger than the limit (``limit``)
    │   ├── RenderError          the browser could not load or finish rendering the page
    │   └── RobotsDisallowed     robots.txt forbids fetching the URL (when robots.txt is obeyed)
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
    "ExampleNotFound",
    "FetchError",
    "HTTPStatusError",
    "NetworkError",
    "NotHTML",
    "PageTooLarge",
    "RenderError",
    "RobotsDisallowed",
    "TooManyRedirects",
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


class ExampleNotFound(BadInput):
    """Example values given to teach a template do not occur on the page (``fields``: the
    field names whose examples were not found)."""

    def __init__(self, url: str, fields: dict[str, object]) -> None:
        self.url = url
        self.fields = dict(fields)
        shown = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        super().__init__(f"{url}: example values not found on the page: {shown}")


class FetchError(ScrapecError):
    """A URL could not be fetched as an HTML page. ``url`` is the URL asked for, ``reason``
    the cause in words; the message names both."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class NetworkError(FetchError):
    """No answer: DNS failure, connection refused or reset, timeout, TLS failure."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (``status``: 4xx or 5xx)."""

    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        self.status = status
        super().__init__(url, reason or f"HTTP {status}")


class TooManyRedirects(FetchError):
    """A redirect loop, or a chain longer than the limit."""


class NotHTML(FetchError):
    """The response is not an HTML page (``content_type``: what the server said it is)."""

    def __init__(self, url: str, content_type: str, reason: str | None = None) -> None:
        self.content_type = content_type
        super().__init__(url, reason or f"not an HTML page (Content-Type {content_type!r})")


class PageTooLarge(FetchError):
    """The body is larger than ``limit`` bytes; it is not read further."""

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        shown = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
        super().__init__(url, f"body larger than the {shown} limit")


class RenderError(FetchError):
    """The browser could not load the page, or it did not finish rendering in time."""


class RobotsDisallowed(FetchError):
    """robots.txt forbids the URL (or is treated as disallowing all: a 5xx robots.txt)."""


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
