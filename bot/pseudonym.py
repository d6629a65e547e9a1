"""Keyed pseudonyms for Telegram ids.

Telegram ids have at most 52 bits, so a plain hash is reversed by brute force; an HMAC under a
secret key is not. The key comes from `PSEUDONYM_SECRET` or is generated once and kept beside the
database, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.settings import Secret, Settings

KEY_FILE_NAME = "pseudonym.key"


class Pseudonymizer:
    """Turns a Telegram user id into a stable, non-reversible key."""

    def __init__(self, secret: Secret) -> None:
        if not secret:
            raise ValueError("the pseudonym secret must not be empty")
        self._key = secret.reveal().encode()

    def __repr__(self) -> str:
        return "Pseudonymizer(***)"

    def key(self, user_id: int) -> str:
        """Returns the pseudonym of `user_id`: 32 hex characters."""
        return hmac.new(self._key, f"user:{int(user_id)}".encode(), hashlib.sha256).hexdigest()[:32]


def load_or_create_secret(settings: Settings) -> Secret:
    """Returns the configured secret, or the one kept beside the database (created if missing)."""
    if settings.pseudonym_secret:
        return settings.pseudonym_secret
    path = Path(settings.database_path).parent / KEY_FILE_NAME
    if path.exists():
        return Secret(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Secret(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return Secret(value)
