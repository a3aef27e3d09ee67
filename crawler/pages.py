r"""The pages the runtime keeps on disk: held, released and quarantined, and who owns them.

A page the runtime could not turn into a good item is never lost: it is *held* (waiting for
its template's regeneration), *released* (parsed by a new version, waiting for its item to be
confirmed written) or *quarantined* (no version could parse it; the reason says why). Each is a
:class:`HeldPage` in a :class:`PageStore`, whose layout on disk is
``<root>/{held,released,quarantine}/<template>/<key>.{html,json}``.

Several crawls may share one store: held and released pages belong to the crawl (the *owner*)
that holds them, a crawl announces that it is alive by holding ``owners/<key>.lock``
(:meth:`PageStore.claim`), and the pages of crawls no longer alive are adopted by the next
(:meth:`PageStore.adopt`). :class:`PageStatus` names what became of one page.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.exceptions import BadInput
from crawler.fixtures import Fixture
from crawler.history import StorageError
from crawler.registry import atomic_write
from crawler.schemas import Schema

__all__ = ["HeldPage", "PageStatus", "PageStore"]

HELD, RELEASED, QUARANTINE = "held", "released", "quarantine"  # the kinds of kept pages
OWNED = (HELD, RELEASED)  # kinds of pages that belong to one crawl (quarantine is shared)


class PageStatus(enum.StrEnum):
    """What became of one page (a ``str``: ``outcome.status == "ok"`` holds for an item)."""

    OK = "ok"
    """The page gave an item that passed the schema, grounding and drift checks."""
    HELD = "held"
    """The page is kept on disk until its template is regenerated (it failed, or showed drift,
    or its template is being regenerated); it comes back later as a released outcome."""
    QUARANTINED = "quarantined"
    """No version could parse the page (or no template fits it): it is kept with the reason,
    for ``scrapec quarantine list`` and ``replay``."""
    SKIPPED = "skipped"
    """No template fits the page and it states no item: navigation, nothing to extract."""
    FAILED = "failed"
    """The page failed a trial parse that holds nothing (a held page parsed again): it stays
    where it was kept. Never the outcome :meth:`crawler.runtime.Runtime.process` returns."""


@dataclass(frozen=True)
class HeldPage:
    """One kept page: where its HTML is (``path``), and why it was kept."""

    url: str
    template: str
    reason: str
    path: Path  # the page's HTML; its metadata is beside it (``.json``)
    kind: str = HELD  # held, released or quarantine
    time: float = 0.0  # when it was kept (seconds since the epoch)
    owner: str | None = None  # the crawl it belongs to (held and released pages only)

    def html(self) -> str:
        return self.path.read_text("utf-8")

    def fixture(self, schema: Schema, labels: dict[str, Any], html: str | None = None) -> Fixture:
        """This page with the labels some labeller gave it, as a partial fixture (a field it
        lacks is unknown, not empty)."""
        return Fixture(
            self.path.parent,
            self.template,
            self.url,
            schema.name,
            labels,
            partial=True,
            source=self.html() if html is None else html,
        )


def page_key(text: str) -> str:
    """The file name (without suffix) a URL, or an owner, is kept under."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _slug(template: str) -> str:
    return template.replace("/", "__")


def _storage_error(exc: OSError, where: Path) -> StorageError:
    return StorageError(exc.filename or where, exc.strerror or str(exc))


class PageStore:
    r"""Held, released and quarantined pages on disk: ``<root>/<kind>/<template>/<key>.{html,json}``.

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
        self._owner_fd: int | None = None  # the owner's lock, while this store claims it

    def _name(self, kind: str, url: str, owner: str | None = None) -> str:
        owner = owner if owner is not None else self.owner
        return page_key(f"{owner}\n{url}" if owner and kind in OWNED else url)

    @staticmethod
    def _utf8(text: str) -> str:
        r"""``text`` with each surrogate code point written as ``\ud800`` (six characters)."""
        return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode()

    def _folder(self, kind: str, template: str) -> Path:
        return self.root / kind / _slug(self._utf8(template))

    def put(self, kind: str, template: str, url: str, html: str, reason: str) -> Path:
        """Keep a page (replacing the one kept under the same URL); the path of its metadata."""
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
            raise _storage_error(exc, folder) from exc
        return folder / f"{key}.json"

    def move(self, page: HeldPage, kind: str, reason: str | None = None) -> None:
        """Keep ``page`` as this store's page of ``kind`` and remove it where it was (written
        first, removed after: a crash in between leaves it twice, never nowhere)."""
        reason = page.reason if reason is None else reason
        self.put(kind, page.template, page.url, page.html(), reason)
        self.remove(page.kind, page.template, page.url, owner=page.owner or "")

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
    ) -> list[HeldPage]:
        """Pages of a kind (``held``, ``released`` or ``quarantine``), oldest first; held and
        released pages of this store's owner only, unless ``everyone``."""
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
                if not isinstance(meta, dict) or not {"url", "template"} <= set(meta):
                    continue
                owner = meta.get("owner")
                if self.owner and kind in OWNED and not everyone and owner != self.owner:
                    continue  # another crawl's page (or one to adopt: adopt())
                out.append(
                    HeldPage(
                        str(meta["url"]),
                        str(meta["template"]),
                        str(meta.get("reason", "")),
                        html_path,
                        kind,
                        float(meta.get("time", 0) or 0),
                        str(owner) if owner is not None else None,
                    )
                )
        return sorted(out, key=lambda p: p.time)

    def html(self, page: HeldPage) -> str:
        return page.html()

    def templates(self, kind: str) -> list[str]:
        return sorted({p.template for p in self.pages(kind)})

    # -- owners --------------------------------------------------------------------------------

    def _owners(self) -> Path:
        return self.root / "owners"

    def claim(self) -> None:
        """Hold ``owners/<owner>.lock`` until :meth:`close`: other crawls see this one alive.

        Raises :class:`BadInput` when another crawl of the same owner holds it."""
        import fcntl

        assert self.owner, "only a store with an owner claims it"
        if self._owner_fd is not None:
            return
        folder = self._owners()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{page_key(self.owner)}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _storage_error(exc, folder) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BadInput(
                f"{self.owner}: another crawl of this job is running (lock {path} is held)"
            ) from None
        self._owner_fd = fd

    def close(self) -> None:
        """Let go of the owner's lock: this crawl's pages may be adopted now."""
        if self._owner_fd is not None:
            os.close(self._owner_fd)
            self._owner_fd = None

    def alive(self, owner: str | None) -> bool:
        """Whether the crawl ``owner`` runs now (it holds its lock file)."""
        import fcntl

        if not owner:
            return False
        if owner == self.owner:
            return True
        path = self._owners() / f"{page_key(owner)}.lock"
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

    def adopt(self) -> int:
        """Held and released pages of crawls no longer alive (killed without a JOBDIR to resume
        them, or written without an owner) become this store's held pages: nobody else would
        ever release them. One crawl adopts at a time (a lock), so no page is adopted twice.
        Returns the number of pages adopted."""
        import fcntl

        folder = self._owners()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                folder / ".adopt.lock",
                os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
            )
        except OSError as exc:
            raise _storage_error(exc, folder) from exc
        adopted = 0
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for kind in OWNED:
                for page in self.pages(kind, everyone=True):
                    if page.owner == self.owner or self.alive(page.owner):
                        continue
                    self.move(page, HELD, None if kind == HELD else "adopted after a crash")
                    adopted += 1
        finally:
            os.close(fd)
        return adopted

    def recover(self) -> int:
        """After a crash: released pages whose items were never confirmed are held again.
        Returns the number of pages held again."""
        released = self.pages(RELEASED)
        for page in released:
            self.move(page, HELD, "recovered after a restart")
        return len(released)
