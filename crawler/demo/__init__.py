"""A generated demo site: three made-up sites (a shop, a job board rendered by JavaScript, a news
site) served on 127.0.0.1, whose generator knows the true item of every detail page.

>>> from crawler.demo import DemoServer, DemoSite
>>> with DemoServer(DemoSite(seed=7)) as server:
...     server.url("/shop/product/1.html")
'http://127.0.0.1:.../shop/product/1.html'

``DemoServer`` and ``export_fixtures`` are imported on first use, so that
``python -m crawler.demo.server`` and ``python -m crawler.demo.export`` run cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.demo.site import DEFAULT_BASE_URL, JS_RENDERED, REDESIGNED, TEMPLATES, DemoSite

if TYPE_CHECKING:
    from crawler.demo.export import export_fixtures
    from crawler.demo.server import DemoServer

__all__ = [
    "DEFAULT_BASE_URL",
    "JS_RENDERED",
    "REDESIGNED",
    "TEMPLATES",
    "DemoServer",
    "DemoSite",
    "export_fixtures",
]


def __getattr__(name: str) -> Any:
    if name == "DemoServer":
        from crawler.demo.server import DemoServer

        return DemoServer
    if name == "export_fixtures":
        from crawler.demo.export import export_fixtures

        return export_fixtures
    raise AttributeError(f"module 'crawler.demo' has no attribute {name!r}")
