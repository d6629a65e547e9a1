"""`python -m bot backup FILE`: a consistent online copy of the database, integrity-checked.

SQLite's online backup API copies a consistent snapshot while the bot keeps running; the copy is
written beside the target and moved into place only once `PRAGMA integrity_check` says ok.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """The backup could not be made or did not pass the integrity check."""


def backup(source: str | Path, target: str | Path) -> int:
    """Copies the database at `source` to `target`; returns the number of pages copied."""
    source, target = Path(source), Path(target)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file must not be the database itself")
    if target.parent and not target.parent.exists():
        raise BackupError(f"folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.execute("PRAGMA busy_timeout=10000")
        src.backup(dst, pages=256)
        dst.execute("PRAGMA journal_mode=DELETE")
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    except sqlite3.Error as exc:
        dst.close()
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        src.close()
    dst.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"integrity check of the copy failed: {result}")
    os.chmod(partial, 0o600)  # it holds reports: owner only, like the database
    partial.replace(target)
    return pages
