"""`python -m bot backup FILE`: a consistent online copy of the database, integrity-checked.

SQLite's online backup API copies the database while the bot keeps writing. It is run in one
step, inside one read transaction: in WAL mode that snapshot never blocks the bot's writer, and
a copy made in small steps would start over each time the bot commits (forever, on a busy bot).
The copy is written beside the target, made a standalone file (no `-wal` needed), checked with
`PRAGMA integrity_check`, made readable by its owner only (it holds reports), and only then
moved into place, so FILE is either the previous backup or a complete new one.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """The backup could not be made or did not pass the integrity check."""


def _check_paths(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the backup a file name, e.g. {target / 'bot-backup.db'}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file must not be the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup(source: str | Path, target: str | Path) -> int:
    """Copies the database at `source` to `target`; returns the number of pages copied."""
    source, target = Path(source), Path(target)
    try:
        _check_paths(source, target)
    except OSError as exc:
        raise BackupError(f"cannot use {target}: {exc.strerror or exc}") from None
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.execute("PRAGMA busy_timeout=10000")
                src.backup(dst)  # one step: one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")
                result = dst.execute("PRAGMA integrity_check").fetchone()[0]
                pages = dst.execute("PRAGMA page_count").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if result != "ok":
            raise BackupError(f"integrity check of the copy failed: {result}")
        os.chmod(partial, 0o600)
        partial.replace(target)
        _fsync_folder(target.parent)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    return pages
