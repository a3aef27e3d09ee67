"""Every ``SCRAPEC_*`` option and its default, in one place.

:class:`Settings` is read when it is needed, never at import: from a Scrapy crawler's settings
(:meth:`Settings.from_scrapy`, for the components in ``crawler.crawl``) or from the environment
(:meth:`Settings.from_env`, for the CLI and the Python API); flags override with
:meth:`Settings.replace`.

>>> Settings().regen_samples
3
>>> Settings.from_env({"SCRAPEC_REGEN_SAMPLES": "5"}).regen_samples
5
>>> Settings.from_env({"SCRAPEC_REGEN_SAMPLES": "x"})
Traceback (most recent call last):
crawler.exceptions.BadInput: SCRAPEC_REGEN_SAMPLES='x': not an integer

A value that cannot be used raises :class:`~crawler.exceptions.BadInput` naming the setting and
the value. Options marked *environment* are read from the environment even in a crawl (parser
worker processes and the browser are started outside Scrapy's settings). The LLM tier has its own
variables (:data:`LLM_VARIABLES`), parsed by :meth:`crawler.compiler.llm.LLMConfig.from_env`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput

__all__ = [
    "DEFAULT",
    "FAIL_CAUSES",
    "LAYOUT_THRESHOLD",
    "LLM_VARIABLES",
    "Settings",
    "user_folder",
]

LAYOUT_THRESHOLD = 0.5  # layout similarity below which a page is drift (and no layout route)
FAIL_CAUSES = ("quarantine", "no_items", "llm_down")  # what SCRAPEC_FAIL_ON may name
GENERATORS = ("auto", "repair", "induce", "llm")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _option(
    default: Any,
    doc: str,
    *,
    env_only: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    shown: str | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A field of :class:`Settings`: its default (or ``factory``, called when a Settings is
    made), its one-line doc and what a value must be."""
    meta = {
        "doc": doc,
        "env_only": env_only,
        "min": minimum,
        "max": maximum,
        "choices": choices,
        "shown": shown,
    }
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def user_folder(name: str) -> str:
    """``<the user's data folder>/scrapec/<name>``, read now: ``$XDG_DATA_HOME/scrapec`` or
    ``~/.local/share/scrapec`` on Linux, the platform's own elsewhere (platformdirs). The default
    home of the registry and of fixtures, so nothing is written into the current folder."""
    import platformdirs

    return str(Path(platformdirs.user_data_dir("scrapec", appauthor=False)) / name)


@dataclass(frozen=True)
class Settings:
    """The options of scrapec; field ``x`` is the setting (or variable) ``SCRAPEC_X``."""

    enabled: bool = _option(True, "every component raises `NotConfigured` when off")
    registry: str = _option(
        None,
        "the parser registry",
        factory=lambda: user_folder("registry"),
        shown="<user data>/scrapec/registry",
    )
    fixtures: str = _option(
        None,
        "fixtures: new templates and the gate",
        factory=lambda: user_folder("fixtures"),
        shown="<user data>/scrapec/fixtures",
    )
    state_dir: str | None = _option(
        None, "held, released and quarantined pages", shown="<registry>/.state"
    )
    schema: str | None = _option(None, "schema for every template (else each template's own)")
    generator: str = _option(
        "auto", "`auto`, `repair`, `induce` or `llm` for regeneration", choices=GENERATORS
    )
    regen_samples: int = _option(3, "held pages that trigger a regeneration", minimum=1)
    max_held: int = _option(
        60, "held pages of a template beyond which failures go to quarantine", minimum=1
    )
    layout_threshold: float = _option(
        LAYOUT_THRESHOLD, "layout similarity below which a page is drift", minimum=0, maximum=1
    )
    layout_every: int = _option(
        5, "after the first 20 pages of a version, check the layout of every Nth page", minimum=1
    )
    wait_for_other: float = _option(
        120.0, "seconds to wait for another process's regeneration of a template", minimum=0
    )
    regen_lease: float = _option(
        300.0,
        "seconds a regeneration's lease lasts unless renewed (it is, at every tier): a crawl "
        "that hangs while regenerating frees the template after this, and cannot publish late",
        minimum=0,
    )
    background_regeneration: bool = _option(
        True, "regenerate in a thread of its own while other templates flow"
    )
    render_probe: bool = _option(True, "fetch a held page once more through the browser")
    extract_all: bool = _option(False, 'extract every response, not only `meta["scrapec"]` ones')
    progress_interval: float = _option(10.0, "seconds between progress lines (0: none)", minimum=0)
    stats_file: str | None = _option(None, "write the crawl's stats as JSON at the end")
    fail_on: str = _option(
        "quarantine,no_items,llm_down",
        "what makes `scrapy crawl` exit 1 (one WARNING line each): `quarantine` (pages were "
        "quarantined), `no_items` (no item came out of the pages marked as item pages), "
        "`llm_down` (the LLM tier was configured but unreachable); comma-separated, or `none`",
    )
    workers: int = _option(1, "parser worker processes", env_only=True, minimum=1)
    chromium: str = _option("/usr/bin/chromium", "the browser for rendered pages", env_only=True)
    debug: bool = _option(False, "the CLI shows the traceback of an internal error", env_only=True)
    redis_url: str | None = _option(
        None,
        "a fleet's Redis (`redis://HOST:PORT/DB`): shared scheduler, registry, held pages",
        env_only=True,
    )
    fleet_heartbeat: float = _option(
        30.0,
        "seconds after which a fleet's crawl that stopped beating is dead (its pages adopted)",
        env_only=True,
        minimum=1,
    )

    def __post_init__(self) -> None:
        self.failures()  # a value that cannot be used stops here, with its name

    def failures(self) -> frozenset[str]:
        """The causes of ``fail_on`` (:data:`FAIL_CAUSES`): ``none`` is none, ``all`` every one."""
        words = {w.strip().lower() for w in self.fail_on.split(",") if w.strip()}
        if words in ({"none"}, set()):
            return frozenset()
        if words == {"all"}:
            return frozenset(FAIL_CAUSES)
        unknown = sorted(words - set(FAIL_CAUSES))
        if unknown:
            raise BadInput(
                f"SCRAPEC_FAIL_ON={self.fail_on!r}: {unknown[0]!r} is not one of "
                f"{', '.join(FAIL_CAUSES)} (comma-separated), all or none"
            )
        return frozenset(words)

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings from ``SCRAPEC_*`` environment variables (an empty one is unset)."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(setting_name(f.name))
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f, raw)
        return cls(**values)

    @classmethod
    def from_scrapy(cls, settings: Any, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings of a Scrapy crawler (``crawler.settings``); *environment* options from
        ``environ``. A value set to None or "" is unset."""
        values = {}
        for f in dataclasses.fields(cls):
            name = setting_name(f.name)
            raw = environ.get(name) if f.metadata["env_only"] else settings.get(name)
            if raw is not None and raw != "":
                values[f.name] = _parse(f, raw)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (from CLI flags, say); a None change keeps the value."""
        kept = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(kept) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise BadInput(f"{unknown[0]!r}: not a scrapec setting")
        return dataclasses.replace(self, **{k: _parse(_field(k), v) for k, v in kept.items()})

    # -- describing ------------------------------------------------------------------------

    @classmethod
    def options(cls) -> list[tuple[str, str, str, bool]]:
        """Every option as (setting name, default as shown in docs, doc, environment only)."""
        return [
            (setting_name(f.name), shown_default(f), f.metadata["doc"], f.metadata["env_only"])
            for f in dataclasses.fields(cls)
        ]


DEFAULT = Settings()

# variables of the LLM tier, read by crawler.compiler.llm.LLMConfig.from_env (with its defaults)
LLM_VARIABLES = {
    "SCRAPEC_LLM_MODEL": "litellm model name; the LLM tier is off when unset",
    "SCRAPEC_LLM_API_BASE": "endpoint (else the provider's usual variables)",
    "SCRAPEC_LLM_API_KEY": "key (else the provider's usual variables)",
    "SCRAPEC_LLM_MAX_ATTEMPTS": "answers per template",
    "SCRAPEC_LLM_MAX_CALLS_PER_TEMPLATE": "calls per template",
    "SCRAPEC_LLM_MAX_COST_PER_TEMPLATE": "USD per template",
    "SCRAPEC_LLM_MAX_CALLS": "calls per run",
    "SCRAPEC_LLM_MAX_COST": "USD per run",
    "SCRAPEC_LLM_TIMEOUT": "seconds per call",
    "SCRAPEC_LLM_RETRIES": "retries of a failed call",
    "SCRAPEC_LLM_BACKOFF": "first back-off in seconds",
    "SCRAPEC_LLM_BREAKER": "connection failures in a row that turn the LLM tier off for the run",
    "SCRAPEC_LLM_CACHE": 'response cache folder; "off" disables it',
    "SCRAPEC_LLM_INPUT_COST": "USD per input token, for models litellm has no price for",
    "SCRAPEC_LLM_OUTPUT_COST": "USD per output token, for models litellm has no price for",
}


def setting_name(name: str) -> str:
    """``regen_samples`` -> ``SCRAPEC_REGEN_SAMPLES``."""
    return f"SCRAPEC_{name.upper()}"


def shown_default(f: dataclasses.Field[Any]) -> str:
    """The default of a field as the README shows it."""
    if f.metadata["shown"] is not None:
        return str(f.metadata["shown"])
    value = f.default
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(Settings) if f.name == name)


def _parse(f: dataclasses.Field[Any], raw: Any) -> Any:
    """``raw`` (a string from the environment or ``-s``, or a Python value from a settings
    module) as the type of ``f``; BadInput naming the setting and the value."""
    name = setting_name(f.name)
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    value: Any
    if kind == "bool":
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, int) and raw in (0, 1):
            value = bool(raw)
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE
        else:
            raise BadInput(f"{name}={raw!r}: not a boolean (True or False)")
    elif kind == "int":
        if isinstance(raw, bool):
            raise BadInput(f"{name}={raw!r}: not an integer")
        try:
            value = int(raw.strip()) if isinstance(raw, str) else int(raw)
            if isinstance(raw, float) and raw != value:
                raise ValueError(raw)
        except (TypeError, ValueError):
            raise BadInput(f"{name}={raw!r}: not an integer") from None
    elif kind == "float":
        if isinstance(raw, bool):
            raise BadInput(f"{name}={raw!r}: not a number")
        try:
            value = float(raw.strip()) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            raise BadInput(f"{name}={raw!r}: not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise BadInput(f"{name}={raw!r}: not a finite number")
    else:  # str, str | None: a path or a name
        if not isinstance(raw, str | os.PathLike):
            raise BadInput(f"{name}={raw!r}: not a string")
        value = os.fspath(raw)
        if "\x00" in value:
            raise BadInput(f"{name}={raw!r}: holds a NUL character")
    low, high, choices = f.metadata["min"], f.metadata["max"], f.metadata["choices"]
    if low is not None and value < low:
        raise BadInput(f"{name}={raw!r}: must be at least {low}")
    if high is not None and value > high:
        raise BadInput(f"{name}={raw!r}: must be at most {high}")
    if choices and value not in choices:
        raise BadInput(f"{name}={raw!r}: not one of {', '.join(choices)}")
    return value
