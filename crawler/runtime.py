"""The self-healing runtime: pages in, validated items out, regeneration when a template breaks.

One page: route → active parser (sandboxed) → schema + grounding → drift monitor. A good item is
recorded as its URL's last good item and returned. A page whose item fails, or that reveals
drift, is *held* on disk and its template marked broken; once enough pages are held, the template
is regenerated, cheapest tier first:

1. ``repair`` — labels for the held pages from the last good item of the same URL, the label text
   that stood beside each value in the old layout, and the page's structured data; then induction;
2. ``induce`` — the same without history (structured data, old label contexts, fixtures);
3. ``llm`` — when configured, the LLM writes the parser from the held pages and their labels.

A candidate passes the gate (policy, schema, grounding, every current fixture) before it is
published; held pages are then parsed again, and pages that still fail go to quarantine with the
reason. Nothing is lost: a page is always either an item, held, or quarantined, on disk.
Regeneration is single-flight per template across processes (a lease in the registry, which a
hung holder loses after ``lease_ttl`` seconds; a late publish is refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.drift import DriftEvent, DriftMonitor
from crawler.exceptions import BadInput, RegistryError, RoutingError
from crawler.extract import Extraction, Extractor
from crawler.fixtures import Fixture, load_fixtures
from crawler.history import History, StorageError
from crawler.parsing import Page
from crawler.registry import Lease, Registry, atomic_write
from crawler.routing import fingerprint, reference_fingerprint, similarity, site_of
from crawler.schemas import Schema, load_schema

__all__ = ["PageOutcome", "PageStore", "Runtime", "RuntimeSettings", "StorageError"]

OWNED = ("held", "released")  # kinds of pages that belong to one crawl (quarantine is shared)

VALUE_DRIFT = ("emptied", "fill_rate", "constant")
LLM_LABEL_PAGES = 2  # held pages the LLM labels when no cheaper labeller could


@dataclass
class RuntimeSettings:
    """Knobs of the runtime (``SCRAPEC_*`` settings in Scrapy)."""

    regen_samples: int = 3  # held pages of a template that trigger its regeneration
    max_held: int = 60  # held pages of a template beyond which failures go to quarantine
    layout_threshold: float = 0.5  # layout similarity below which a page is drift
    layout_every: int = 5  # after the first 20 pages of a version, check layout on every Nth page
    wait_for_other: float = 120.0  # seconds to wait for another process's regeneration
    # a regeneration's lease (single flight across processes) lasts this long unless renewed
    # (at every tier): a process that hangs while regenerating frees the template after it
    lease_ttl: float = 300.0
    generator: str = "auto"  # auto | repair | induce | llm


@dataclass
class PageOutcome:
    """What became of one page, and of held pages it released."""

    url: str
    template: str | None
    status: str  # ok | held | quarantined
    item: dict[str, Any] | None = None
    version: int | None = None
    errors: list[str] = field(default_factory=list)
    events: list[DriftEvent] = field(default_factory=list)
    released: list[PageOutcome] = field(default_factory=list)
    # the page's absolute links, read in the parser worker when the caller asked for them
    # (None: not read; the caller reads them itself)
    links: list[str] | None = field(default=None, repr=False)

    def all(self) -> Iterator[PageOutcome]:
        """This outcome and every released one, flattened."""
        if self.status != "held":
            yield self
        for other in self.released:
            yield from other.all()


def _key(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]


def _slug(template: str) -> str:
    return template.replace("/", "__")


def _held_fixture(
    template: str, meta: dict[str, Any], schema: Schema, labels: dict[str, Any], html: str
) -> Fixture:
    """A held page with the labels some labeller gave it, as a partial fixture (a field it
    lacks is unknown, not empty)."""
    return Fixture(
        Path(meta["path"]).parent,
        template,
        meta["url"],
        schema.name,
        labels,
        partial=True,
        source=html,
    )


class PageStore:
    r"""Held and quarantined pages on disk: ``<root>/{held,quarantine}/<template>/<key>.{html,json}``.

    Odd text never makes a write raise: a lone surrogate code point (no UTF-8 form) in a page,
    its URL, its template or the reason is *escaped*, the way Python's ``backslashreplace``
    does, as the six characters ``\ud800``; every file is UTF-8. Inside a JSON-LD string of the
    page the escape reads back as the same code point. URLs are escaped alike wherever the store
    takes one, so a page is found and removed under the URL it was put with.

    With an ``owner`` (one crawl: several may share a registry), held and released pages belong
    to it: their file names and metadata carry the owner, :meth:`pages` lists only its own, and
    :meth:`remove` removes only its own, so one crawl never releases, re-parses or deletes the
    page another crawl holds. Quarantine is shared. A store without an owner (the CLI, the
    report) sees every page.

    Every write is atomic and fsynced (:func:`~crawler.registry.atomic_write`), the page before
    its metadata; a write that fails raises :class:`StorageError` naming the file.
    """

    def __init__(self, root: str | Path, owner: str | None = None) -> None:
        self.root = Path(root)
        self.owner = owner

    def _name(self, kind: str, url: str, owner: str | None = None) -> str:
        owner = owner if owner is not None else self.owner
        return _key(f"{owner}\n{url}" if owner and kind in OWNED else url)

    @staticmethod
    def _utf8(text: str) -> str:
        r"""``text`` with each surrogate code point written as ``\ud800`` (six characters)."""
        return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode()

    def _folder(self, kind: str, template: str) -> Path:
        return self.root / kind / _slug(self._utf8(template))

    def put(self, kind: str, template: str, url: str, html: str, reason: str) -> Path:
        url, template, reason = self._utf8(url), self._utf8(template), self._utf8(reason)
        folder = self._folder(kind, template)
        key = self._name(kind, url)
        meta: dict[str, Any] = {"url": url, "template": template, "reason": reason}
        meta["time"] = time.time()
        if self.owner and kind in OWNED:
            meta["owner"] = self.owner
        try:
            atomic_write(folder / f"{key}.html", html.encode("utf-8", "backslashreplace"))
            data = (json.dumps(meta, ensure_ascii=False) + "\n").encode()
            atomic_write(folder / f"{key}.json", data)
        except OSError as exc:
            raise StorageError(exc.filename or folder, exc.strerror or str(exc)) from exc
        return folder / f"{key}.json"

    def has(self, kind: str, template: str, url: str) -> bool:
        folder = self._folder(kind, template)
        if not folder.is_dir():  # the common case, one stat: nothing of this kind was kept
            return False
        return (folder / f"{self._name(kind, self._utf8(url))}.json").exists()

    def remove(self, kind: str, template: str, url: str, owner: str | None = None) -> None:
        folder = self._folder(kind, template)
        if not folder.is_dir():  # the common case, one stat: nothing of this kind was kept
            return
        key = self._name(kind, self._utf8(url), owner)
        for suffix in (".json", ".html"):
            (folder / f"{key}{suffix}").unlink(missing_ok=True)

    def pages(
        self, kind: str, template: str | None = None, everyone: bool = False
    ) -> list[dict[str, Any]]:
        """Pages of a kind (``held``, ``released`` or ``quarantine``), oldest first, each with
        url, template, reason, path (and owner); held and released pages of this store's owner
        only, unless ``everyone``."""
        folders = (
            [self._folder(kind, template)] if template else sorted((self.root / kind).glob("*"))
        )
        out = []
        for folder in folders:
            for meta_path in folder.glob("*.json"):
                html_path = meta_path.with_suffix(".html")
                if not html_path.exists():
                    continue  # killed between the two writes: the page is written first, so no loss
                try:
                    meta = json.loads(meta_path.read_text("utf-8"))
                except (ValueError, OSError):
                    continue  # removed meanwhile (by its owner), or not whole
                if not isinstance(meta, dict):
                    continue
                if self.owner and kind in OWNED and not everyone:
                    if meta.get("owner") != self.owner:
                        continue  # another crawl's page (or one to adopt: Runtime._adopt)
                meta["path"] = str(html_path)
                out.append(meta)
        return sorted(out, key=lambda m: m.get("time", 0))

    def html(self, meta: dict[str, Any]) -> str:
        return Path(meta["path"]).read_text("utf-8")

    def templates(self, kind: str) -> list[str]:
        return sorted({m["template"] for m in self.pages(kind)})


class Runtime:
    """Runs the registry's parsers over pages, watches for drift, regenerates, loses nothing."""

    def __init__(
        self,
        registry: str | Path | Registry,
        state_dir: str | Path | None = None,
        fixtures_dir: str | Path | None = None,
        schema: str | Schema | None = None,
        settings: RuntimeSettings | None = None,
        llm: Any = "auto",
        log: Callable[[str], None] | None = None,
        confirm_items: bool = False,
        background: bool = False,
        owner: str | None = None,
    ) -> None:
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        self.registry.root.mkdir(parents=True, exist_ok=True)
        self.state = Path(state_dir) if state_dir else self.registry.root / ".state"
        # ``owner``: this crawl's name (the same across resumes of one job); its held and
        # released pages are its own, and it adopts those of crawls that are no longer alive
        self.owner = owner
        self._owner_fd: int | None = None
        if owner:
            self._owner_fd = self._claim(owner)
        self.store = PageStore(self.state, owner)
        self.fixtures_dir = Path(fixtures_dir) if fixtures_dir else None
        self.schema = load_schema(schema) if isinstance(schema, str) else schema
        self.settings = settings or RuntimeSettings()
        self.extractor = Extractor(self.registry, self.schema)
        self.history = History(self.registry.root / "history.sqlite")
        self.monitor = DriftMonitor(layout_threshold=self.settings.layout_threshold)
        self.stats: Counter[str] = Counter()
        self.failure: StorageError | None = None  # a durable write that failed in a background job
        self.log = log or (lambda _m: None)
        self._llm = llm
        self._llm_generator: Any = None
        self._baselined: set[str] = set()
        self._seen: Counter[str] = Counter()
        self._fixtures: list[Fixture] | None = None
        self.confirm_items = confirm_items
        if owner:
            self._adopt()
        if confirm_items:
            self._recover()
        self._suspect: dict[str, int | None] = {}  # value drift: template -> version that showed it
        self._attempted: dict[str, int] = {}  # held pages at the last regeneration attempt
        # with ``background``, regeneration runs in its own thread: pages of the template being
        # regenerated are held meanwhile, every other template keeps flowing, and the outcomes
        # of released pages wait in ``released`` for the caller to take (take_released)
        self.background = background
        self._lock = threading.RLock()
        self._regenerating: dict[str, Future[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.released: deque[PageOutcome] = deque()

    # -- one page ------------------------------------------------------------------------------

    def process(
        self,
        html: str | bytes,
        url: str,
        encoding: str | None = None,
        template: str | None = None,
        item_page: bool = False,
        links: bool = False,
    ) -> PageOutcome:
        """Parse one page; the outcome is ok (an item), held, or quarantined — never lost.

        A page no template fits and that states no item in structured data is navigation
        (status ``skipped``) unless ``item_page`` says it must hold an item: then it is
        quarantined with what to do about it. With ``links``, a page the parser worker reads
        comes back with its links (``outcome.links``), so the caller need not parse it.
        """
        page = Page(html, url, encoding)
        with self._lock:
            return self._process(page, url, template, item_page, links)

    def _process(
        self, page: Page, url: str, template: str | None, item_page: bool, links: bool = False
    ) -> PageOutcome:
        self.stats["pages"] += 1
        try:
            name: str | None = template or self.registry.route(url, None, page).template
        except RoutingError:
            name = self._new_template(page)
        if name is None:
            pending = self._new_from_labels(page, item_page)
            if pending is not None:
                return pending
        if name is None and not item_page:
            self.stats["navigation"] += 1
            return PageOutcome(url, None, "skipped")
        if name is None:
            return self._quarantine(
                page,
                f"new/{site_of(url) or 'unknown'}",
                f"no template fits {url!r} and none could be compiled: add fixtures "
                f"(scrapec fixture save {url} --template SITE/NAME) and run scrapec compile, "
                "or configure an LLM (SCRAPEC_LLM_MODEL) to label new templates",
            )
        if name in self._regenerating:  # released with the others when the new version is out
            return self._hold(page, name, "template is being regenerated", [])
        if name in self._suspect:
            # value drift: items that pass the checks may still be wrong (a selector that now
            # hits the wrong element), so everything waits for the regeneration
            outcome = self._hold(page, name, "template is being regenerated after value drift", [])
            return self._maybe_regenerate(name, outcome)
        outcome = self._evaluate(page, name, links=links)
        if outcome.status == "held":
            return self._maybe_regenerate(name, outcome)
        return outcome

    def _evaluate(
        self, page: Page, template: str, hold: bool = True, links: bool = False
    ) -> PageOutcome:
        self._baseline(template)
        self._seen[template] += 1
        # the worker has the page's tree: it computes the fingerprint (and the links the caller
        # asked for), this process parses nothing
        result: Extraction = self.extractor.extract_page(page, template, layout=True, links=links)
        outcome = self._judge(page, template, result, hold)
        outcome.links = result.links
        return outcome

    def _judge(self, page: Page, template: str, result: Extraction, hold: bool) -> PageOutcome:
        """Drift checks on one page's extraction; the page's outcome (ok, held, or failed)."""
        check_layout = (
            self._seen[template] <= 20 or self._seen[template] % self.settings.layout_every == 0
        )
        score = None
        if not result.valid or check_layout:
            try:
                reference = self.registry.info(template).reference
            except RegistryError:
                reference = frozenset()
            if reference:
                tokens = result.layout if result.layout is not None else fingerprint(page)
                score = similarity(tokens, reference)
        events = self.monitor.observe(template, page.url, result.item, result.errors, score)
        for event in events:
            self.stats["drift_events"] += 1
            self.stats[f"drift/{event.kind}"] += 1
            self.log(str(event))
        suspicious = [e for e in events if e.kind in VALUE_DRIFT]
        if suspicious and hold and result.valid:  # a valid item that looks wrong: hold them all
            self._suspect.setdefault(template, result.parser_version)
        if result.valid and not suspicious:
            assert result.item is not None
            self.history.record(page.url, template, result.parser_version, result.item)
            self.stats["items"] += 1
            if hold:
                # a copy of this URL held or quarantined earlier (e.g. its static HTML) is done
                # once this item is out: with ``confirm_items`` it waits in released/ until then
                for kind in ("held", "quarantine"):
                    if self.store.has(kind, template, page.url):
                        if self.confirm_items:
                            self.store.put("released", template, page.url, page.source, "parsed")
                        self.store.remove(kind, template, page.url)
            return PageOutcome(
                page.url, template, "ok", result.item, result.parser_version, [], events
            )
        reasons = result.errors + [str(e) for e in suspicious]
        if not hold:
            return PageOutcome(
                page.url, template, "failed", result.item, result.parser_version, reasons, events
            )
        return self._hold(page, template, "; ".join(reasons)[:500], events)

    def _hold(
        self, page: Page, template: str, reason: str, events: list[DriftEvent]
    ) -> PageOutcome:
        self.store.put("held", template, page.url, page.source, reason)
        self.stats["held"] += 1
        return PageOutcome(page.url, template, "held", errors=[reason], events=events)

    def _quarantine(self, page: Page, template: str, reason: str) -> PageOutcome:
        self.store.put("quarantine", template, page.url, page.source, reason)
        self.stats["quarantined"] += 1
        self.log(f"quarantined {page.url}: {reason}")
        return PageOutcome(page.url, template, "quarantined", errors=[reason])

    def _baseline(self, template: str) -> None:
        if template in self._baselined:
            return
        self._baselined.add(template)
        items = [f.expected for f in self.fixtures(template)]
        if items:
            self.monitor.set_baseline(template, items)

    def fixtures(self, template: str | None = None) -> list[Fixture]:
        if self._fixtures is None:
            self._fixtures = []
            if self.fixtures_dir is not None and self.fixtures_dir.is_dir():
                try:
                    self._fixtures = load_fixtures(self.fixtures_dir)
                except BadInput as exc:
                    self.log(f"fixtures ignored: {exc}")
        return [f for f in self._fixtures if template is None or f.template == template]

    # -- regeneration --------------------------------------------------------------------------

    def _maybe_regenerate(self, template: str, outcome: PageOutcome) -> PageOutcome:
        """Regenerate once enough pages are held; after a failed attempt, again only when the
        number of held pages has doubled (new pages may bring the labels that were missing)."""
        count = len(self.store.pages("held", template))
        last = self._attempted.get(template)
        if count >= self.settings.regen_samples and (last is None or count >= 2 * last):
            self._attempted[template] = count
            if self.background:
                if template not in self._regenerating:
                    if self._executor is None:
                        self._executor = ThreadPoolExecutor(2, "scrapec-regenerate")
                    self._regenerating[template] = self._executor.submit(
                        self._regenerate_in_background, template
                    )
                return outcome
            outcome.released = self.regenerate(template)
            if not self.store.pages("held", template):
                self._attempted.pop(template, None)
        return outcome

    def _regenerate_in_background(self, template: str) -> None:
        """Regenerate off the caller's thread; then the pages held meanwhile get the new version."""
        released: list[PageOutcome] = []
        try:
            released = self.regenerate(template)
        except StorageError as exc:  # the pages stay held (or released, recovered at restart)
            self._storage_failed(exc)
        except Exception as exc:  # noqa: BLE001 - the pages stay held; the crawl goes on
            self.log(f"[{template}] regeneration failed: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                del self._regenerating[template]
                try:
                    released += self._retry_held(template, self.store.pages("held", template))[0]
                except StorageError as exc:
                    self._storage_failed(exc)
                if not self.store.pages("held", template):
                    self._attempted.pop(template, None)
                self.released.extend(released)

    def _storage_failed(self, exc: StorageError) -> None:
        """A durable write failed off the caller's thread: the crawl is told (``failure``)."""
        if self.failure is None:
            self.failure = exc
        self.stats["storage_errors"] += 1
        self.log(f"cannot write: {exc}")

    def regenerating(self) -> list[str]:
        """Templates being regenerated in the background right now (no lock: the reactor
        thread asks)."""
        return sorted(list(self._regenerating))

    def take_released(self) -> list[PageOutcome]:
        """The outcomes of pages released by background regenerations since the last call.

        Called by the reactor thread on every response: when nothing was released (the usual
        case) it returns without waiting for the lock a page being processed holds."""
        if not self.released:
            return []
        with self._lock:
            out = list(self.released)
            self.released.clear()
            return out

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background regenerations; True when none is left running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                running = list(self._regenerating.values())
            if not running:
                return True
            for future in running:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    future.result(timeout=left)
                except Exception:  # noqa: BLE001 - logged by the job itself
                    pass
            if deadline is not None and time.monotonic() >= deadline:
                with self._lock:
                    return not self._regenerating

    def flush(self) -> list[PageOutcome]:
        """At the end of a crawl: regenerate every template that still has held pages (with the
        pages there are) and quarantine what still fails."""
        self.wait()
        out = self.take_released()
        for template in self.store.templates("held"):
            out += self.regenerate(template, final=True)
        return out

    def regenerate(self, template: str, final: bool = False) -> list[PageOutcome]:
        """Regenerate a broken template from its held pages; re-parse them; return their outcomes."""
        with self.registry.lease(template, self.settings.lease_ttl) as lease:
            if lease is None:
                return self._wait_for_other(template)
            held = self.store.pages("held", template)
            if not held:
                return []
            self.registry.refresh()
            # first the version that is active now (another process, or a rendered copy of a
            # page, may have fixed things since these pages were held)
            released, still = [], []
            if template in self._suspect and self._suspect[template] == self._active_version(
                template
            ):
                held, still = [], held  # the version that showed value drift cannot clear itself
            with self._lock:
                fine, failing = self._retry_held(template, held)
                released += fine
                still += failing
            if not still:
                return released
            self.log(f"[{template}] regenerating from {len(still)} held pages")
            try:
                published = self._run_tiers(template, still, lease)  # no lock: others flow
            except RegistryError as exc:  # e.g. the lease was taken over: publish refused
                self.stats["regeneration_failed"] += 1
                self.log(f"WARNING: [{template}] regeneration not published: {exc}")
                published = None
            if published is None and not final and len(still) < self.settings.max_held:
                return released  # keep holding: more pages may bring the labels repair needs
            with self._lock:
                return released + self._release(template, still, published is not None)

    def _retry_held(
        self, template: str, held: list[dict[str, Any]]
    ) -> tuple[list[PageOutcome], list[dict[str, Any]]]:
        """Held pages parsed again with the active version: the outcomes of those released, and
        the pages that still fail (they stay held). The caller holds the lock."""
        released, still = [], []
        for meta in held:
            trial = self._evaluate(Page(self.store.html(meta), meta["url"]), template, hold=False)
            if trial.status == "ok":
                self._released(template, meta)
                released.append(trial)
            else:
                still.append(meta)
        return released, still

    def _wait_for_other(self, template: str) -> list[PageOutcome]:
        """Another process regenerates this template: wait for it, then go on with what it
        published (our held pages are re-parsed; regenerated again only if they still fail)."""
        deadline = time.monotonic() + self.settings.wait_for_other
        while time.monotonic() < deadline:
            time.sleep(0.2)
            # free when the other process let go, died, or hung past its lease (taken over)
            if self.registry.lease_holder(template) is None:
                return self.regenerate(template)
        # the holder has run past the wait and its lease is still live (it works on a huge
        # template, or hangs and its lease has yet to expire): our pages stay held — never
        # lost — and the next trigger tries again, instead of waiting forever
        self.stats["regeneration_waits_expired"] += 1
        self.log(
            f"WARNING: [{template}] another process has held the regeneration lease for more "
            f"than {self.settings.wait_for_other:g} s: its pages stay held and are tried again "
            f"later (a lease not renewed is taken over after {self.settings.lease_ttl:g} s)"
        )
        return []

    def _active_version(self, template: str) -> int | None:
        try:
            return self.registry.info(template).active
        except RegistryError:
            return None

    def _release(self, template: str, held: list[dict[str, Any]], fresh: bool) -> list[PageOutcome]:
        out = []
        self.monitor.reset(template)
        self._seen[template] = 0
        self._suspect.pop(template, None)
        for meta in held:
            page = Page(self.store.html(meta), meta["url"])
            outcome = self._evaluate(page, template, hold=False)
            if outcome.status == "ok":
                self._released(template, meta)
            else:
                outcome = self._quarantine(
                    page,
                    template,
                    meta.get("reason", "") + " | after regeneration: " + "; ".join(outcome.errors),
                )
                self.store.remove("held", template, meta["url"])
            out.append(outcome)
        return out

    def _released(self, template: str, meta: dict[str, Any]) -> None:
        """A held page parsed fine: with ``confirm`` it waits in ``released/`` until its item is
        confirmed written (:meth:`confirm`), so a crash in between re-releases it at restart."""
        self.stats["released"] += 1
        if self.confirm_items:
            self.store.put("released", template, meta["url"], self.store.html(meta), "released")
        self.store.remove("held", template, meta["url"])

    def confirm(self, template: str, url: str) -> None:
        """The item of ``url`` is safely out (e.g. Scrapy's item_scraped): forget its page."""
        if self.confirm_items:
            self.store.remove("released", template, url)

    def _owners(self) -> Path:
        return self.state / "owners"

    def _claim(self, owner: str) -> int:
        """Hold ``owners/<owner>.lock`` for the life of this runtime: other crawls see it alive."""
        import fcntl

        folder = self._owners()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{_key(owner)}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageError(exc.filename or folder, exc.strerror or str(exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BadInput(
                f"{owner}: another crawl of this job is running (lock {path} is held)"
            ) from None
        return fd

    def _alive(self, owner: str | None) -> bool:
        """Whether the crawl ``owner`` runs now (it holds its lock file)."""
        import fcntl

        if not owner:
            return False
        if owner == self.owner:
            return True
        path = self._owners() / f"{_key(owner)}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the lock we may have taken
        return False

    def _adopt(self) -> None:
        """Held and released pages of crawls no longer alive (killed without a JOBDIR to resume
        them, or written without an owner) become this crawl's held pages: nobody else would
        ever release them. One crawl adopts at a time (a lock), so no page is adopted twice."""
        import fcntl

        path = self._owners() / ".adopt.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for kind in OWNED:
                for meta in self.store.pages(kind, everyone=True):
                    theirs = meta.get("owner")
                    if theirs == self.owner or self._alive(theirs):
                        continue
                    reason = meta.get("reason", "") if kind == "held" else "adopted after a crash"
                    self.store.put(
                        "held", meta["template"], meta["url"], self.store.html(meta), reason
                    )
                    self.store.remove(kind, meta["template"], meta["url"], owner=theirs or "")
                    self.stats["adopted"] += 1
        finally:
            os.close(fd)

    def _recover(self) -> None:
        """After a crash: released pages whose items were never confirmed are held again."""
        for meta in self.store.pages("released"):
            self.store.put(
                "held",
                meta["template"],
                meta["url"],
                self.store.html(meta),
                "recovered after a restart",
            )
            self.store.remove("released", meta["template"], meta["url"])
            self.stats["recovered"] += 1

    def _run_tiers(self, template: str, held: list[dict[str, Any]], lease: Lease) -> int | None:
        from crawler.compiler import compile_fixtures
        from crawler.compiler.labels import (
            context_labels,
            field_contexts,
            history_labels,
            merge_labels,
            structured_labels,
        )

        schema = self._schema_for(template)
        old_fixtures = self.fixtures(template)
        contexts = field_contexts(((f.page(), f.expected) for f in old_fixtures), schema)
        samples: list[Fixture] = []
        from_history = 0
        for meta in held:
            html = self.store.html(meta)
            page = Page(html, meta["url"])
            known = history_labels(page, self.history.get(meta["url"]), schema)
            from_history += bool(known)
            labels = merge_labels(
                known, context_labels(page, contexts, schema), structured_labels(page, schema)
            )
            if labels:
                samples.append(_held_fixture(template, meta, schema, labels, html))
        required = set(schema.required)
        usable = [s for s in samples if required & set(s.expected) or len(s.expected) >= 2]
        baseline = self.monitor.stats(template).baseline
        usual = required | {n for n, rate in baseline.items() if rate >= 0.8}
        missing = usual - {k for s in usable for k in s.expected}
        if len(usable) < min(2, len(held)) or missing:
            why = (
                f"labels miss {', '.join(sorted(missing))}"
                if missing
                else f"{len(usable)} of {len(held)} pages labelled"
            )
            self.log(f"[{template}] not enough labels to regenerate without an LLM ({why})")
            usable = []
            if self._llm_configured() is None:
                return None
        reference = (
            reference_fingerprint(fingerprint(s.page()) for s in usable) if usable else frozenset()
        )
        current = [
            f
            for f in old_fixtures
            if reference
            and similarity(fingerprint(f.page()), reference) >= self.settings.layout_threshold
        ]
        tier = "repair" if from_history else "induce"
        reason = f"regenerated after drift on {len(held)} held pages"
        gen = self.settings.generator
        result = None
        if not self._renew(lease):
            return None
        if usable and gen in ("auto", "repair", "induce"):
            result = compile_fixtures(
                usable + current,
                schema,
                self.registry,
                template,
                "induce",
                reason,
                progress=self.log,
                partial=True,
            )
            if result.published:
                self._relabel_generator(template, tier)
        if (
            (result is None or not result.published)
            and gen in ("auto", "llm")
            and self._llm_configured() is not None
        ):
            if not self._renew(lease):
                return None
            basis = usable + current or self._llm_labelled(
                template, held[:LLM_LABEL_PAGES], schema, samples
            )
            result = compile_fixtures(
                basis,
                schema,
                self.registry,
                template,
                "llm",
                reason,
                progress=self.log,
                llm_generator=self._llm_configured(),
                partial=True,
            )
            self.stats["llm_calls"] += result.llm_calls
            self.stats["llm_tokens"] += result.llm_tokens
            self.stats["llm_cost_micro"] += int(result.llm_cost * 1e6)
        if result is not None and result.published:
            tier = "llm" if result.generator and result.generator.startswith("llm") else tier
            self.stats[f"regenerated/{tier}"] += 1
            self.log(f"[{template}] published v{result.version} by {tier}")
            self._save_fixtures(template, usable, schema)
            return result.version
        self.stats["regeneration_failed"] += 1
        if result is not None:
            self.log(
                f"[{template}] regeneration failed: {'; '.join((result.report + result.notes)[:5])}"
            )
        return None

    def _renew(self, lease: Lease) -> bool:
        """Renew the regeneration lease before a tier; False (said once) when it was lost."""
        if lease.renew():
            return True
        self.stats["regeneration_lease_lost"] += 1
        self.log(
            f"WARNING: [{lease.template}] the regeneration lease expired and another process "
            "took the template over: this attempt stops, its pages stay held"
        )
        return False

    def _llm_labelled(
        self, template: str, held: list[dict[str, Any]], schema: Schema, samples: list[Fixture]
    ) -> list[Fixture]:
        """Held pages labelled by the LLM (grounded values only), merged with what the cheap
        labellers knew; the LLM then writes the parser against these labels."""
        from crawler.exceptions import CompileError

        gen = self._llm_configured()
        known = {s.url: s.expected for s in samples}
        out = []
        for meta in held:
            html = self.store.html(meta)
            before = gen.label_usage.calls
            try:
                labels = gen.label(Page(html, meta["url"]), schema)
            except CompileError as exc:  # the model is unreachable or the budget is spent
                self.log(f"[{template}] LLM labelling stopped: {exc}")
                labels = {}
            finally:
                self.stats["llm_calls"] += gen.label_usage.calls - before
            labels = {**labels, **known.get(meta["url"], {})}
            out.append(_held_fixture(template, meta, schema, labels, html))
        return out

    def _relabel_generator(self, template: str, tier: str) -> None:
        """Record that the published version came from repair (history labels) or induce."""
        if tier == "induce":
            return
        info = self.registry.info(template)
        versions = dict(info.data.get("versions", {}))
        active = str(info.active)
        if active in versions:
            versions[active] = dict(versions[active], generator=tier)
            self.registry.update(template, versions=versions)

    def _save_fixtures(self, template: str, samples: list[Fixture], schema: Schema) -> None:
        """Keep the labelled pages of the new layout as fixtures of the template (for review)."""
        if self.fixtures_dir is None:
            return
        for sample in samples[:3]:
            case = self.fixtures_dir / template / f"regen-{_key(sample.url)[:10]}"
            if not case.exists():
                sample.meta = {"source": "regeneration"}
                sample.save(case, schema.name)
        self._fixtures = None

    def _schema_for(self, template: str) -> Schema:
        if self.schema is not None:
            return self.schema
        try:
            kept = self.registry.info(template).load_schema()
        except RegistryError:
            kept = None
        if kept is not None:
            return kept
        name = ""
        if not name:
            fixtures = self.fixtures(template)
            name = next((f.schema for f in fixtures if f.schema), "") or ""
        if not name:
            raise BadInput(
                f"no schema known for template {template!r}: pass one (--schema / -a schema=NAME)"
            )
        return load_schema(name)

    def _llm_configured(self) -> Any:
        if self._llm_generator is not None:
            return self._llm_generator
        if self._llm is None:
            return None
        if self._llm != "auto":
            self._llm_generator = self._llm
            return self._llm_generator
        if not os.environ.get("SCRAPEC_LLM_MODEL"):
            return None
        from crawler.compiler.llm import LLMConfig, LLMGenerator

        config = LLMConfig.from_env()
        self._llm_generator = LLMGenerator(config) if config is not None else None
        return self._llm_generator

    # -- new templates -------------------------------------------------------------------------

    def _new_template(self, page: Page) -> str | None:
        """A page no template fits: compile a template for it from fixtures that match it, if any."""
        from crawler.compiler import compile_fixtures

        fixtures = self.fixtures()
        if not fixtures:
            return None
        tokens = fingerprint(page)
        groups: dict[str, list[Fixture]] = {}
        for f in fixtures:
            groups.setdefault(f.template, []).append(f)
        best, score = None, 0.0
        for template, cases in groups.items():
            if template in self.registry.templates():
                continue
            if cases[0].url and site_of(cases[0].url) != site_of(page.url):
                continue
            ref = reference_fingerprint(fingerprint(c.page()) for c in cases)
            value = similarity(tokens, ref)
            if value > score:
                best, score = template, value
        if best is None or score < self.settings.layout_threshold:
            return None
        self.registry.refresh()  # another process may have compiled it a moment ago
        if best in self.registry.templates():
            return best
        schema = self.schema or load_schema(
            next((f.schema for f in groups[best] if f.schema), "") or "product"
        )
        self.log(
            f"[{best}] new template met at {page.url}: compiling from {len(groups[best])} fixtures"
        )
        result = compile_fixtures(
            groups[best],
            schema,
            self.registry,
            best,
            self.settings.generator if self.settings.generator != "repair" else "auto",
            "new template met during a crawl",
            progress=self.log,
            llm_generator=self._llm_configured(),
        )
        if not result.published:
            self.log(f"[{best}] could not compile: {'; '.join(result.report[:3])}")
            return None
        self.stats["compiled"] += 1
        return best

    def _new_from_labels(self, page: Page, item_page: bool = False) -> PageOutcome | None:
        """A page of a site with no template yet that states an item of the schema in
        structured data — or, with an LLM configured, that the crawl says is an item page: hold
        it under ``<site>/<schema>``; with enough such pages, that template is compiled from
        their structured-data labels, or from labels the LLM gives (grounded in the page)."""
        if self.schema is None:
            return None
        from crawler.compiler.labels import structured_labels

        labels = structured_labels(page, self.schema)
        stated = bool(labels) and set(self.schema.required) <= set(labels)
        if not stated and not (item_page and self._llm_configured() is not None):
            return None
        template = f"{site_of(page.url) or 'unknown'}/{self.schema.name}"
        outcome = self._hold(
            page, template, "new template: waiting for enough pages to compile it", []
        )
        return self._maybe_regenerate(template, outcome)

    def close(self) -> None:
        self.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.history.close()
        if self._owner_fd is not None:
            os.close(self._owner_fd)  # drops the lock: this crawl's pages may be adopted now
            self._owner_fd = None
