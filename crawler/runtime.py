"""The self-healing runtime: pages in, validated items out, regeneration when a template breaks.

One page: route → active parser (sandboxed) → schema + grounding → drift monitor. A good item is
recorded as its URL's last good item and returned. A page whose item fails, or that reveals
drift, is *held* on disk (:mod:`crawler.pages`) and its template marked broken; once enough
pages are held, the template is regenerated: the held pages are labelled — from the last good
item of the same URL, the label text that stood beside each value in the old layout, and the
page's structured data — and the tier policy (:mod:`crawler.compiler.tiers`: ``repair``, then
``induce``, then ``llm`` when configured) publishes the first candidate that passes the gate
(policy, schema, grounding, every current fixture). Held pages are then parsed again, and pages
that still fail go to quarantine with the reason. Nothing is lost: a page is always either an
item, held, or quarantined, on disk (its :class:`~crawler.pages.PageStatus` says which). A page
no template fits may start a new one (:mod:`crawler.discovery`).
Regeneration is single-flight per template across processes (a lease in the registry, which a
hung holder loses after ``lease_ttl`` seconds; a late publish is refused).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.discovery import compile_from_fixtures, held_template
from crawler.drift import DriftEvent, DriftMonitor
from crawler.exceptions import BadInput, RegistryError, RoutingError
from crawler.extract import Extraction, Extractor
from crawler.fixtures import UNREVIEWED, Fixture, held_case, load_fixtures, retire
from crawler.fleet import open_monitor, open_registry, open_stats, open_store
from crawler.gate import outgrown
from crawler.history import History, StorageError
from crawler.pages import HELD, QUARANTINE, RELEASED, HeldPage, PageStatus, PageStore
from crawler.parsing import Page
from crawler.registry import Lease, Registry
from crawler.routing import fingerprint, similarity, site_of
from crawler.schemas import Schema, load_schema

__all__ = ["PageOutcome", "PageStore", "Runtime", "RuntimeSettings", "StorageError"]

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
    status: PageStatus  # process() gives ok, held, quarantined or skipped
    item: dict[str, Any] | None = None
    parser_version: int | None = None  # the version that parsed the page (items: _parser_version)
    errors: list[str] = field(default_factory=list)
    events: list[DriftEvent] = field(default_factory=list)
    released: list[PageOutcome] = field(default_factory=list)
    # the page's absolute links, read in the parser worker when the caller asked for them
    # (None: not read; the caller reads them itself)
    links: list[str] | None = field(default=None, repr=False)

    def all(self) -> Iterator[PageOutcome]:
        """This outcome and every released one, flattened."""
        if self.status != PageStatus.HELD:
            yield self
        for other in self.released:
            yield from other.all()


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
        # the folder registry, or a fleet's in Redis when SCRAPEC_REDIS_URL is set (crawler.fleet)
        self.registry = registry if isinstance(registry, Registry) else open_registry(registry)
        self.registry.root.mkdir(parents=True, exist_ok=True)
        self.state = Path(state_dir) if state_dir else self.registry.root / ".state"
        # ``owner``: this crawl's name (the same across resumes of one job); its held and
        # released pages are its own, and it adopts those of crawls that are no longer alive
        self.owner = owner
        self.store = open_store(self.registry, self.state, owner)  # a fleet's: in Redis
        if owner:
            self.store.claim()
        self.fixtures_dir = Path(fixtures_dir) if fixtures_dir else None
        self.schema = load_schema(schema) if isinstance(schema, str) else schema
        self.settings = settings or RuntimeSettings()
        self.extractor = Extractor(self.registry, self.schema)
        self.history = History(self.registry.root / "history.sqlite")
        self.monitor: DriftMonitor = open_monitor(
            self.registry, layout_threshold=self.settings.layout_threshold
        )
        self.stats: Counter[str] = open_stats(self.registry)  # a fleet's: summed in Redis too
        self.quarantined: Counter[str] = Counter()  # pages quarantined by this run, per template
        self.quarantine_reason: dict[str, str] = {}  # the last reason, per template
        self.failure: StorageError | None = None  # a durable write that failed in a background job
        self.log = log or (lambda _m: None)
        self._llm = llm
        self._llm_generator: Any = None
        self._baselined: set[str] = set()
        self._seen: Counter[str] = Counter()
        self._fixtures: list[Fixture] | None = None
        self.confirm_items = confirm_items
        if owner:
            self.stats["adopted"] += self.store.adopt()
        if confirm_items:
            self.stats["recovered"] += self.store.recover()
        self._suspect: dict[str, int | None] = {}  # value drift: template -> version that showed it
        self._attempted: dict[str, int] = {}  # held pages at the last regeneration attempt
        self._why_not: dict[str, str] = {}  # template -> why its last regeneration made nothing
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
        self.stats["item_pages"] += item_page  # no item out of any of them: a loud failure
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
            return PageOutcome(url, None, PageStatus.SKIPPED)
        if name is None:
            return self._quarantine(
                page,
                f"new/{site_of(url) or 'unknown'}",
                f"no template fits {url!r} and none could be compiled: teach it from this page "
                f"(scrapec new {url} --schema {self.schema.name if self.schema else 'SCHEMA'} "
                "--example FIELD=VALUE …), or configure an LLM (SCRAPEC_LLM_MODEL) to label new "
                "templates",
            )
        if name in self._regenerating:  # released with the others when the new version is out
            return self._hold(page, name, "template is being regenerated", [])
        if name in self._suspect:
            # value drift: items that pass the checks may still be wrong (a selector that now
            # hits the wrong element), so everything waits for the regeneration
            outcome = self._hold(page, name, "template is being regenerated after value drift", [])
            return self._maybe_regenerate(name, outcome)
        outcome = self._evaluate(page, name, links=links)
        if outcome.status == PageStatus.HELD:
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
                for kind in (HELD, QUARANTINE):
                    if self.store.has(kind, template, page.url):
                        if self.confirm_items:
                            self.store.put(RELEASED, template, page.url, page.source, "parsed")
                        self.store.remove(kind, template, page.url)
            return PageOutcome(
                page.url, template, PageStatus.OK, result.item, result.parser_version, [], events
            )
        reasons = result.errors + [str(e) for e in suspicious]
        if not hold:
            return PageOutcome(
                page.url,
                template,
                PageStatus.FAILED,
                result.item,
                result.parser_version,
                reasons,
                events,
            )
        return self._hold(page, template, "; ".join(reasons)[:500], events)

    def _hold(
        self, page: Page, template: str, reason: str, events: list[DriftEvent]
    ) -> PageOutcome:
        self.store.put(HELD, template, page.url, page.source, reason)
        self.stats["held"] += 1
        return PageOutcome(page.url, template, PageStatus.HELD, errors=[reason], events=events)

    def _quarantine(self, page: Page, template: str, reason: str) -> PageOutcome:
        self.store.put(QUARANTINE, template, page.url, page.source, reason)
        self.stats["quarantined"] += 1
        self.quarantined[template] += 1
        self.quarantine_reason[template] = reason
        self.log(f"quarantined {page.url}: {reason}")
        return PageOutcome(page.url, template, PageStatus.QUARANTINED, errors=[reason])

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
        count = len(self.store.pages(HELD, template))
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
            if not self.store.pages(HELD, template):
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
                    released += self._retry_held(template, self.store.pages(HELD, template))[0]
                except StorageError as exc:
                    self._storage_failed(exc)
                if not self.store.pages(HELD, template):
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
        for template in self.store.templates(HELD):
            out += self.regenerate(template, final=True)
        return out

    def regenerate(self, template: str, final: bool = False) -> list[PageOutcome]:
        """Regenerate a broken template from its held pages; re-parse them; return their outcomes."""
        with self.registry.lease(template, self.settings.lease_ttl) as lease:
            if lease is None:
                return self._wait_for_other(template)
            held = self.store.pages(HELD, template)
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
                return released + self._release(template, still)

    def _retry_held(
        self, template: str, held: list[HeldPage]
    ) -> tuple[list[PageOutcome], list[HeldPage]]:
        """Held pages parsed again with the active version: the outcomes of those released, and
        the pages that still fail (they stay held). The caller holds the lock."""
        if self._active_version(template) is None:
            return [], list(held)  # a new template with no version yet: nothing to parse with
        released, still = [], []
        for one in held:
            trial = self._evaluate(Page(one.html(), one.url), template, hold=False)
            if trial.status == PageStatus.OK:
                self._released(template, one)
                released.append(trial)
            else:
                still.append(one)
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

    def _release(self, template: str, held: list[HeldPage]) -> list[PageOutcome]:
        """After a regeneration (published or given up): the held pages parsed with the active
        version, each released (ok) or quarantined with its reason."""
        out = []
        self.monitor.reset(template)
        self._seen[template] = 0
        self._suspect.pop(template, None)
        why = self._why_not.pop(template, "")
        if self._active_version(template) is None:  # a new template nothing could be made for
            for one in held:
                page = Page(one.html(), one.url)
                reason = (
                    f"{one.reason} | no parser could be made: {why or 'nothing passed the gate'}"
                )
                out.append(self._quarantine(page, template, reason))
                self.store.remove(HELD, template, one.url)
            return out
        for one in held:
            page = Page(one.html(), one.url)
            outcome = self._evaluate(page, template, hold=False)
            if outcome.status == PageStatus.OK:
                self._released(template, one)
            else:
                outcome = self._quarantine(
                    page,
                    template,
                    one.reason
                    + " | after regeneration: "
                    + "; ".join(outcome.errors)
                    + (f" | regeneration: {why}" if why else ""),
                )
                self.store.remove(HELD, template, one.url)
            out.append(outcome)
        return out

    def _released(self, template: str, held: HeldPage) -> None:
        """A held page parsed fine: with ``confirm`` it waits in ``released/`` until its item is
        confirmed written (:meth:`confirm`), so a crash in between re-releases it at restart."""
        self.stats["released"] += 1
        if self.confirm_items:
            self.store.put(RELEASED, template, held.url, held.html(), "released")
        self.store.remove(HELD, template, held.url)

    def confirm(self, template: str, url: str) -> None:
        """The item of ``url`` is safely out (e.g. Scrapy's item_scraped): forget its page."""
        if self.confirm_items:
            self.store.remove(RELEASED, template, url)

    def _run_tiers(self, template: str, held: list[HeldPage], lease: Lease) -> int | None:
        """Label the held pages, then run the tier policy on them (the lease renewed before
        each tier); the version published, or None."""
        from crawler.compiler.tiers import held_samples, llm_labelled, run_tiers, tiers_for

        schema = self._schema_for(template)
        before = self._active_version(template)
        baseline = self.monitor.stats(template).baseline
        usual = set(schema.required) | {n for n, rate in baseline.items() if rate >= 0.8}
        samples = held_samples(
            held,
            schema,
            self.history.get,
            self.fixtures(template),
            usual,
            self.settings.layout_threshold,
        )
        for sample in samples.usable:  # named by the case each is saved as, for review
            sample.case, sample.meta = held_case(sample.url), {"review": UNREVIEWED}
        llm = self._llm_configured()
        if samples.short:
            short = f"not enough labels to regenerate without an LLM ({samples.short})"
            self.log(f"[{template}] {short}")
            self._why_not[template] = short
            if llm is None:
                return None
            down = getattr(llm, "unreachable", None)
            if down:
                self._why_not[template] = f"{down}; {short}"
                return None

        def labelled_by_llm() -> list[Fixture]:
            pages, calls = llm_labelled(
                llm, held[:LLM_LABEL_PAGES], schema, samples.known(), self.log
            )
            self.stats["llm_calls"] += calls
            for one in pages:
                one.case, one.meta = held_case(one.url), {"review": UNREVIEWED}
            return pages

        tiers = tiers_for(self.settings.generator, samples.from_history > 0)
        result = run_tiers(
            samples.basis,
            schema,
            self.registry,
            template,
            [t for t in tiers if t != "llm" or llm is not None],
            f"regenerated after drift on {len(held)} held pages",
            progress=self.log,
            llm_generator=llm,
            partial=True,
            before_tier=lambda _tier: self._renew(lease),
            llm_fixtures=labelled_by_llm,
        )
        if result.stopped:  # the lease was lost before a tier: nothing was published
            return None
        self.stats["llm_calls"] += result.llm_calls
        self.stats["llm_tokens"] += result.llm_tokens
        self.stats["llm_cost_micro"] += int(result.llm_cost * 1e6)
        if result.published:
            tier = "llm" if (result.generator or "").startswith("llm") else str(result.generator)
            self.stats[f"regenerated/{tier}"] += 1  # the tiers said "published vN (tier)"
            self._why_not.pop(template, None)
            self._save_fixtures(template, samples.usable, schema, before, result.version)
            return result.version
        self.stats["regeneration_failed"] += 1
        failed = "; ".join((result.report + result.notes)[:5])
        if getattr(llm, "unreachable", None):
            failed = str(llm.unreachable)
        self._why_not[template] = failed or "nothing passed the gate"
        if failed:
            self.log(f"[{template}] regeneration failed: {failed}")
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

    def _save_fixtures(
        self,
        template: str,
        samples: list[Fixture],
        schema: Schema,
        before: int | None = None,
        version: int | None = None,
    ) -> None:
        """Keep the labelled pages of the new layout as fixtures of the template, in the review
        queue (``review: unreviewed``: ``scrapec fixture list``, ``accept``); after a version
        that had a layout of its own (a heal), retire the fixtures of the old layout: kept,
        marked with version ``before``, gating nothing any more."""
        if self.fixtures_dir is None:
            return
        # every labelled page the new version was gated on: parser.json names them as cases
        for sample in samples:
            case = self.fixtures_dir / template / held_case(sample.url)
            if not case.exists():
                sample.meta = {"source": "regeneration", "review": UNREVIEWED}
                sample.save(case, schema.name)
        self._fixtures = None
        if before is None or version is None:
            return
        try:
            reference = self.registry.info(template, fresh=True).reference
        except RegistryError:
            return
        old = outgrown(self.fixtures(template), reference, self.settings.layout_threshold)
        retired = retire(old, before, version, f"the layout changed: v{version} replaced it")
        if retired:
            self.log(
                f"[{template}] {len(retired)} fixtures of the old layout retired with "
                f"v{before}: {', '.join(f.name for f in retired)}"
            )
        self._fixtures = None

    def _schema_for(self, template: str) -> Schema:
        """The runtime's schema, else the one the template was published with, else its
        fixtures'."""
        if self.schema is not None:
            return self.schema
        try:
            kept = self.registry.info(template).load_schema()
        except RegistryError:
            kept = None
        if kept is not None:
            return kept
        name = next((f.schema for f in self.fixtures(template) if f.schema), "")
        if not name:
            raise BadInput(
                f"no schema known for template {template!r}: pass one (--schema / -a schema=NAME)"
            )
        return load_schema(name)

    @property
    def llm_unreachable(self) -> str | None:
        """Why the LLM tier is off for this run, when it was configured and could not be reached
        (its circuit breaker: :attr:`crawler.compiler.llm.LLMGenerator.unreachable`)."""
        return getattr(self._llm_generator, "unreachable", None)

    def _llm_configured(self) -> Any:
        if self._llm_generator is None:
            from crawler.compiler.tiers import configured_llm

            self._llm_generator = configured_llm(self._llm)
        return self._llm_generator

    # -- new templates -------------------------------------------------------------------------

    def _new_template(self, page: Page) -> str | None:
        """A page no template fits: compile a template for it from fixtures that match it, if any."""
        found = compile_from_fixtures(
            page,
            self.fixtures(),
            self.registry,
            self.schema,
            self.settings.generator,
            self.settings.layout_threshold,
            self._llm_configured,
            self.log,
        )
        if found is None:
            return None
        template, compiled = found
        self.stats["compiled"] += compiled
        return template

    def _new_from_labels(self, page: Page, item_page: bool = False) -> PageOutcome | None:
        """A page of a site with no template yet that says it holds an item (:func:`held_template`):
        held under ``<site>/<schema>``; with enough such pages, that template is compiled from
        their structured-data labels, or from labels the LLM gives (grounded in the page)."""
        template = held_template(
            page, self.schema, item_page, lambda: self._llm_configured() is not None
        )
        if template is None:
            return None
        outcome = self._hold(
            page, template, "new template: waiting for enough pages to compile it", []
        )
        return self._maybe_regenerate(template, outcome)

    def close(self) -> None:
        self.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.history.close()
        self.store.close()  # drops the owner's lock: this crawl's pages may be adopted now
