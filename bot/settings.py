"""Settings read once from the environment (and a `.env` file) into one typed object.

Bad values raise `SettingsError` with one line naming the variable; the CLI prints that line
and exits, never a traceback. The token is wrapped in `Secret` so it never reaches a log, a
`repr` or an exception text.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MESSAGES_DIR = PROJECT_ROOT / "messages"
SEEDS_DIR = PROJECT_ROOT / "seeds"
LANGUAGES = ("en", "ar")


class SettingsError(ValueError):
    """A configuration variable has a value the bot cannot use."""


class Secret:
    """A string that hides itself from `repr`, `str` and f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    token: Secret = field(default_factory=lambda: Secret(""))
    api_base_url: str | None = None
    api_file_url: str | None = None
    database_path: Path = Path("data/bot.db")
    admin_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None
    pseudonym_secret: Secret | None = None
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    port: int = 8443
    default_language: str = "en"
    # Reports a user may file per hour before being asked to wait.
    report_rate_per_hour: int = 5
    # Hours after which an unfinished report draft expires.
    draft_ttl_hours: int = 24
    # Maximum attempts for a send that failed with a network error or flood control.
    send_max_retries: int = 5

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, load_dotenv_file: bool = True) -> "Settings":
        """Build settings from `env` (default: the process environment plus `.env`)."""
        if env is None:
            if load_dotenv_file:
                from dotenv import load_dotenv

                load_dotenv(override=False)
            env = os.environ

        def get(name: str) -> str:
            return (env.get(name) or "").strip()

        return cls(
            token=Secret(get("TELEGRAM_BOT_TOKEN")),
            api_base_url=get("TELEGRAM_API_BASE_URL") or None,
            api_file_url=get("TELEGRAM_API_FILE_URL") or None,
            database_path=Path(get("DATABASE_PATH") or "data/bot.db"),
            admin_ids=_parse_admin_ids(get("ADMIN_IDS")),
            admin_chat_id=_parse_int("ADMIN_CHAT_ID", get("ADMIN_CHAT_ID")),
            pseudonym_secret=Secret(get("PSEUDONYM_SECRET")) if get("PSEUDONYM_SECRET") else None,
            webhook_url=_parse_webhook_url(get("WEBHOOK_URL")),
            webhook_secret=_parse_webhook_secret(get("WEBHOOK_SECRET")),
            port=_parse_positive("PORT", get("PORT"), default=8443, maximum=65535),
            default_language=_parse_language(get("DEFAULT_LANGUAGE")),
            report_rate_per_hour=_parse_positive("REPORT_RATE_PER_HOUR", get("REPORT_RATE_PER_HOUR"), default=5),
            draft_ttl_hours=_parse_positive("DRAFT_TTL_HOURS", get("DRAFT_TTL_HOURS"), default=24),
            send_max_retries=_parse_positive("SEND_MAX_RETRIES", get("SEND_MAX_RETRIES"), default=5),
        )


def _parse_int(name: str, raw: str) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (a Telegram chat id), got {raw!r}") from None


def _parse_positive(name: str, raw: str, *, default: int, maximum: int | None = None) -> int:
    if not raw:
        return default
    value = _parse_int(name, raw)
    if value is None or value <= 0 or (maximum is not None and value > maximum):
        limit = f" up to {maximum}" if maximum else ""
        raise SettingsError(f"{name} must be a positive whole number{limit}, got {raw!r}")
    return value


def _parse_admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise SettingsError(f"ADMIN_IDS must be comma-separated numeric Telegram user ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _parse_language(raw: str) -> str:
    if not raw:
        return "en"
    lang = raw.lower()
    if lang not in LANGUAGES:
        raise SettingsError(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {raw!r}")
    return lang


def _parse_webhook_url(raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith("https://"):
        raise SettingsError(f"WEBHOOK_URL must be an https:// URL, got {raw!r}")
    return raw


def _parse_webhook_secret(raw: str) -> Secret | None:
    if not raw:
        return None
    # Telegram accepts 1-256 characters from A-Z, a-z, 0-9, _ and -.
    if len(raw) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in raw):
        raise SettingsError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ or -")
    return Secret(raw)
