"""The single-URL API: :func:`extract`, :func:`aextract` and :func:`extract_many`.

One call fetches a URL and returns an :class:`~crawler.extract.Extraction` — ``item``,
``template``, ``parser_version``, ``valid``, ``problems``, ``llm_calls``, ``cost_usd`` — on any
site, with no configuration:

- a page of a template the registry knows costs one fetch and one parse;
- a page no template fits is taught (:mod:`crawler.teach`): labelled from the values you give
  (``examples``), the page's structured data, its main text, and an LLM when one is configured
  (``SCRAPEC_LLM_MODEL``); a parser for its template is compiled, gated and published, so the
  next page of that template costs one parse.

Rendering is decided as in a crawl: the static page first; the browser when the template says
its pages need it, or when the static page lacks what the template needs (a JavaScript page). One
browser serves every call of a process (:func:`crawler.fetch.default_fetcher`).

What raises and what returns: :func:`extract` and :func:`aextract` raise
:class:`~crawler.exceptions.BadInput` for unusable arguments (a URL that is not http(s), an
unknown schema or template, example values of the wrong type or absent from the page:
:class:`~crawler.exceptions.ExampleNotFound`) and :class:`~crawler.exceptions.FetchError` (its
subclasses say why) when the URL gives no HTML page. A page that was fetched always gives an
Extraction: ``valid=False`` with its ``problems`` when no checked item came out (no template and
none could be taught, a parser failed, a check failed). :func:`extract_many` never raises for one
URL: a URL that failed gives ``valid=False`` and one problem of kind ``fetch`` or ``input``, and
the others go on.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.exceptions import BadInput, FetchError, RegistryError, RoutingError
from crawler.extract import Extraction, Extractor, check_page_bytes
from crawler.parsing import Page
from crawler.problems import Problem, ProblemKind
from crawler.registry import Registry
from crawler.routing import site_of
from crawler.schemas import Schema, load_schema
from crawler.settings import Settings

if TYPE_CHECKING:  # crawler.fetch brings httpx: imported when a URL is fetched
    from crawler.fetch import Fetched, Fetcher

__all__ = ["Session", "aextract", "extract", "extract_many", "failed"]

_SCRIPT_TAG = re.compile(rb"<script\b[^>]*>", re.IGNORECASE)


class Session:
    """What successive calls share: the registry, the schema, the fixtures folder the first
    pages of new templates are kept in, the LLM (if configured), the fetcher and its browser.

    ``registry`` and ``fixtures`` default to ``SCRAPEC_REGISTRY`` / ``SCRAPEC_FIXTURES``, else
    per-user folders (never the current folder). ``llm="auto"`` uses the model of
    ``SCRAPEC_LLM_MODEL`` when set; None never calls one; or pass an ``LLMGenerator``.
    """

    def __init__(
        self,
        registry: str | Path | Registry | None = None,
        schema: str | Schema | None = None,
        *,
        fixtures: str | Path | None = None,
        llm: Any = "auto",
        fetcher: Fetcher | None = None,
        learn: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        settings = Settings.from_env()
        self.registry = (
            registry if isinstance(registry, Registry) else Registry(registry or settings.registry)
        )
        self.schema = load_schema(schema) if isinstance(schema, str) else schema
        self.fixtures = Path(fixtures or settings.fixtures)
        if fetcher is None:
            from crawler.fetch import default_fetcher

            fetcher = default_fetcher()
        self.fetcher = fetcher
        self.learn = learn
        self.progress = progress
        self._llm_option = llm
        self._llm: Any = None
        self._extractor: Extractor | None = None
        self._lock = threading.RLock()
        self._teaching: dict[str, threading.Lock] = {}
        from crawler.workers import default_pool

        default_pool().prestart()  # the parser worker starts while the page is fetched
        self._rendering_sites: set[str] = set()

    @property
    def extractor(self) -> Extractor:
        with self._lock:  # one for every thread of the session (it holds the parsers loaded)
            if self._extractor is None:
                self.registry.root.mkdir(parents=True, exist_ok=True)
                self._extractor = Extractor(self.registry, self.schema, record=True)
            return self._extractor

    def llm(self) -> Any:
        """The LLM labeller/generator, made on first use (litellm is imported only then)."""
        with self._lock:
            if self._llm is None:
                from crawler.compiler.tiers import configured_llm

                self._llm = configured_llm(self._llm_option)
            return self._llm

    # -- one URL -------------------------------------------------------------------------------

    def extract(
        self,
        url: str,
        *,
        examples: Mapping[str, Any] | None = None,
        template: str | None = None,
        render: bool | None = None,
        timeout: float = 30.0,
    ) -> Extraction:
        """Fetch ``url`` and extract its item (see the module docstring for the rules)."""
        if template is not None:
            self.registry.info(template)  # RegistryError (BadInput for the caller) when unknown
        if examples is not None and not isinstance(examples, Mapping):
            raise BadInput(f"examples must be a mapping of field to value, not {examples!r}")
        if render is None and template is not None:
            render = bool(self.registry.info(template).data.get("render")) or None
        fetched = self.fetcher.fetch(url, render=bool(render), timeout=timeout)
        site = site_of(fetched.final_url)
        # a site whose static pages taught nothing and whose rendered ones did: a static page
        # that no template fits goes straight to the browser (no lesson tried on it)
        renders = render is None and site in self._rendering_sites
        result = self.extract_fetched(
            fetched, examples=examples, template=template, learn=not renders
        )
        if render is None and not fetched.rendered and self._wants_browser(result, fetched.body):
            rendered = self.fetcher.fetch(url, render=True, timeout=timeout)
            again = self.extract_fetched(
                rendered, examples=examples, template=template, rendered=True
            )
            if again.valid and result.template is None:
                with self._lock:
                    self._rendering_sites.add(site)
            if again.valid or not result.template:
                return again
        return result

    def _wants_browser(self, result: Extraction, body: bytes) -> bool:
        """Whether a static page's outcome says its data may appear only after rendering: its
        template renders, or nothing could be taught from it and it runs scripts (JSON-LD
        blocks are data, not scripts)."""
        if result.valid:
            return False
        if result.template is None:
            scripts = _SCRIPT_TAG.findall(body)
            return any(b"ld+json" not in tag.lower() for tag in scripts)
        try:
            return bool(self.registry.info(result.template).data.get("render"))
        except RegistryError:
            return False

    def extract_fetched(
        self,
        fetched: Fetched,
        *,
        examples: Mapping[str, Any] | None = None,
        template: str | None = None,
        rendered: bool | None = None,
        learn: bool = True,
    ) -> Extraction:
        """An already fetched page through routing, the parser and, on a miss, teaching
        (unless ``learn`` is False or the session never learns)."""
        check_page_bytes(fetched.body, fetched.url)
        page = Page(fetched.body, fetched.final_url, fetched.encoding)
        was_rendered = fetched.rendered if rendered is None else rendered
        result = self._known(page, template)
        if result is not None and not examples:
            return result
        if result is not None and result.valid and self._agrees(page, result, examples):
            return result
        if not (self.learn and learn):
            return result or _unrouted(page)
        schema = self._schema_for(result)
        if schema is None:
            unrouted = _unrouted(page)
            unrouted.errors.append(
                Problem.of(
                    ProblemKind.NO_TEMPLATE,
                    None,
                    "pass schema=… (e.g. schema='product') to teach a template from this page",
                )
            )
            return unrouted
        return self._teach(page, schema, examples, template, was_rendered, result)

    def _agrees(self, page: Page, result: Extraction, examples: Mapping[str, Any] | None) -> bool:
        """Whether the item has the example values (checked against the page first: bad
        examples raise, as when they teach)."""
        schema = self._schema_for(result)
        if not examples or schema is None or result.item is None:
            return True
        from crawler.fixtures import compare_items
        from crawler.teach import example_labels

        wanted = example_labels(page, schema, examples)
        return not compare_items(wanted, {k: result.item.get(k) for k in wanted})

    def _known(self, page: Page, template: str | None) -> Extraction | None:
        """The registry's parser on the page, or None when no template fits it."""
        extractor = self.extractor
        if template is None:
            try:
                template = self.registry.route(page.url, None, page).template
            except RoutingError:
                return None
        return extractor.extract_page(page, template)

    def _schema_for(self, result: Extraction | None) -> Schema | None:
        if self.schema is not None:
            return self.schema
        if result is not None and result.template:
            return self.extractor.schema_for(result.template)
        return None

    def _teach(
        self,
        page: Page,
        schema: Schema,
        examples: Mapping[str, Any] | None,
        template: str | None,
        rendered: bool,
        before: Extraction | None,
    ) -> Extraction:
        from crawler.teach import teach

        key = f"{site_of(page.url)}/{schema.name}"
        with self._lock:
            lock = self._teaching.setdefault(key, threading.Lock())
        with lock:  # one lesson per new template: the pages after it find the template
            if before is None and template is None:
                again = self._known(page, None)
                if again is not None:
                    return again
            name = template or (before.template if before is not None else None)
            lesson = teach(
                page,
                schema,
                self.registry,
                examples=examples,
                template=name,
                llm=self.llm(),
                fixtures_dir=self.fixtures,
                render=rendered or None,
                progress=self.progress,
            )
        if not lesson.published:
            failed = before or _unrouted(page)
            failed.errors += [Problem.of(ProblemKind.NO_TEMPLATE, None, p) for p in lesson.problems]
            failed.llm_calls += lesson.llm_calls
            failed.cost_usd += lesson.cost_usd
            return failed
        result = self.extractor.extract_page(page, lesson.template)
        result.llm_calls += lesson.llm_calls
        result.cost_usd += lesson.cost_usd
        verified = (
            "one labelled page" if lesson.result.cases == 1 else f"{lesson.result.cases} pages"
        )
        result.learned = (
            f"taught {lesson.template} v{lesson.version} from "
            f"{', '.join(sorted(set(lesson.sources.values())))} (verified on {verified})"
        )
        return result

    def close(self) -> None:
        """Close the fetcher when this session made it (the default one stays for others)."""
        from crawler.fetch import default_fetcher

        if self.fetcher is not default_fetcher():
            self.fetcher.close()


def _unrouted(page: Page) -> Extraction:
    return Extraction(
        page.url,
        None,
        None,
        None,
        False,
        [Problem.of(ProblemKind.NO_TEMPLATE, None, f"no template fits {page.url!r}")],
    )


def failed(url: str, exc: Exception) -> Extraction:
    """The result for a URL that gave no page (``exc``: a FetchError or BadInput), as
    :func:`extract_many` and ``scrapec extract`` report it: one problem, the exception kept."""
    kind = ProblemKind.FETCH if isinstance(exc, FetchError) else ProblemKind.INPUT
    result = Extraction(url, None, None, None, False, [Problem.of(kind, None, str(exc))])
    result.exception = exc
    return result


_sessions: dict[tuple[Any, ...], Session] = {}
_sessions_lock = threading.Lock()


def _session(registry: Any, schema: Any, fixtures: Any, llm: Any, fetcher: Any = None) -> Session:
    """The Session of these arguments, reused across calls (parsers, LLM and browser stay)."""
    settings = Settings.from_env()
    key: tuple[Any, ...] = (
        str(registry if registry is not None else settings.registry),
        schema,
        str(fixtures if fixtures is not None else settings.fixtures),
        llm if isinstance(llm, str | type(None)) else id(llm),
    )
    if fetcher is not None:
        key = (*key, id(fetcher))
    if isinstance(registry, Registry) or not isinstance(schema, str | type(None)):
        return Session(registry, schema, fixtures=fixtures, llm=llm, fetcher=fetcher)
    with _sessions_lock:
        if key not in _sessions:
            _sessions[key] = Session(registry, schema, fixtures=fixtures, llm=llm, fetcher=fetcher)
        return _sessions[key]


def extract(
    url: str,
    schema: str | Schema | None = None,
    *,
    examples: Mapping[str, Any] | None = None,
    registry: str | Path | Registry | None = None,
    template: str | None = None,
    fixtures: str | Path | None = None,
    render: bool | None = None,
    timeout: float = 30.0,
    llm: Any = "auto",
    fetcher: Fetcher | None = None,
) -> Extraction:
    """Fetch ``url`` and return its item, teaching a template on a site never seen.

    >>> result = extract("https://shop.example/p/1", schema="product")   # doctest: +SKIP
    >>> result.valid, result.item["name"], result.template               # doctest: +SKIP
    (True, 'Blue Kettle', 'shop.example/product')

    ``examples`` ({"name": "Blue Kettle", "price": "£24.99"}) teach the page's template from
    values you read on it. ``fetcher`` (a :class:`~crawler.fetch.Fetcher`: robots.txt,
    politeness, its own browser) defaults to the process's shared one. See the module docstring
    for what raises.
    """
    session = _session(registry, schema, fixtures, llm, fetcher)
    return session.extract(
        url, examples=examples, template=template, render=render, timeout=timeout
    )


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The threads :func:`aextract` calls run on (made on first use)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scrapec")
        return _executor


async def aextract(
    url: str,
    schema: str | Schema | None = None,
    **options: Any,
) -> Extraction:
    """:func:`extract`, awaited: the call runs on a thread of its own, so an event loop (a
    notebook's, a web server's) goes on meanwhile; the browser is the process's one."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), lambda: extract(url, schema, **options))


def extract_many(
    urls: Iterable[str],
    schema: str | Schema | None = None,
    *,
    concurrency: int = 4,
    progress: Callable[[int, int, Extraction], None] | None = None,
    **options: Any,
) -> list[Extraction]:
    """:func:`extract` for many URLs, ``concurrency`` at a time, one browser for them all; the
    results in the order of ``urls``. A URL that fails gives ``valid=False`` with the cause
    (``result.exception`` holds the exception) and the others go on. ``progress(done, total,
    result)`` is called after each URL."""
    todo = list(urls)
    if concurrency < 1:
        raise BadInput(f"concurrency must be at least 1, not {concurrency!r}")
    results: list[Extraction | None] = [None] * len(todo)
    done = 0
    done_lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal done
        try:
            result = extract(todo[i], schema, **options)
        except (FetchError, BadInput) as exc:
            result = failed(todo[i], exc)
        results[i] = result
        if progress is not None:
            with done_lock:
                done += 1
                progress(done, len(todo), result)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="scrapec-many") as pool:
        for future in [pool.submit(one, i) for i in range(len(todo))]:
            future.result()
    return [r for r in results if r is not None]
