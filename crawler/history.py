r"""The last good item of every URL, in SQLite beside the registry (``<registry>/history.sqlite``).

Every item that passed all checks is recorded — in a crawl and in ``scrapec extract`` alike. An
item from a failing or drifting parser never overwrites it. When a site is redesigned, the known
values of a URL are labels for its new page: repair re-finds them without an LLM.

Odd text never makes a write raise: a lone surrogate code point (U+D800 to U+DFFF, which a
page's JSON-LD makes with the six bytes ``"\ud800"``, or a parser's value may hold) has no UTF-8
form, so SQLite cannot store it. It is *escaped*, the way Python's ``backslashreplace`` does: it
is written as the six characters ``\ud800``, in the URL, the template and every string of the
item, and :meth:`History.get` reads those six characters back.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from crawler.exceptions import ScrapecError

__all__ = ["History", "StorageError", "escape_surrogates"]


class StorageError(ScrapecError):
    """A durable write failed (a full disk, a read-only folder, a file too large): ``path`` is the
    file, ``reason`` the system's words. Whatever was being written is *not* acknowledged."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = str(path)
        self.reason = reason


_SURROGATE = re.compile("[\ud800-\udfff]")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS last_good (
    url TEXT PRIMARY KEY,
    template TEXT NOT NULL,
    version INTEGER,
    item TEXT NOT NULL,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS last_good_template ON last_good(template);
"""


def escape_surrogates(text: str) -> str:
    r"""``text`` with every surrogate code point written as its escape (``\ud800``, six
    characters), so that it encodes as UTF-8; other text is returned as it is."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json(item: dict[str, Any]) -> str:
    r"""The item as JSON text that encodes as UTF-8: a surrogate in a string becomes the JSON of
    its escape (``\\ud800``), which reads back as the six characters ``\ud800``."""
    data = json.dumps(item, ensure_ascii=False, sort_keys=True)
    if data.isascii() or _SURROGATE.search(data) is None:
        return data
    # json.dumps leaves str code points as they are, and every str is inside a JSON string
    return _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", data)


def _wal(db: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Switch ``db`` to WAL. The switch needs the file to itself and SQLite does not wait for
    that (no busy handler): two threads or processes opening a new history at once take turns."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class History:
    """Last good item per URL. Safe to share between threads and processes (SQLite WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            with self._db() as db:
                db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(self.path, str(exc)) from exc

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            _wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def record(self, url: str, template: str, version: int | None, item: dict[str, Any]) -> None:
        """Remember ``item`` as the last good item of ``url`` (call only for items that passed).

        A write that fails (``database or disk is full``, a read-only folder) raises
        :class:`StorageError` naming the database file: the item is then not acknowledged."""
        try:
            self._write(url, template, version, item)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(self.path, str(exc)) from exc

    def _write(self, url: str, template: str, version: int | None, item: dict[str, Any]) -> None:
        self._db().execute(
            "INSERT INTO last_good(url, template, version, item, seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET template=excluded.template, version=excluded.version, "
            "item=excluded.item, seen=excluded.seen",
            (
                escape_surrogates(url),
                escape_surrogates(template),
                version,
                _json(item),
                time.time(),
            ),
        )

    def get(self, url: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute("SELECT item FROM last_good WHERE url = ?", (escape_surrogates(url),))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def items(self, template: str, limit: int = 50) -> list[tuple[str, dict[str, Any]]]:
        """The most recent good items of a template, newest first."""
        rows = (
            self._db()
            .execute(
                "SELECT url, item FROM last_good WHERE template = ? ORDER BY seen DESC LIMIT ?",
                (template, limit),
            )
            .fetchall()
        )
        return [(url, json.loads(item)) for url, item in rows]

    def count(self, template: str | None = None) -> int:
        if template is None:
            return int(self._db().execute("SELECT COUNT(*) FROM last_good").fetchone()[0])
        return int(
            self._db()
            .execute("SELECT COUNT(*) FROM last_good WHERE template = ?", (template,))
            .fetchone()[0]
        )

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
