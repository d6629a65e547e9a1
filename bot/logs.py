"""Logging that never shows the token, user ids or report text.

httpx logs every request URL, token included, at INFO: it and httpcore are set to WARNING, and a
filter redacts anything shaped like a bot token from every record that does get through.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(bot)?\d{5,}:[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    return _TOKEN.sub("bot<redacted>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = redact(str(exc))
            if text != str(exc):
                # Keep the traceback's shape, lose the secret.
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
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
