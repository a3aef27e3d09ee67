"""The LLM tier of the compiler, through litellm: write a parser, or label a page.

This is the only module of scrapec that imports litellm, and only inside functions (the import
costs seconds). Nothing is set on ``litellm.*``: model, endpoint, key, time-out and retries go
with each call. Any provider litellm knows works (``openai/gpt-4o-mini``, ``anthropic/…``,
``ollama/…``), and so does any OpenAI-compatible server (``openai/<name>`` with an ``api_base``).

:meth:`LLMGenerator.generate` asks for a parser, checks each answer with the gate (policy,
schema, grounding, every fixture) and feeds the failures back in the same conversation, within
``max_attempts`` answers and the call and cost budgets of the template and of the run (checked
before every call). Answers are cached on disk by prompt hash, so a repeated prompt costs no
call. Rate limits, server errors and time-outs are retried with exponential back-off; only
answered calls count against the budget. A model that cannot be reached trips a circuit breaker:
after ``SCRAPEC_LLM_BREAKER`` connection failures in a row (refused, reset, no such host) the
generator makes no more calls for the rest of the run, says so once at WARNING (logger
``scrapec``) and keeps the reason in :attr:`LLMGenerator.unreachable`. litellm's own loggers are
kept at WARNING unless ``LITELLM_LOG`` asks for more.

Configuration (:meth:`LLMConfig.from_env`)::

    SCRAPEC_LLM_MODEL                    litellm model name; the tier is off when unset
    SCRAPEC_LLM_API_BASE / _API_KEY      endpoint and key (else the provider's usual variables)
    SCRAPEC_LLM_MAX_ATTEMPTS             answers per template (4)
    SCRAPEC_LLM_MAX_CALLS_PER_TEMPLATE   calls per template (8)
    SCRAPEC_LLM_MAX_COST_PER_TEMPLATE    USD per template (0.50)
    SCRAPEC_LLM_MAX_CALLS / _MAX_COST    calls (50) and USD (5.0) per run
    SCRAPEC_LLM_TIMEOUT                  seconds per call (60)
    SCRAPEC_LLM_RETRIES / _BACKOFF       retries of a failed call (3), first back-off in s (1.0)
    SCRAPEC_LLM_BREAKER                  connection failures in a row that turn the tier off for
                                         the run (3; 0: never)
    SCRAPEC_LLM_CACHE                    cache folder (~/.cache/scrapec/llm); "off" disables it
    SCRAPEC_LLM_INPUT_COST / _OUTPUT_COST  USD per token, for models litellm has no price for
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.checks import PageText
from crawler.compiler.prompt import build_label_messages, build_messages, feedback_message
from crawler.exceptions import BadInput, BudgetExhausted, CompileError
from crawler.fixtures import Fixture
from crawler.gate import GateReport, run_gate
from crawler.parsing import Page, number
from crawler.problems import Problem, ProblemKind
from crawler.schemas import Schema

__all__ = [
    "LLMConfig",
    "LLMGenerator",
    "LLMOutcome",
    "Usage",
    "extract_code",
    "extract_json",
    "ground_item",
]

Messages = list[dict[str, str]]


# ---------------------------------------------------------------------------------------------
# Configuration and accounting


def _env_number(environ: Mapping[str, str], name: str, default: float, kind: type) -> Any:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadInput(
            f"{name}={raw!r}: not {'an integer' if kind is int else 'a number'}"
        ) from None
    if value < 0:
        raise BadInput(f"{name}={raw!r}: must not be negative")
    return value


@dataclass
class LLMConfig:
    """Which model, where, and how much it may cost."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    max_attempts: int = 4
    max_calls_per_template: int = 8
    max_cost_per_template: float = 0.50
    max_calls_per_run: int = 50
    max_cost_per_run: float = 5.0
    timeout: float = 60.0
    retries: int = 3
    cache_dir: str | None = None
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    input_cost: float | None = None  # USD per prompt token (overrides litellm's price)
    output_cost: float | None = None  # USD per completion token
    breaker: int = 3  # connection failures in a row after which no call is made (0: never)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LLMConfig | None:
        """The configuration from ``SCRAPEC_LLM_*`` variables; None when no model is set."""
        model = (environ.get("SCRAPEC_LLM_MODEL") or "").strip()
        if not model:
            return None
        defaults = cls(model)

        def get(suffix: str, default: float, kind: type = int) -> Any:
            return _env_number(environ, f"SCRAPEC_LLM_{suffix}", default, kind)

        prices = {}
        for key, suffix in (("input_cost", "INPUT_COST"), ("output_cost", "OUTPUT_COST")):
            raw = environ.get(f"SCRAPEC_LLM_{suffix}")
            prices[key] = get(suffix, 0.0, float) if raw and raw.strip() else None
        return cls(
            model=model,
            api_base=(environ.get("SCRAPEC_LLM_API_BASE") or "").strip() or None,
            api_key=(environ.get("SCRAPEC_LLM_API_KEY") or "").strip() or None,
            max_attempts=max(1, get("MAX_ATTEMPTS", defaults.max_attempts)),
            max_calls_per_template=get("MAX_CALLS_PER_TEMPLATE", defaults.max_calls_per_template),
            max_cost_per_template=get(
                "MAX_COST_PER_TEMPLATE", defaults.max_cost_per_template, float
            ),
            max_calls_per_run=get("MAX_CALLS", defaults.max_calls_per_run),
            max_cost_per_run=get("MAX_COST", defaults.max_cost_per_run, float),
            timeout=get("TIMEOUT", defaults.timeout, float) or defaults.timeout,
            retries=get("RETRIES", defaults.retries),
            cache_dir=(environ.get("SCRAPEC_LLM_CACHE") or "").strip() or None,
            backoff=get("BACKOFF", defaults.backoff, float),
            breaker=get("BREAKER", defaults.breaker),
            **prices,
        )

    def cache_path(self) -> Path | None:
        """The cache folder, or None when caching is off (``SCRAPEC_LLM_CACHE=off``)."""
        if self.cache_dir is not None and self.cache_dir.strip().lower() in ("off", "none", "0"):
            return None
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "scrapec" / "llm"


@dataclass
class Usage:
    """What the LLM cost: answered calls, answers from the cache, tokens, USD, failed calls."""

    calls: int = 0
    cached: int = 0
    tokens: int = 0
    cost: float = 0.0
    errors: int = 0  # calls that failed (rate limit, server error, time-out); not billed

    def add(self, other: Usage) -> Usage:
        """Add ``other`` into this one (in place) and return it."""
        self.calls += other.calls
        self.cached += other.cached
        self.tokens += other.tokens
        self.cost += other.cost
        self.errors += other.errors
        return self


@dataclass
class LLMOutcome:
    """The result of :meth:`LLMGenerator.generate`."""

    source: str | None  # a parser that passed the gate, or None
    report: GateReport | None  # the last gate report
    usage: Usage
    attempts: list[str]  # one line per answer: what went wrong, or "passed"
    stopped: str | None = None  # why it stopped early: "budget: …", "llm error: …"


class _Stop(Exception):
    """No (more) calls: a budget is spent or the model cannot be reached."""

    def __init__(self, reason: str, budget: bool = False) -> None:
        self.reason = reason
        self.budget = budget
        super().__init__(reason)


@dataclass
class _Answer:
    content: str
    tokens: int = 0
    cost: float = 0.0
    cached: bool = False


# ---------------------------------------------------------------------------------------------
# Reading answers

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def extract_code(answer: str) -> str | None:
    """The Python module in an answer: the last fenced python block defining ``parse`` (or the
    last python block; or the whole answer when it is bare code). None when there is none."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(answer or "")]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "")]
    with_parse = [body for body in python if re.search(r"^\s*def\s+parse\b", body, re.M)]
    chosen = (with_parse or python or [None])[-1]
    if chosen is None and not blocks and re.search(r"^def\s+parse\b", answer or "", re.M):
        chosen = answer
    if chosen is None or not chosen.strip():
        return None
    return chosen.strip() + "\n"


def extract_json(answer: str) -> dict[str, Any] | None:
    """The JSON object in an answer (a fenced block, or the outermost ``{…}``), or None."""
    candidates = [body for _, body in _FENCE.findall(answer or "")]
    start, end = (answer or "").find("{"), (answer or "").rfind("}")
    if start != -1 and end > start:
        candidates.append(answer[start : end + 1])
    for raw in candidates:
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def ground_item(data: Mapping[str, Any], page: Page, schema: Schema) -> dict[str, Any]:
    """Keep only the schema's fields whose values have the right type, occur in the page (unless
    derived) and validate; list fields keep their grounded elements."""
    text = PageText(page)
    out: dict[str, Any] = {}
    for name in schema.properties:
        value = data.get(name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        kept = []
        for one in values:
            typed = _typed(one, schema.field_type(name))
            if typed is None:
                continue
            if not schema.is_derived(name) and not text.shows(typed):
                continue
            kept.append(typed)
        if schema.is_list(name):
            if kept:
                out[name] = kept
        elif kept and not isinstance(value, list):
            out[name] = kept[0]
    for _ in range(len(out) + 1):  # drop what the schema refuses (formats, patterns, ranges)
        bad = out.keys() & {error.field for error in schema.errors(out)}
        if not bad:
            break
        for name in bad:
            del out[name]
    return out


def _typed(value: Any, kind: str) -> Any:
    if kind in ("number", "integer"):
        if isinstance(value, bool):
            return None
        found = value if isinstance(value, int | float) else number(value)
        if found is None or (kind == "integer" and float(found) != int(found)):
            return None
        return int(found) if kind == "integer" else found
    if kind == "string":
        if isinstance(value, str):
            return value.strip() or None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "object":
        return value if isinstance(value, dict) else None
    return value


def _with_docstring(source: str, doc: str) -> str:
    """``source`` with its module docstring (if any) replaced by ``doc``."""
    lines = source.splitlines(keepends=True)
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return source
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        lines = lines[first.end_lineno :]
    return doc + "\n" + "".join(lines).lstrip("\n")


def _summary(problems: list[str]) -> str:
    head = problems[0] if problems else "failed"
    head = head if len(head) <= 300 else head[:300] + "…"
    return head + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")


# ---------------------------------------------------------------------------------------------
# litellm, at the boundary

_registered_prices: set[tuple[str, float, float]] = set()


LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    with warnings.catch_warnings():
        _ignore_library_warnings()
        import litellm
    _quiet_litellm_logging()
    return litellm


def _quiet_litellm_logging(environ: Mapping[str, str] = os.environ) -> None:
    """litellm's loggers at WARNING, unless ``LITELLM_LOG`` (litellm's own variable) asks for
    another level or a logger was given a level by the application. They have no level of their
    own and a DEBUG handler of their own: under a root logger at DEBUG (Scrapy's, whatever its
    LOG_LEVEL) each call would print a few hundred lines of litellm's internals."""
    if (environ.get("LITELLM_LOG") or "").strip():
        return
    for name in LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Around a litellm call: its deprecation warnings off, and its "Give Feedback" banner
    (printed on every error) kept off stdout, which stays clean for ``--json``: dropped, or sent
    to stderr when ``LITELLM_LOG`` asks for litellm's own output."""
    sink = sys.stderr if (os.environ.get("LITELLM_LOG") or "").strip() else io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        _ignore_library_warnings()
        yield


def _ignore_library_warnings() -> None:
    """litellm's own deprecations, and pydantic's notes on litellm's types (raised lazily, on
    the first call, as UserWarning): not actionable here, and fatal under ``-W error``."""
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    warnings.filterwarnings("ignore", r".*`ReadOnly` qualifier", UserWarning)
    warnings.filterwarnings("ignore", r"Pydantic serializer warnings", UserWarning)


def _connection_failed(exc: BaseException, litellm: Any) -> bool:
    """The model could not be reached at all (refused, reset, no such host): not a time-out of
    a server that answers slowly, not an error the server answered with. litellm reports a
    refused connection to an OpenAI-compatible server as an ``InternalServerError`` (500), so
    the chain of causes is read: the socket's error is at its end."""
    import socket

    seen: set[int] = set()
    one: BaseException | None = exc
    while one is not None and id(one) not in seen and len(seen) < 20:
        seen.add(id(one))
        if isinstance(one, litellm.Timeout | TimeoutError | socket.timeout):
            return False
        if isinstance(one, ConnectionError | socket.gaierror | litellm.APIConnectionError):
            return True
        if type(one).__name__ == "ConnectError":  # httpx's and httpcore's, at the socket
            return True
        one = one.__cause__ or one.__context__
    return False


def _retryable(exc: Exception, litellm: Any) -> bool:
    if isinstance(exc, litellm.Timeout | litellm.APIConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def _llm_error_text(exc: Exception) -> str:
    """``Type: message`` of an error litellm raised, whitespace folded, at most 300 characters."""
    message = " ".join(str(exc).split())
    message = message if len(message) <= 300 else message[:300] + "…"
    return f"{type(exc).__name__}: {message}"


# ---------------------------------------------------------------------------------------------
# The generator


class LLMGenerator:
    """Writes parsers (and labels pages) with an LLM, within the budgets of its config.

    ``run_usage`` is shared by the generators of one run: the per-run budgets apply to it.
    """

    def __init__(self, config: LLMConfig, run_usage: Usage | None = None) -> None:
        self.config = config
        self.run_usage = run_usage if run_usage is not None else Usage()
        self.label_usage = Usage()
        self._call_cost = 0.0  # the dearest answered call so far: the estimate of the next one
        self.connection_failures = 0  # in a row; an answered call resets it
        # why no call is made any more in this run (the circuit breaker tripped), or None
        self.unreachable: str | None = None

    def __repr__(self) -> str:
        return f"LLMGenerator(model={self.config.model!r})"

    # -- writing parsers ---------------------------------------------------------------------

    def generate(
        self,
        template: str,
        schema: Schema,
        fixtures: list[Fixture],
        previous: str | None = None,
        failures: list[str] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> LLMOutcome:
        """Ask for a parser until one passes the gate, the attempts run out or a budget is spent.

        Only a source that passed :func:`crawler.gate.run_gate` is returned; nothing is published.
        """
        say = progress or (lambda _message: None)
        usage = Usage()
        attempts: list[str] = []
        if not fixtures:
            return LLMOutcome(None, None, usage, attempts, "no fixtures to test a parser against")
        messages = build_messages(schema, fixtures, previous, failures)
        report: GateReport | None = None
        limit = max(1, self.config.max_attempts)
        for attempt in range(1, limit + 1):
            try:
                answer = self._complete(messages, usage, per_template=True)
            except _Stop as stop:
                say(f"[{template}] llm: stopped: {stop.reason}")
                return LLMOutcome(None, report, usage, attempts, stop.reason)
            source = extract_code(answer.content)
            if source is None:
                no_code = "the answer has no ```python code block defining parse(page)"
                problems: list[str] = [Problem.of(ProblemKind.POLICY, None, no_code)]
            else:
                report = run_gate(source, fixtures, schema, template)
                if report.passed:
                    final, report = self._stamp(source, report, template, schema, fixtures, attempt)
                    attempts.append(f"attempt {attempt}: passed")
                    say(f"[{template}] llm: attempt {attempt}/{limit}: passed")
                    return LLMOutcome(final, report, usage, attempts)
                problems = report.lines()
            attempts.append(f"attempt {attempt}: {_summary(problems)}")
            say(f"[{template}] llm: attempt {attempt}/{limit}: {_summary(problems)}")
            messages = [
                *messages,
                {"role": "assistant", "content": answer.content},
                feedback_message(problems),
            ]
        return LLMOutcome(None, report, usage, attempts)

    def _stamp(
        self,
        source: str,
        report: GateReport,
        template: str,
        schema: Schema,
        fixtures: list[Fixture],
        attempt: int,
    ) -> tuple[str, GateReport]:
        """The passing source with a docstring saying where it came from (gated again)."""
        model = re.sub(r'["\\\n]', "", self.config.model)
        doc = (
            f'"""{template}, schema {schema.name}.\n\nGenerated {time.strftime("%Y-%m-%d")} by '
            f"llm:{model} from {len(fixtures)} fixtures (all passed) in {attempt} "
            f'attempt{"s" if attempt > 1 else ""}. Do not edit by hand: regenerate.\n"""\n'
        )
        stamped = _with_docstring(source, doc)
        if stamped == source:
            return source, report
        again = run_gate(stamped, fixtures, schema, template)
        return (stamped, again) if again.passed else (source, report)

    # -- labelling pages ---------------------------------------------------------------------

    def label(self, page: Page, schema: Schema) -> dict[str, Any]:
        """One item of ``page`` read by the model, keeping only grounded, well-typed values.

        Raises :class:`BudgetExhausted` when the run's budget is spent and :class:`CompileError`
        when the model cannot be reached.
        """
        usage = Usage()
        try:
            answer = self._complete(build_label_messages(schema, page), usage, per_template=False)
        except _Stop as stop:
            if stop.budget:
                raise BudgetExhausted(stop.reason) from None
            raise CompileError(stop.reason) from None
        finally:
            self.label_usage.add(usage)
        data = extract_json(answer.content) or {}
        return ground_item(data, page, schema)

    # -- calls ---------------------------------------------------------------------------------

    def _complete(self, messages: Messages, usage: Usage, per_template: bool) -> _Answer:
        """An answer from the cache, or from the model when the budgets allow a call."""
        key = hashlib.sha256(
            json.dumps(
                {"model": self.config.model, "messages": messages},
                sort_keys=True,
                ensure_ascii=False,
            ).encode("utf-8")
        ).hexdigest()
        cached = self._cache_get(key)
        if cached is not None:
            usage.cached += 1
            self.run_usage.cached += 1
            return cached
        if self.unreachable is not None:
            raise _Stop(self.unreachable)
        self._check_budget(usage, per_template)
        failed = Usage()
        try:
            answer = self._call(messages, failed)
        finally:
            usage.errors += failed.errors
            self.run_usage.errors += failed.errors
        for total in (usage, self.run_usage):
            total.calls += 1
            total.tokens += answer.tokens
            total.cost += answer.cost
        self._call_cost = max(self._call_cost, answer.cost)
        self._cache_set(key, answer)
        return answer

    def _check_budget(self, usage: Usage, per_template: bool) -> None:
        config, run = self.config, self.run_usage
        if per_template and usage.calls >= config.max_calls_per_template:
            raise _Stop(
                f"budget: {usage.calls} of {config.max_calls_per_template} LLM calls for this "
                "template spent",
                budget=True,
            )
        if run.calls >= config.max_calls_per_run:
            raise _Stop(
                f"budget: {run.calls} of {config.max_calls_per_run} LLM calls for this run spent",
                budget=True,
            )
        checks = [(run.cost, config.max_cost_per_run, "run")]
        if per_template:
            checks.insert(0, (usage.cost, config.max_cost_per_template, "template"))
        for spent, limit, scope in checks:
            if spent + self._call_cost > limit or (spent > 0 and spent >= limit):
                raise _Stop(
                    f"budget: ${spent:.4f} of ${limit:.2f} for this {scope} spent "
                    f"(a call costs up to ${self._call_cost:.4f})",
                    budget=True,
                )

    def _call(self, messages: Messages, failed: Usage) -> _Answer:
        """One answered call, retrying rate limits, server errors and time-outs with back-off."""
        litellm = _litellm()
        config = self.config
        self._register_price(litellm)
        kwargs: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "timeout": config.timeout,
            "max_retries": 0,  # the OpenAI client would otherwise retry silently, uncounted
            "temperature": 0,
            "drop_params": True,  # models that refuse temperature get it dropped
        }
        if config.api_base:
            kwargs["api_base"] = config.api_base
        if config.api_key:
            kwargs["api_key"] = config.api_key
        retries = max(0, config.retries)
        for attempt in range(retries + 1):
            try:
                with _quiet():
                    response = litellm.completion(**kwargs)
            except Exception as exc:  # litellm maps every provider error to its own classes
                failed.errors += 1
                if _connection_failed(exc, litellm):
                    self.connection_failures += 1
                    if 0 < config.breaker <= self.connection_failures:
                        raise _Stop(self._trip(exc)) from exc
                if not _retryable(exc, litellm):
                    raise _Stop(f"llm error: {_llm_error_text(exc)}") from exc
                if attempt == retries:
                    raise _Stop(
                        f"llm error after {retries + 1} tries: {_llm_error_text(exc)}"
                    ) from exc
                time.sleep(config.backoff * 2**attempt)
                continue
            self.connection_failures = 0
            return self._answer(litellm, response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _trip(self, exc: Exception) -> str:
        """The circuit breaker: no more calls in this run; said once, at WARNING."""
        where = self.config.api_base or self.config.model
        self.unreachable = (
            f"LLM unreachable: {self.connection_failures} connection failures in a row to "
            f"{where} (last: {_llm_error_text(exc)}): the LLM tier is off for this run"
        )
        logging.getLogger("scrapec").warning(f"scrapec: {self.unreachable}")
        return self.unreachable

    def _answer(self, litellm: Any, response: Any) -> _Answer:
        try:
            content = response.choices[0].message.content or ""
        except (AttributeError, IndexError):
            content = ""
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "total_tokens", 0) or 0)
        try:
            with _quiet():
                cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # an unknown model has no price: free unless SCRAPEC_LLM_*_COST says
            cost = 0.0
        return _Answer(content, tokens, cost)

    def _register_price(self, litellm: Any) -> None:
        """Tell litellm the price of the model once, when the configuration gives one."""
        config = self.config
        if config.input_cost is None and config.output_cost is None:
            return
        price = (config.model, config.input_cost or 0.0, config.output_cost or 0.0)
        if price in _registered_prices:
            return
        entry: dict[str, Any] = {
            "input_cost_per_token": price[1],
            "output_cost_per_token": price[2],
            "mode": "chat",
        }
        if "/" in config.model:
            entry["litellm_provider"] = config.model.split("/", 1)[0]
        logger = logging.getLogger("LiteLLM")
        level = logger.level
        logger.setLevel(logging.ERROR)  # a warning about cache-token prices we do not use
        try:
            with _quiet():
                litellm.register_model({config.model: entry})
        finally:
            logger.setLevel(level)
        _registered_prices.add(price)

    # -- cache ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _cache(self) -> Iterator[Any]:
        path = self.config.cache_path()
        if path is None:
            yield None
            return
        import diskcache

        try:
            cache = diskcache.Cache(str(path))
        except (OSError, sqlite3.Error) as exc:  # an unwritable folder: go on without a cache
            logging.getLogger(__name__).warning("LLM cache %s unusable: %s", path, exc)
            yield None
            return
        with cache:
            yield cache

    def _cache_get(self, key: str) -> _Answer | None:
        with self._cache() as cache:
            raw = cache.get(key) if cache is not None else None
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
            return _Answer(str(data["content"]), cached=True)
        except (ValueError, KeyError, TypeError):
            return None

    def _cache_set(self, key: str, answer: _Answer) -> None:
        record = {"content": answer.content, "tokens": answer.tokens, "cost": answer.cost}
        with self._cache() as cache:
            if cache is not None:
                cache.set(key, json.dumps(record))
