"""The Scrapy add-on: ``ADDONS = {"crawler.crawl.Addon": 100}`` installs every scrapec component."""

from __future__ import annotations

import importlib.util
from typing import Any

from scrapy.settings import BaseSettings

# the components and their priorities: pages are processed in a thread (parsers in worker
# processes), off the reactor, after redirects, retries and decompression (a low number is near
# the engine); items come out of the spider middleware late, after the callback's own
SPIDER_MIDDLEWARE = ("crawler.crawl.middleware.ScrapecSpiderMiddleware", 900)
DOWNLOADER_MIDDLEWARE = ("crawler.crawl.middleware.ScrapecDownloaderMiddleware", 50)
EXTENSION = ("crawler.crawl.extension.ScrapecExtension", 500)
# the run history: before the extension, whose spider_closed writes SCRAPEC_STATS_FILE
RUNS_EXTENSION = ("crawler.crawl.runs_ext.ScrapecRunsExtension", 490)
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# a fleet (SCRAPEC_REDIS_URL): one request queue and one dupefilter in Redis for every process
FLEET_SETTINGS = {
    "SCHEDULER": "crawler.fleet.scheduler.FleetScheduler",  # scrapy-redis's, and a local queue
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    "SCHEDULER_PERSIST": True,  # one process that ends must not empty the fleet's queue
}


def playwright_installed() -> bool:
    """Whether scrapy-playwright can be imported (rendered pages need it)."""
    return importlib.util.find_spec("scrapy_playwright") is not None


class Addon:
    """Installs the scrapec spider middleware, downloader middleware and extension, turns
    Scrapy's remote control server off (it executes code sent to it), and — when scrapy-playwright
    is installed — fetches the requests whose meta asks for it (``"playwright": True``: templates
    whose parser.json says ``"render": true``) through headless Chromium.

    Every value is set at the ``addon`` priority: what the project's settings or ``-s`` say wins.
    The validation pipeline (``crawler.crawl.pipeline.ScrapecValidationPipeline``) is not
    installed: it is for items of your own callbacks, against ``SCRAPEC_SCHEMA``.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        from scrapy.utils.misc import load_object

        for name, (path, priority) in (
            ("SPIDER_MIDDLEWARES", SPIDER_MIDDLEWARE),
            ("DOWNLOADER_MIDDLEWARES", DOWNLOADER_MIDDLEWARE),
            ("EXTENSIONS", EXTENSION),
            ("EXTENSIONS", RUNS_EXTENSION),
        ):
            cls = load_object(path)
            if cls not in _components(settings, name):  # the project placed (or disabled) it
                settings.set_in_component_priority_dict(name, cls, priority)
        settings.set("REMOTE_CONTROL_ENABLED", False, "addon")
        if playwright_installed():
            self._playwright(settings)
        self._fleet(settings)

    @staticmethod
    def _fleet(settings: BaseSettings) -> None:
        """With ``SCRAPEC_REDIS_URL`` in the environment: the scrapy-redis scheduler and
        dupefilter on that Redis (``REDIS_URL``), the queue kept when one process ends
        (``SCHEDULER_PERSIST``: the others go on with it); the registry and the held pages are
        the fleet's too (:mod:`crawler.fleet`). The variable is read from the environment only:
        the registry, the parser workers and every process of the fleet must see the same."""
        from crawler.exceptions import BadInput
        from crawler.fleet import fleet_settings

        url, _heartbeat = fleet_settings()
        given = settings.get("SCRAPEC_REDIS_URL")
        if given and given != url:
            raise BadInput(
                f"SCRAPEC_REDIS_URL={given!r} is a Scrapy setting here, but the fleet is chosen"
                " by the environment variable (every part of the crawl reads it): export"
                " SCRAPEC_REDIS_URL instead of -s"
            )
        if not url:
            return
        for name, value in FLEET_SETTINGS.items():
            settings.set(name, value, "addon")
        settings.set("REDIS_URL", url, "addon")

    @staticmethod
    def _playwright(settings: BaseSettings) -> None:
        from crawler.fetch import launch_options
        from crawler.settings import Settings

        handlers = settings["DOWNLOAD_HANDLERS"]
        for scheme in ("http", "https"):
            if isinstance(handlers, BaseSettings):
                handlers.set(scheme, PLAYWRIGHT_HANDLER, "addon")
            else:  # a plain dict set by the project: its own entries stay
                handlers.setdefault(scheme, PLAYWRIGHT_HANDLER)
        settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", "addon")
        chromium = Settings.from_env().chromium
        settings.set(
            "PLAYWRIGHT_LAUNCH_OPTIONS", {**launch_options(), "executable_path": chromium}, "addon"
        )
        settings.set("TWISTED_REACTOR", ASYNCIO_REACTOR, "addon")


def _components(settings: BaseSettings, name: str) -> set[Any]:
    """The classes named in the component priority dict ``name`` (keys given as import paths
    or as classes)."""
    from scrapy.utils.misc import load_object

    out = set()
    for key in settings.getdict(name):
        try:
            out.add(load_object(key) if isinstance(key, str) else key)
        except (ImportError, NameError, ValueError):
            continue  # not ours to judge: Scrapy reports it when it builds the component
    return out
