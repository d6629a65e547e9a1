"""The database: opening it safely, its schema (as migrations), and the one writer thread.

SQLite connections can't move between threads, and this machine's SQLite (3.40) has a WAL bug
when two connections write at once. So the bot owns exactly one read-write connection, living on
one dedicated thread (`Store`); every query runs there through `await store.run(fn, ...)`, where
`fn(db, ...)` is a plain function that tests call directly on an in-memory database. Other
processes (`export`, `stats`) open the file read-only.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

T = TypeVar("T")

migrations = Migrations("bot")


def utc_now() -> str:
    """Returns the current time as ISO 8601 UTC with seconds, e.g. 2026-11-23T12:00:00+00:00."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    # Per-user settings, keyed by pseudonym (never the raw Telegram id).
    db["users"].create(
        {
            "user_key": str,
            "language": str,
            "subscribe_offered": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="user_key",
    )
    db["reports"].create(
        {
            "id": int,
            "reference": str,
            "draft_id": str,  # the draft it was submitted from: a redelivered submit can't insert twice
            "reporter_key": str,
            "created_at": str,
            "updated_at": str,
            "status": str,
            "language": str,
            "source": str,  # guided, quick, forward, check
            "about": str,  # self or other
            "channel": str,
            "offers": str,  # JSON list of offer ids
            "country": str,
            "recruiter_contact": str,
            "description": str,
            "forward_origin_type": str,  # user, hidden_user, chat, channel
            "forward_origin": str,
            "forwarded_text": str,
            "attachments": str,  # JSON list of {"kind", "file_id"}
            "signs": str,  # JSON list of warning-sign ids, when the report came from an offer check
            "contacts_found": str,  # JSON list of handles, phones, links found in the offer text
            "contact_ok": int,
            "contact_chat_id": int,  # only when the reporter agreed to be contacted
        },
        pk="id",
        not_null={"reference", "reporter_key", "created_at", "status", "language"},
        defaults={"status": "new", "contact_ok": 0, "offers": "[]", "attachments": "[]", "signs": "[]",
                  "contacts_found": "[]", "description": ""},
    )
    db["reports"].create_index(["reference"], unique=True)
    db["reports"].create_index(["draft_id"], unique=True)
    db["reports"].create_index(["reporter_key", "created_at"])
    db["reports"].create_index(["status", "created_at"])
    db["reports"].create_index(["created_at"])
    # A report in progress, written as each step is answered, so it survives restarts.
    db["drafts"].create(
        {
            "user_key": str,
            "draft_id": str,
            "state": int,  # the ConversationHandler state the user is in
            "data": str,  # JSON of the answers so far
            "created_at": str,
            "updated_at": str,
        },
        pk="user_key",
    )
    db["report_notes"].create(
        {"id": int, "report_id": int, "admin_id": int, "text": str, "created_at": str},
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    db["report_notes"].create_index(["report_id"])
    # Every admin action: who, what, when.
    db["audit"].create(
        {"id": int, "admin_id": int, "action": str, "target": str, "detail": str, "created_at": str},
        pk="id",
    )
    # Subscribing is consent to receive broadcasts, so the chat id is kept here.
    db["subscribers"].create(
        {"user_key": str, "chat_id": int, "language": str, "subscribed_at": str},
        pk="user_key",
    )
    db["broadcasts"].create(
        {
            "id": int,
            "admin_id": int,
            "admin_chat_id": int,
            "text_en": str,
            "text_ar": str,
            "status": str,  # draft, sending, done, cancelled
            "created_at": str,
            "finished_at": str,
        },
        pk="id",
    )
    db["broadcast_deliveries"].create(
        {"broadcast_id": int, "user_key": str, "outcome": str, "at": str},
        pk=("broadcast_id", "user_key"),
    )
    # Messages in the admin chat that stand for a report, so a reply to them reaches its reporter.
    db["relay_messages"].create(
        {"chat_id": int, "message_id": int, "report_id": int, "created_at": str},
        pk=("chat_id", "message_id"),
    )


def _configure(conn: sqlite3.Connection) -> None:
    # WAL + synchronous=FULL: a committed report survives a crash or power loss.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    # Erased rows are overwritten with zeros, not left readable in free pages.
    conn.execute("PRAGMA secure_delete=ON")


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Opens (creating if needed) the read-write database and applies pending migrations.

    `":memory:"` gives an in-memory database, for tests.
    """
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:")
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
    _configure(conn)
    db = sqlite_utils.Database(conn)
    migrations.apply(db)
    return db


class DatabaseMissing(FileNotFoundError):
    """The database file does not exist yet."""


def open_readonly(path: str | Path) -> sqlite_utils.Database:
    """Opens an existing database for reading only (export, stats): it never writes."""
    path = Path(path)
    if not path.exists():
        raise DatabaseMissing(f"no database at {path}: the bot has not stored anything yet")
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    conn.execute("PRAGMA busy_timeout=10000")
    return sqlite_utils.Database(conn)


def checkpoint(db: sqlite_utils.Database) -> None:
    """Moves the WAL into the main file and truncates it, so erased rows linger nowhere."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class Store:
    """Owns the one read-write connection, on one dedicated thread.

    `await store.run(fn, *args)` calls `fn(db, *args)` on that thread, keeping blocking SQLite
    calls off the event loop while never sharing the connection between threads.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite_utils.Database | None = None

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        self._db = await self._submit(open_database, self.path)

    async def close(self) -> None:
        if self._executor is None:
            return
        db = self._db

        def _close() -> None:
            if db is not None:
                db.conn.close()

        await self._submit(_close)
        self._executor.shutdown(wait=True)
        self._executor = None
        self._db = None

    async def _submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Runs `fn(db, *args, **kwargs)` on the database thread and returns its result."""
        if self._executor is None or self._db is None:
            raise RuntimeError("the store is not open")
        return await self._submit(fn, self._db, *args, **kwargs)
