"""Fetching one URL outside a crawl: plain HTTP, or rendered by headless Chromium (Playwright).

Playwright is imported only when a page must be rendered. The browser is Debian's chromium
(``SCRAPEC_CHROMIUM``, default ``/usr/bin/chromium``): Playwright cannot download its own here.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

from crawler.exceptions import BadInput

__all__ = ["CHROMIUM_ARGS", "fetch", "launch_options"]

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


def fetch(url: str, render: bool = False, timeout: float = 30.0) -> tuple[bytes, str, str | None]:
    """GET ``url``; return (body, final URL, charset from the HTTP header or None).

    With ``render=True`` the page is loaded in headless Chromium and its DOM after load is returned.
    Raises :class:`BadInput` naming the URL on any HTTP or network failure.
    """
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"{url!r}: not an http(s) URL")
    if render:
        return _render(url, timeout)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            body = response.read()
            headers: Message = response.headers
            return body, response.geturl(), headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        raise BadInput(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BadInput(f"{url}: cannot fetch: {reason}") from None


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
        raise BadInput(f"{url}: rendering failed: {str(exc).splitlines()[0]}") from None
    return html.encode("utf-8"), final, "utf-8"
