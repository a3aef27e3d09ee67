"""Fetching one URL outside a crawl: plain HTTP, or rendered by headless Chromium (Playwright).

Playwright is imported only when a page must be rendered. The browser is Debian's chromium
(``SCRAPEC_CHROMIUM``, default ``/usr/bin/chromium``): Playwright cannot download its own here.

Only http and https are fetched: any other URL (``file:``, ``ftp:``, ``data:``, …) is refused with
:class:`BadInput` before anything is opened, and so is a redirect to one (urllib alone would follow
a redirect to ``ftp://`` and open ``file:`` URLs). A body is read up to ``max_bytes``, never more.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from email.message import Message
from http.client import HTTPMessage
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.exceptions import BadInput

__all__ = ["CHROMIUM_ARGS", "MAX_BODY_BYTES", "check_url", "fetch", "launch_options"]

USER_AGENT = "scrapec/0.1 (+https://scrapec.dev)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_options() -> dict[str, Any]:
    """Playwright launch options for the system chromium (also used as PLAYWRIGHT_LAUNCH_OPTIONS)."""
    return {
        "headless": True,
        "executable_path": os.environ.get("SCRAPEC_CHROMIUM", "/usr/bin/chromium"),
        "args": list(CHROMIUM_ARGS),
    }


MAX_BODY_BYTES = 32 * 2**20  # the page limit of crawler.extract
SCHEMES = frozenset({"http", "https"})


def check_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host, else raise :class:`BadInput` naming it."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadInput(f"{url!r}: not a URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise BadInput(f"{url!r}: not an http(s) URL; only http and https are fetched")
    if not parts.hostname:
        raise BadInput(f"{url!r}: an http(s) URL without a host")
    return url


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (urllib's own handler also follows ``ftp://``)."""

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: HTTPMessage
    ) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            try:
                check_url(urljoin(req.full_url, location))
            except BadInput as exc:
                fp.close()
                raise BadInput(f"{req.full_url!r}: redirected ({code}) to {exc}") from None
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener() -> urllib.request.OpenerDirector:
    """An opener with the http(s) handlers and nothing else: no file:, ftp: or data: handler."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch(
    url: str, render: bool = False, timeout: float = 30.0, max_bytes: int = MAX_BODY_BYTES
) -> tuple[bytes, str, str | None]:
    """GET ``url``; return (body, final URL, charset from the HTTP header or None).

    With ``render=True`` the page is loaded in headless Chromium and its DOM after load is returned.
    Raises :class:`BadInput` naming the URL when it is not http(s) (nor is a redirect target), on
    any HTTP or network failure, and when the body is longer than ``max_bytes``.
    """
    check_url(url)
    if render:
        return _render(url, timeout)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _opener().open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)  # bounded: an endless body is not read to the end
            if len(body) > max_bytes:
                raise BadInput(f"{url!r}: body larger than {max_bytes} bytes")
            headers: Message = response.headers
            return body, response.geturl(), headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise BadInput(f"{url!r}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BadInput(f"{url!r}: cannot fetch: {reason}") from None


def _render(url: str, timeout: float) -> tuple[bytes, str, str | None]:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dependency
        raise BadInput("rendering needs playwright: pip install playwright") from exc
    options = launch_options()
    if not os.path.exists(options["executable_path"]):
        raise BadInput(
            f"rendering needs chromium at {options['executable_path']!r} (apt-get install chromium)"
        )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**options)
            try:
                page = browser.new_page(user_agent=USER_AGENT)
                page.goto(url, wait_until="load", timeout=timeout * 1000)
                html = page.content()
                final = page.url
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise BadInput(f"{url!r}: rendering failed: {str(exc).splitlines()[0]}") from None
    return html.encode("utf-8"), final, "utf-8"
