"""Which language to answer in.

Order: the script of the message when it makes the language clear; else the user's choice
(`/language`, kept in SQLite under their pseudonym); else Telegram's `language_code`; else
`DEFAULT_LANGUAGE`.
"""

from __future__ import annotations

import sqlite_utils

from bot.db import utc_now
from bot.settings import LANGUAGES


def script_language(text: str | None) -> str | None:
    """Returns "ar" or "en" when the letters of `text` are clearly of one script, else None."""
    if not text:
        return None
    arabic = latin = 0
    for ch in text:
        code = ord(ch)
        if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
            if ch.isalpha():
                arabic += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    if arabic == 0 and latin == 0:
        return None
    if arabic >= 2 * latin and arabic >= 2:
        return "ar"
    if latin >= 2 * arabic and latin >= 2:
        return "en"
    return None


def from_language_code(code: str | None) -> str | None:
    """Maps Telegram's IETF `language_code` ("ar", "en-US") to a supported language."""
    if not code:
        return None
    base = code.split("-")[0].lower()
    return base if base in LANGUAGES else None


def resolve_language(text: str | None, chosen: str | None, language_code: str | None, default: str) -> str:
    """Returns the language to answer in, by the order this module describes."""
    return script_language(text) or chosen or from_language_code(language_code) or default


def get_language_choice(db: sqlite_utils.Database, user_key: str) -> str | None:
    """Returns the language the user chose with /language, if any."""
    rows = list(db.query("select language from users where user_key = ?", [user_key]))
    return rows[0]["language"] if rows and rows[0]["language"] else None


def set_language_choice(db: sqlite_utils.Database, user_key: str, language: str) -> None:
    """Stores the user's language choice."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    now = utc_now()
    with db.atomic():
        db.execute(
            "insert into users (user_key, language, subscribe_offered, created_at, updated_at) "
            "values (?, ?, 0, ?, ?) on conflict(user_key) do update set language = excluded.language, "
            "updated_at = excluded.updated_at",
            [user_key, language, now, now],
        )
