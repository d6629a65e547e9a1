"""Logging that never shows the token, user ids or report text.

- httpx logs every request URL, token included, at INFO: it and httpcore are set to WARNING, and
  a filter redacts anything shaped like a bot token from every record that does get through,
  tracebacks (with their chained exceptions) included.
- python-telegram-bot logs the raw update when it can't read one ("Received data was ..."):
  user ids, names and texts. The filter withholds that data and keeps the rest of the record.
- Our own code logs ids of rows (report 12), never Telegram ids or what people wrote.
"""

from __future__ import annotations

import logging
import re

# `123456789:AAH...` (35 characters after the colon in real tokens), alone or in a URL path
# (`/bot123456789:AAH.../sendMessage`), the colon possibly percent-encoded.
_TOKEN = re.compile(r"(bot)?\d{5,}(:|%3[Aa])[A-Za-z0-9_-]{20,}")
# python-telegram-bot's messages that carry a raw update as an argument.
_RAW_DATA = ("Received data was",)
WITHHELD = "(withheld from the log: it may hold user ids and texts)"


def redact(text: str) -> str:
    """Returns `text` with anything shaped like a bot token replaced."""
    return _TOKEN.sub("bot<redacted>", text)


class RedactingFilter(logging.Filter):
    """Redacts tokens from every record, and withholds raw updates python-telegram-bot logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        template = record.msg if isinstance(record.msg, str) else ""
        if record.name.startswith("telegram") and any(marker in template for marker in _RAW_DATA):
            keep = template.split("Received data was")[0]
            record.msg, record.args = f"{keep}Received data was {WITHHELD}", ()
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            # The whole traceback, chained exceptions included.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
