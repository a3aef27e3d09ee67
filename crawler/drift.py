"""Drift detection per template while pages flow: is the parser still right for this site?

Signals, each turned into a :class:`DriftEvent` that names the template, the field and the evidence:

* ``failure`` — the parser raised, the item failed the schema, or a required field is missing;
* ``grounding`` — a value does not occur in the page;
* ``emptied`` — the item lost most of the fields the template usually fills (a schema with no
  required fields does not make an empty item good);
* ``layout`` — the page's layout similarity to the template's reference fell below a threshold;
* ``fill_rate`` — a field's fill rate over the sliding window fell well below its baseline;
* ``constant`` — a field that varied page to page returns the same value on every recent page
  (a title selector that now hits the site name).

A monitor reports an event once per (template, kind, field) until :meth:`DriftMonitor.reset`.
A page's errors are problems (:class:`crawler.problems.Problem`): their kind and field decide
the event, never their wording (a plain string is read by :func:`crawler.problems.as_problem`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.problems import ProblemKind, as_problem

__all__ = ["DriftEvent", "DriftMonitor", "TemplateStats"]


@dataclass(frozen=True)
class DriftEvent:
    template: str
    kind: str
    field: str | None
    evidence: str
    url: str = ""

    def __str__(self) -> str:
        where = f" field {self.field!r}" if self.field else ""
        return f"drift [{self.kind}] {self.template}{where}: {self.evidence}"


@dataclass
class TemplateStats:
    """Sliding window of recent outcomes of one template."""

    window: int
    pages: int = 0
    baseline: dict[str, float] = field(default_factory=dict)  # field -> fill rate when healthy
    recent: deque[dict[str, Any]] = field(default_factory=deque)
    reported: set[tuple[str, str | None]] = field(default_factory=set)
    # field -> how many items of ``recent`` fill it
    filled: dict[str, int] = field(default_factory=dict)
    # field -> (its latest value, how many items in a row had that value)
    runs: dict[str, tuple[Any, int]] = field(default_factory=dict)

    def add(self, item: dict[str, Any]) -> None:
        """Append an item to the window, keeping the fill counts and value runs up to date."""
        if self.recent.maxlen is not None and len(self.recent) == self.recent.maxlen:
            for name, value in self.recent[0].items():
                if _filled(value):
                    self.filled[name] -= 1
        item = dict(item)  # the caller's dict may change later; the counts must not
        self.recent.append(item)
        for name in self.runs.keys() - item.keys():
            self.runs[name] = (None, 0)
        for name, value in item.items():
            if not _filled(value):
                self.runs[name] = (None, 0)
                continue
            self.filled[name] = self.filled.get(name, 0) + 1
            key = _value_key(value)
            last, count = self.runs.get(name, (None, 0))
            self.runs[name] = (key, count + 1 if count and last == key else 1)


#: The drift signal of a page's problem by its kind: ``failure`` unless said here.
_SIGNALS = {ProblemKind.GROUNDING: "grounding"}


def _filled(value: Any) -> bool:
    return value not in (None, "", [])


def _value_key(value: Any) -> Any:
    """A hashable stand-in for a value, equal when the values are."""
    if isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    return json.dumps(value, sort_keys=True, default=str)


class DriftMonitor:
    """Watches items of every template; :meth:`observe` returns the new drift events of a page."""

    def __init__(
        self,
        window: int = 20,
        layout_threshold: float = 0.5,
        fill_drop: float = 0.5,
        emptied_share: float = 0.5,
        constant_after: int = 8,
    ) -> None:
        self.window = window
        self.layout_threshold = layout_threshold
        self.fill_drop = fill_drop
        self.emptied_share = emptied_share
        self.constant_after = constant_after
        self._stats: dict[str, TemplateStats] = {}

    def stats(self, template: str) -> TemplateStats:
        stats = self._stats.get(template)
        if stats is None:
            stats = self._stats[template] = TemplateStats(
                self.window, recent=deque(maxlen=self.window)
            )
        return stats

    def set_baseline(self, template: str, items: list[dict[str, Any]]) -> None:
        """Fill rates of a healthy template (from its fixtures or its first good pages)."""
        if not items:
            return
        names = {k for item in items for k in item}
        self.stats(template).baseline = {
            n: sum(1 for i in items if _filled(i.get(n))) / len(items) for n in names
        }

    def reset(self, template: str) -> None:
        """Forget the window and the reported events (after a new version is published)."""
        old = self._stats.pop(template, None)
        if old is not None:
            self.stats(template).baseline = old.baseline

    def observe(
        self,
        template: str,
        url: str,
        item: dict[str, Any] | None,
        errors: Sequence[str],
        similarity: float | None = None,
    ) -> list[DriftEvent]:
        """Record one page's outcome; return the drift events it reveals (each reported once).

        ``errors`` are the page's problems (:class:`crawler.problems.Problem`; plain strings are
        read by :func:`crawler.problems.as_problem`)."""
        stats = self.stats(template)
        stats.pages += 1
        found: list[DriftEvent] = []

        def event(kind: str, name: str | None, evidence: str) -> None:
            key = (kind, name)
            if key not in stats.reported:
                stats.reported.add(key)
                found.append(DriftEvent(template, kind, name, evidence, url))

        if similarity is not None and similarity < self.layout_threshold:
            event(
                "layout", None, f"layout similarity {similarity:.2f} < {self.layout_threshold:.2f}"
            )
        if item is None:
            event("failure", None, errors[0] if errors else "no item")
            return found
        for error in map(as_problem, errors):
            event(_SIGNALS.get(error.kind, "failure"), error.field, error)
        usual = [n for n, rate in stats.baseline.items() if rate >= 0.8]
        if usual:
            have = [n for n in usual if _filled(item.get(n))]
            if len(have) < len(usual) * self.emptied_share:
                lost = sorted(set(usual) - set(have))
                event(
                    "emptied",
                    None,
                    f"item has {len(have)}/{len(usual)} of the usual fields (lost {', '.join(lost)})",
                )
        if not errors:
            stats.add(item)
            self._window_checks(stats, event)
            if not stats.baseline and len(stats.recent) >= self.window:
                self.set_baseline(template, list(stats.recent))
        return found

    def _window_checks(self, stats: TemplateStats, event: Any) -> None:
        size = len(stats.recent)
        if size < min(self.window, 10):
            return
        for name, base in stats.baseline.items():
            if base < 0.5:
                continue
            rate = stats.filled.get(name, 0) / size
            if rate < base * self.fill_drop:
                event(
                    "fill_rate",
                    name,
                    f"filled on {rate:.0%} of the last {size} pages (baseline {base:.0%})",
                )
        if size <= self.constant_after:
            return
        recent = list(stats.recent)
        for name in stats.baseline:
            count = stats.runs.get(name, (None, 0))[1]
            if count < self.constant_after:
                continue
            earlier = [_value_key(i.get(name)) for i in recent[: -self.constant_after]]
            # only a field that was (nearly) unique page to page: a title, not a stock status
            if len(set(earlier)) >= 0.8 * len(earlier):
                shown = json.dumps(recent[-1].get(name), sort_keys=True, default=str)
                event("constant", name, f"same value {shown[:60]} on the last {count} pages")
