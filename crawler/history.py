"""The last good item of every URL, in SQLite beside the registry (``<registry>/history.sqlite``).

Every item that passed all checks is recorded — in a crawl and in ``scrapec extract`` alike. An
item from a failing or drifting parser never overwrites it. When a site is redesigned, the known
values of a URL are labels for its new page: repair re-finds them without an LLM.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["History"]

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


class History:
    """Last good item per URL. Safe to share between threads and processes (SQLite WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def record(self, url: str, template: str, version: int | None, item: dict[str, Any]) -> None:
        """Remember ``item`` as the last good item of ``url`` (call only for items that passed)."""
        self._db().execute(
            "INSERT INTO last_good(url, template, version, item, seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET template=excluded.template, version=excluded.version, "
            "item=excluded.item, seen=excluded.seen",
            (
                url,
                template,
                version,
                json.dumps(item, ensure_ascii=False, sort_keys=True),
                time.time(),
            ),
        )

    def get(self, url: str) -> dict[str, Any] | None:
        row = self._db().execute("SELECT item FROM last_good WHERE url = ?", (url,)).fetchone()
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
