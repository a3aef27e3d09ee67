"""The spider middleware that turns responses into checked items through the scrapec runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from crawler.checks import shown_share
from crawler.crawl.glue import (
    KEY_META,
    Ledger,
    ledger_for,
    publish_stats,
    runtime_for,
    settings_for,
)
from crawler.exceptions import RegistryError
from crawler.history import StorageError
from crawler.parsing import Page
from crawler.runtime import PageOutcome, Runtime

FAILED_REASON = "scrapec_storage_error"


def one_line(text: str) -> str:
    """``text`` for one log line: control and format characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1].replace("\\\\", "\\")
        for ch in text
    )


def storage_failed(crawler: Crawler, ledger: Ledger, exc: StorageError, url: str = "") -> None:
    """A durable write failed: say so (naming the file), count the page that is not
    acknowledged, and stop the crawl; ``scrapy crawl`` then exits with 1
    (:meth:`~crawler.crawl.extension.ScrapecExtension.engine_stopped`)."""
    import logging

    ledger.stats["unwritten"] += bool(url)
    log = logging.getLogger("scrapec")
    page = f"; {one_line(url)} is not acknowledged (with JOBDIR it is fetched again on resume)"
    log.error(f"scrapec: {one_line(str(exc))}{page if url else ''}")
    if ledger.failure is not None:
        return
    ledger.failure = exc
    log.error("scrapec: stopping the crawl: a page that cannot be written is not done")
    engine = crawler.engine
    if engine is not None:
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(engine.close_spider_async(reason=FAILED_REASON))


MAX_FAILED_PROBES = 3
MAX_STATIC_KEPT = 200  # static copies kept in memory while their rendered copies are fetched
# a static copy: body, encoding, and the item the parser read from it (None: nothing)
StaticCopy = tuple[bytes, str, dict[str, Any] | None]


# why a page is held when no parser judged it (the runtime's reasons): it waits for a version
_WAIT_REASONS = ("template is being regenerated", "new template: waiting")


def _waiting(outcome: Any) -> bool:
    """Whether a held page was held without being parsed: it waits for a regeneration."""
    return outcome.status == "held" and any(
        str(e).startswith(_WAIT_REASONS) for e in outcome.errors
    )


OUTCOME_KEY = "_scrapec_outcome"  # not "scrapec…": the render probe copies those keys
# the links the parser worker read from the page, for a spider that asks for them
# (``scrapec_links = True``, as the generic spider does): then it parses no item page itself
LINKS_KEY = "_scrapec_links"


class ScrapecDownloaderMiddleware:
    """Runs the scrapec runtime on a response in a thread, off the reactor: parsing (in a worker
    process) and checks never block downloads, and a regeneration runs in the runtime's own
    thread while other templates flow. The outcome travels in the request's meta to
    :class:`ScrapecSpiderMiddleware`, which emits it (without this component, the spider
    middleware processes the response itself, in the reactor thread)."""

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.ledger = ledger_for(crawler)
        self.extract_all = settings_for(crawler).extract_all

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecDownloaderMiddleware:
        return cls(crawler, runtime_for(crawler))

    async def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        flag = request.meta.get("scrapec", self.extract_all or None)
        if not flag or not isinstance(response, TextResponse):
            return response
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        template = flag if isinstance(flag, str) else None
        item_page = bool(request.meta.get("scrapec_item_page"))
        if self.ledger.failure is not None:  # the crawl is stopping: nothing can be written
            raise IgnoreRequest(f"{response.url}: not processed: {self.ledger.failure}")
        spider = self.crawler.spider
        links = bool(getattr(spider, "scrapec_links", False)) and request.callback in (
            None,
            getattr(spider, "parse", None),
        )
        try:
            outcome = await maybe_deferred_to_future(
                deferToThread(
                    self.runtime.process,
                    response.body,
                    response.url,
                    response.encoding,
                    template,
                    item_page,
                    links,
                )
            )
        except StorageError as exc:
            storage_failed(self.crawler, self.ledger, exc, response.url)
            raise IgnoreRequest(f"{response.url}: not written: {exc}") from None
        request.meta[OUTCOME_KEY] = outcome
        if outcome.links is not None:
            request.meta[LINKS_KEY] = outcome.links
        return response


class ScrapecSpiderMiddleware:
    """Adds the items scrapec extracts from a response to the callback's output.

    A response is extracted when its request has ``meta["scrapec"]`` (True, or a template id),
    or when ``SCRAPEC_EXTRACT_ALL`` is on. Pages that fail are held; when a template is
    regenerated, the items of its held pages come out with the response that triggered it.

    A page held with its static HTML is fetched once more through the browser
    (``SCRAPEC_RENDER_PROBE``, default on): when the rendered copy passes, the template is marked
    ``render: true`` in parser.json and its later pages are fetched rendered.
    """

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.extract_all = settings_for(crawler).extract_all
        self.render_probe = settings_for(crawler).render_probe
        self._failed_probes: dict[str, int] = {}
        self.ledger = ledger_for(crawler)
        # URLs whose item went out (with JOBDIR, those of earlier runs' feeds too): a URL is
        # never emitted twice
        self.emitted: set[str] = self.ledger.emitted
        self._static: dict[str, StaticCopy] = {}  # static copies of pages being probed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecSpiderMiddleware:
        return cls(crawler, runtime_for(crawler))

    def items(self, outcomes: list[PageOutcome], key: str | None = None) -> list[dict[str, Any]]:
        """The feed items of outcomes, each URL once; a duplicate's page is done at once. With
        ``key``, the first outcome is the response's own: its request is done once its item is
        written (the extension acknowledges it)."""
        out = []
        for n, outcome in enumerate(outcomes):
            for one in outcome.all():
                if one.status != "ok" or one.item is None:
                    continue
                if one.url in self.emitted:
                    self.runtime.confirm(one.template or "", one.url)
                    self.runtime.stats["duplicates_dropped"] += 1
                    continue
                self.emitted.add(one.url)
                if key is not None and n == 0 and one is outcome:
                    self.ledger.wait_for_item(key, one.url)
                out.append(
                    {
                        **one.item,
                        "_url": one.url,
                        "_template": one.template,
                        "_parser_version": one.parser_version,
                    }
                )
        return out

    def _output(self, response: Response, key: str | None = None) -> list[Any]:
        flag = response.meta.get("scrapec", self.extract_all or None)
        if self.runtime.failure is not None and self.ledger.failure is None:
            storage_failed(self.crawler, self.ledger, self.runtime.failure)
        released = self.items(self.runtime.take_released())
        if not flag or not isinstance(response, TextResponse):
            return released
        template = flag if isinstance(flag, str) else None
        item_page = bool(response.meta.get("scrapec_item_page"))
        # processed off the reactor thread by ScrapecDownloaderMiddleware when it is enabled
        outcome = response.meta.pop(OUTCOME_KEY, None)
        if not isinstance(outcome, PageOutcome) or outcome.url != response.url:
            try:
                outcome = self.runtime.process(
                    response.body, response.url, response.encoding, template, item_page
                )
            except StorageError as exc:
                storage_failed(self.crawler, self.ledger, exc, response.url)
                raise IgnoreRequest(f"{response.url}: not written: {exc}") from None
        static = (
            self._static.pop(response.url, None) if response.meta.get("scrapec_probe") else None
        )
        if response.meta.get("scrapec_probe") and outcome.template:
            if outcome.status == "ok":
                # evidence only when the parser that failed the static page passes the rendered
                # one (a version published meanwhile may parse both) and the static page lacked
                # the data (not a page that changed between the two fetches)
                same = outcome.parser_version == response.meta.get("scrapec_probe_version")
                if same and not self._static_shows(static, outcome):
                    self._remember_render(outcome.template)
            elif not _waiting(outcome):  # held only to wait for a regeneration: no evidence
                self._failed_probes[outcome.template] = (
                    self._failed_probes.get(outcome.template, 0) + 1
                )
        out: list[Any] = self.items([outcome], key) + released
        if outcome.status == "held":
            probe = self._probe(response, outcome.template)
            if probe is not None:
                out.append(probe)
        publish_stats(self.crawler, self.runtime)
        return out

    def _probe(self, response: TextResponse, template: str | None) -> Request | None:
        if (
            not self.render_probe
            or response.meta.get("playwright")
            or response.meta.get("scrapec_probe")
        ):
            return None
        key = template or ""
        if self._failed_probes.get(key, 0) >= MAX_FAILED_PROBES:
            return None  # rendering did not help this template: stop paying for a browser
        if response.request is None:
            return None
        meta = {k: v for k, v in response.meta.items() if k.startswith("scrapec")}
        try:
            version = self.runtime.registry.info(key).active if template else None
        except RegistryError:
            version = None
        meta.update(playwright=True, scrapec_probe=True, scrapec_probe_version=version)
        while len(self._static) >= MAX_STATIC_KEPT:  # probes that never came back
            del self._static[next(iter(self._static))]
        self._static[response.url] = (
            response.body,
            response.encoding,
            self._static_item(response, template),
        )
        self.runtime.stats["render_probes"] += 1
        return response.request.replace(meta=meta, dont_filter=True)

    def _static_item(self, response: TextResponse, template: str | None) -> dict[str, Any] | None:
        """What the current parser reads from the static copy (None when it reads nothing)."""
        if template is None:
            return None
        page = Page(response.body, response.url, response.encoding)
        return self.runtime.extractor.extract_page(page, template).item

    @staticmethod
    def _static_shows(static: StaticCopy | None, outcome: PageOutcome) -> bool:
        """Whether the static copy already showed the data its parse lacked: then the parser
        failed it for another reason (the site changed between the two fetches), and the
        browser is not what fixed it. Only the fields the static parse missed are looked for, so
        a page shell whose navigation happens to name a city or a brand does not count."""
        if static is None or outcome.item is None:
            return False
        body, encoding, static_item = static
        known = static_item or {}
        missed = {
            k: v
            for k, v in outcome.item.items()
            if known.get(k) in (None, "", []) and v != known.get(k)
        }
        if not missed:
            return True  # the static parse already had everything the rendered one has
        return shown_share(missed, Page(body, outcome.url, encoding)) >= 0.5

    def _remember_render(self, template: str) -> None:
        registry = self.runtime.registry
        try:
            if not registry.info(template, fresh=True).data.get("render"):
                registry.update(template, render=True)
                self.runtime.stats["render_enabled"] += 1
                self.runtime.log(
                    f"[{template}] its pages need JavaScript rendering: render=true saved in parser.json"
                )
        except RegistryError:
            pass

    # -- the journal (JOBDIR): a response is done once its item is written, or its page held or
    # quarantined, and the requests it yielded are journaled (crawler.crawl.glue.Ledger)

    def _key(self, response: Response) -> str | None:
        key = response.meta.get(KEY_META) if self.ledger.journaled else None
        return str(key) if key else None

    def _journal(self, outputs: list[Any]) -> bool:
        """Journal the requests among ``outputs`` before Scrapy schedules them."""
        try:
            self.ledger.add([r for r in outputs if isinstance(r, Request)], self.crawler.spider)
        except StorageError as exc:
            storage_failed(self.crawler, self.ledger, exc)
            return False
        return True

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Start requests are journaled; at a resume, those of earlier runs not done come
        first (a start request the journal knows is not sent again: it is done or among them)."""
        for request in self.ledger.pending(self.crawler.spider):
            yield request
        async for r in start:
            if isinstance(r, Request) and self.ledger.journaled:
                if self.ledger.known(r):
                    continue
                if not self._journal([r]):
                    return
            yield r

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        key = self._key(response)
        if key is not None:
            self.ledger.begin(key)
        for item in self._output(response, key):
            yield item
        outputs = [r async for r in result]
        if not self._journal(outputs):
            return
        for r in outputs:
            yield r
        if key is not None:
            self._settle(key)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        key = self._key(response)
        if key is not None:
            self.ledger.begin(key)
        yield from self._output(response, key)
        outputs = list(result)
        if not self._journal(outputs):
            return
        yield from outputs
        if key is not None:
            self._settle(key)

    def _settle(self, key: str) -> None:
        try:
            self.ledger.release(key)
        except StorageError as exc:
            storage_failed(self.crawler, self.ledger, exc)


def items_of(outcome: PageOutcome, emitted: set[str] | None = None) -> list[dict[str, Any]]:
    """The feed items of an outcome: its own item and those of released pages, with provenance;
    a URL already in ``emitted`` (a page fetched twice: static, then rendered) is skipped."""
    out = []
    for one in outcome.all():
        if one.status == "ok" and one.item is not None:
            if emitted is not None:
                if one.url in emitted:
                    continue
                emitted.add(one.url)
            out.append(
                {
                    **one.item,
                    "_url": one.url,
                    "_template": one.template,
                    "_parser_version": one.parser_version,
                }
            )
    return out
