"""Exporting reports as CSV or JSON, for `/export` in Telegram and `python -m bot export`.

Both call `write_export(db, out, fmt, since=None, status=None)`, so the two produce the same
bytes. Rows are streamed from a cursor: memory stays flat whatever the number of reports.

- CSV: UTF-8 with a byte order mark (so spreadsheets show Arabic), and every cell that a
  spreadsheet would run as a formula (starting with = + - @, tab, CR or LF) gets a leading
  apostrophe, as OWASP advises. Lists of ids are joined with "; "; attachments (objects with
  a kind, a file id, a text, an origin) are one JSON array.
- JSON: one array of objects, text exactly as stored, lists as lists.

The reporter appears only as their pseudonym (`reporter`); the chat id kept for contacting a
consenting reporter is never exported.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import sqlite_utils

from bot.db import open_readonly

FORMATS = ("csv", "json")
STATUSES = ("new", "in_review", "escalated", "closed")

# Export fields, in order (see CONTRACT.md). Never `contact_chat_id`.
FIELDS = (
    "reference", "created_at", "updated_at", "status", "language", "source", "about", "description",
    "channel", "offers", "country", "recruiter_contact", "forward_origin_type", "forward_origin",
    "forwarded_text", "attachments", "signs", "contacts_found", "contact_ok", "reporter",
)
_LIST_FIELDS = ("offers", "attachments", "signs", "contacts_found")
_COLUMNS = {"reporter": "reporter_key"}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ExportError(ValueError):
    """An export option has a value the export cannot use (one line, for the CLI)."""


def check_format(fmt: str) -> str:
    fmt = (fmt or "").lower()
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def check_since(since: str | None) -> str | None:
    """Returns `since` (YYYY-MM-DD) when it is a real date; raises ExportError otherwise."""
    if since is None:
        return None
    try:
        if not _DATE.match(since):
            raise ValueError
        date.fromisoformat(since)
    except ValueError:
        raise ExportError(f"since must be a date as YYYY-MM-DD, got {since!r}") from None
    return since


def check_status(status: str | None) -> str | None:
    if status is None:
        return None
    if status not in STATUSES:
        raise ExportError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    return status


def neutralise(cell: str) -> str:
    """Prefixes an apostrophe to a cell a spreadsheet would run as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _query(since: str | None, status: str | None) -> tuple[str, list[Any]]:
    columns = ", ".join(_COLUMNS.get(name, name) for name in FIELDS)
    where, params = [], []
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    sql = f"select {columns} from reports"
    if where:
        sql += " where " + " and ".join(where)
    return sql + " order by created_at, id", params


def iter_reports(db: sqlite_utils.Database, since: str | None = None, status: str | None = None) -> Iterator[dict]:
    """Yields the export record of each matching report, oldest first, one row at a time."""
    sql, params = _query(since, status)
    cursor = db.conn.execute(sql, params)
    try:
        for row in cursor:
            yield _record(row)
    finally:
        cursor.close()


def _load_list(raw: str | None) -> list:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return value if isinstance(value, list) else [value]


def _record(row: sqlite3.Row | tuple) -> dict:
    record = dict(zip(FIELDS, row))
    for name in _LIST_FIELDS:
        record[name] = _load_list(record[name])
    record["contact_ok"] = bool(record["contact_ok"])
    return record


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "attachments":
        # Each item is an object (kind, file id, text, origin): kept whole, as compact JSON.
        value = json.dumps(value, ensure_ascii=False) if value else ""
    elif isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    return neutralise(str(value))


def write_export(db: sqlite_utils.Database, out: BinaryIO, fmt: str, since: str | None = None,
                 status: str | None = None) -> int:
    """Writes the matching reports to the binary stream `out` as CSV or JSON; returns the count.

    Options are checked before anything is written (ExportError, a ValueError, on a bad one).
    """
    fmt = check_format(fmt)
    since = check_since(since)
    status = check_status(status)
    # The wrapper buffers and encodes; it is detached at the end so `out` stays open.
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    count = 0
    try:
        if fmt == "csv":
            text.write("\ufeff")
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(FIELDS)
            for record in iter_reports(db, since, status):
                writer.writerow([_csv_cell(name, record[name]) for name in FIELDS])
                count += 1
        else:
            text.write("[")
            for record in iter_reports(db, since, status):
                text.write(",\n" if count else "\n")
                text.write(json.dumps(record, ensure_ascii=False))
                count += 1
            text.write("\n]\n" if count else "]\n")
        text.flush()
    finally:
        text.detach()
    return count


def export_file(db_path: str | Path, dest: str | Path, fmt: str, since: str | None = None,
                status: str | None = None) -> int:
    """Exports from the database file (opened read-only, on the calling thread) into `dest`."""
    db = open_readonly(db_path)
    try:
        with open(dest, "wb") as out:
            return write_export(db, out, fmt, since=since, status=status)
    finally:
        db.conn.close()


def file_name(fmt: str, today: date, since: str | None = None, status: str | None = None) -> str:
    """Names an export file after what it holds, never after anyone: reports-2026-11-23.csv."""
    parts = ["reports", today.isoformat()]
    if status:
        parts.append(status)
    if since:
        parts.append(f"since-{since}")
    return "-".join(parts) + f".{fmt}"


def parse_arguments(args: list[str]) -> tuple[str, str | None, str | None]:
    """Reads `/export [csv|json] [since YYYY-MM-DD] [status S]`; raises ExportError when unclear."""
    fmt, since, status = "csv", None, None
    words = [a.strip() for a in args if a.strip()]
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in FORMATS:
            fmt = word
            i += 1
        elif word in ("since", "status") and i + 1 < len(words):
            if word == "since":
                since = check_since(words[i + 1])
            else:
                status = check_status(words[i + 1].lower())
            i += 2
        else:
            raise ExportError(f"unexpected {words[i]!r}")
    return fmt, since, status
