"""What reaches the log: never the token, never the raw updates python-telegram-bot may dump."""

from __future__ import annotations

import io
import logging

import pytest
from telegram.error import InvalidToken

from bot.logs import RedactingFilter, redact, setup_logging

TOKEN = "7312345678:AAHk3_zXy-0123456789abcdefghijklmnopq"


@pytest.fixture
def captured():
    """A logger whose output goes through the project's filter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    loggers = [logging.getLogger(name) for name in ("test.logs", "telegram.ext.Updater", "telegram.Bot")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.mark.parametrize("text", [
    f"POST https://api.telegram.org/bot{TOKEN}/sendMessage",
    f"token {TOKEN} here",
    f"https://api.telegram.org/file/bot{TOKEN.replace(':', '%3A')}/photos/1.jpg",
    "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz",
])
def test_anything_shaped_like_a_token_is_redacted(text):
    assert "AAHk3" not in redact(text) and "TEST-TOKEN" not in redact(text)
    assert "bot<redacted>" in redact(text)


def test_ordinary_numbers_and_times_are_left_alone():
    text = "report 12 stored at 12:30:45; 3 drafts; ids 1000000:2"
    assert redact(text) == text


def test_a_token_in_arguments_or_a_chained_traceback_is_redacted(captured):
    log = logging.getLogger("test.logs")
    log.info("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    try:
        try:
            raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
        except InvalidToken as inner:
            raise RuntimeError("start-up failed") from inner
    except RuntimeError:
        log.exception("could not start")
    out = captured.getvalue()
    assert TOKEN not in out and "AAHk3" not in out
    assert out.count("bot<redacted>") >= 2
    assert "RuntimeError: start-up failed" in out and "Traceback" in out


def test_raw_updates_python_telegram_bot_dumps_are_withheld(captured):
    update = {"update_id": 5, "message": {"from": {"id": 918273645, "username": "reporter_alice"},
                                         "text": "my cousin recruits for the army"}}
    logging.getLogger("telegram.ext.Updater").critical(
        "Something went wrong processing the data received from Telegram. Received data was *not* processed! "
        "Received data was: %r", update)
    logging.getLogger("telegram.Bot").critical("Error while parsing updates! Received data was %r", [update])
    out = captured.getvalue()
    assert "918273645" not in out and "reporter_alice" not in out and "cousin" not in out
    assert out.count("withheld from the log") == 2
    assert "Something went wrong processing the data received from Telegram" in out


def test_setup_logging_quietens_httpx_and_filters_the_root_handler():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(logging.INFO)
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        [handler] = root.handlers
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name in ("httpx", "httpcore", "apscheduler"):
            logging.getLogger(name).setLevel(logging.NOTSET)
