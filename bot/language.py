"""Which language to answer in.

Order: the script of the message when it makes the language clear; else the user's choice
(`/language`, kept in SQLite under their pseudonym); else Telegram's `language_code`; else
`DEFAULT_LANGUAGE`.
"""

from __future__ import annotations

import sqlite_utils

from bot.db import utc_now
from bot.settings import LANGUAGES


def _is_arabic_letter(ch: str) -> bool:
    code = ord(ch)
    return ch.isalpha() and (0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF)


def script_language(text: str | None) -> str | None:
    """Returns "ar" or "en" when the words of `text` are clearly of one script, else None.

    Arabic speakers often mix in an English word ("شو يعني contract"), so Arabic wins when its
    words are at least as many as the Latin ones; English needs at least twice as many.
    """
    if not text:
        return None
    arabic = latin = 0
    for word in text.split():
        if any(_is_arabic_letter(ch) for ch in word):
            arabic += 1
        elif any(ch.isascii() and ch.isalpha() for ch in word):
            latin += 1
    if arabic and arabic >= latin:
        return "ar"
    if latin and latin >= 2 * arabic:
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
