"""The spider middleware that turns responses into checked items through the scrapec runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.checks import shown_share
from crawler.crawl.runtime import publish_stats, runtime_for
from crawler.exceptions import RegistryError
from crawler.parsing import Page
from crawler.runtime import PageOutcome, Runtime

MAX_FAILED_PROBES = 3
MAX_STATIC_KEPT = 200  # static copies kept in memory while their rendered copies are fetched
# a static copy: body, encoding, and the item the parser read from it (None: nothing)
StaticCopy = tuple[bytes, str, dict[str, Any] | None]


OUTCOME_KEY = "_scrapec_outcome"  # not "scrapec…": the render probe copies those keys


class ScrapecDownloaderMiddleware:
    """Runs the scrapec runtime on a response in a thread, off the reactor: parsing (in a worker
    process) and checks never block downloads, and a regeneration runs in the runtime's own
    thread while other templates flow. The outcome travels in the request's meta to
    :class:`ScrapecSpiderMiddleware`, which emits it (without this component, the spider
    middleware processes the response itself, in the reactor thread)."""

    def __init__(self, crawler: Crawler, runtime: Runtime) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.extract_all = crawler.settings.getbool("SCRAPEC_EXTRACT_ALL", False)

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
        outcome = await maybe_deferred_to_future(
            deferToThread(
                self.runtime.process,
                response.body,
                response.url,
                response.encoding,
                template,
                item_page,
            )
        )
        request.meta[OUTCOME_KEY] = outcome
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
        self.extract_all = crawler.settings.getbool("SCRAPEC_EXTRACT_ALL", False)
        self.render_probe = crawler.settings.getbool("SCRAPEC_RENDER_PROBE", True)
        self._failed_probes: dict[str, int] = {}
        self.emitted: set[str] = set()  # URLs whose item went out: a URL is never emitted twice
        self._static: dict[str, StaticCopy] = {}  # static copies of pages being probed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScrapecSpiderMiddleware:
        return cls(crawler, runtime_for(crawler))

    def _output(self, response: Response) -> list[Any]:
        flag = response.meta.get("scrapec", self.extract_all or None)
        released = [i for o in self.runtime.take_released() for i in items_of(o, self.emitted)]
        if not flag or not isinstance(response, TextResponse):
            return released
        template = flag if isinstance(flag, str) else None
        item_page = bool(response.meta.get("scrapec_item_page"))
        # processed off the reactor thread by ScrapecDownloaderMiddleware when it is enabled
        outcome = response.meta.pop(OUTCOME_KEY, None)
        if not isinstance(outcome, PageOutcome) or outcome.url != response.url:
            outcome = self.runtime.process(
                response.body, response.url, response.encoding, template, item_page
            )
        static = (
            self._static.pop(response.url, None) if response.meta.get("scrapec_probe") else None
        )
        if response.meta.get("scrapec_probe") and outcome.template:
            if outcome.status == "ok":
                # evidence only when the parser that failed the static page passes the rendered
                # one (a version published meanwhile may parse both) and the static page lacked
                # the data (not a page that changed between the two fetches)
                same = outcome.version == response.meta.get("scrapec_probe_version")
                if same and not self._static_shows(static, outcome):
                    self._remember_render(outcome.template)
            else:
                self._failed_probes[outcome.template] = (
                    self._failed_probes.get(outcome.template, 0) + 1
                )
        out: list[Any] = released + items_of(outcome, self.emitted)
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

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        for item in self._output(response):
            yield item
        async for r in result:
            yield r

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        yield from self._output(response)
        yield from result


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
                {**one.item, "_url": one.url, "_template": one.template, "_version": one.version}
            )
    return out
