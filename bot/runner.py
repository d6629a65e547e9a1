"""Running the bot: start-up with retries, polling or webhook, and a graceful stop.

We drive the Application ourselves instead of `run_polling()`, which blocks, closes the event
loop and cannot retry start-up. `start_bot`/`stop_bot` are also what tests use to run the real
bot inside their own event loop.

On SIGTERM or SIGINT the bot stops fetching updates, finishes the updates in hand, then exits.
Polling confirms updates to Telegram before handlers run, so a SIGKILL can lose queued updates
and a restart can see some again: handlers are idempotent where it matters (reports).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from urllib.parse import urlparse

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.app import build_application
from bot.settings import Settings

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 8


class StartupError(Exception):
    """The bot could not start (bad token, Telegram unreachable for too long)."""


async def initialize_with_retries(application: Application, attempts: int = STARTUP_ATTEMPTS,
                                  first_delay: float = 1.0) -> None:
    """Initialises the Application, retrying while Telegram is briefly unreachable."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            await application.initialize()
            return
        except InvalidToken:
            # The exception's own text contains the token: never show it.
            raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather") from None
        except RetryAfter as exc:
            wait = exc.retry_after if isinstance(exc.retry_after, (int, float)) else exc.retry_after.total_seconds()
            log.warning("Telegram asked to wait %ss before start-up (attempt %d)", wait, attempt)
            await asyncio.sleep(float(wait))
        except (NetworkError, TimedOut) as exc:
            if attempt == attempts:
                raise StartupError(f"Telegram is unreachable ({type(exc).__name__}); giving up after {attempts} attempts") from None
            log.warning("Telegram unreachable at start-up (%s); retrying in %.0fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def polling_error(exc: TelegramError) -> None:
    """Logs a failed poll in one line; python-telegram-bot retries it with growing pauses.

    (Its default logs every passing network fault as an ERROR with a traceback.)
    """
    if isinstance(exc, Conflict):
        log.warning("another process is fetching updates with this token; only one bot may run at a time")
    else:
        log.warning("fetching updates failed (%s: %s); retrying", type(exc).__name__, exc)


async def start_bot(application: Application, settings: Settings, *, poll_timeout: int = 30,
                    poll_interval: float = 0.0, startup_attempts: int = STARTUP_ATTEMPTS,
                    listen: str = "0.0.0.0") -> None:
    """Initialises and starts the Application, then fetches updates (polling or webhook).

    In webhook mode, Telegram proves each request with the secret token we give it in
    setWebhook; without `WEBHOOK_SECRET` a random one is made for this run, so that nobody who
    finds the URL can post forged updates (an admin's id, say) to the bot.
    """
    await initialize_with_retries(application, attempts=startup_attempts)
    if application.post_init:
        await application.post_init(application)
    await application.start()
    if settings.webhook_mode:
        secret = settings.webhook_secret.reveal() if settings.webhook_secret else secrets.token_urlsafe(32)
        await application.updater.start_webhook(
            listen=listen,
            port=settings.port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=startup_attempts,
        )
    else:
        await application.updater.start_polling(
            poll_interval=poll_interval,
            timeout=poll_timeout,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            bootstrap_retries=startup_attempts,
            error_callback=polling_error,
        )


async def stop_bot(application: Application) -> None:
    """Stops fetching updates, finishes the updates in hand, and shuts down."""
    if application.updater and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


async def serve(settings: Settings) -> None:
    """Runs the bot until SIGTERM or SIGINT (which also cut a start-up that is still retrying)."""
    application = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(start_bot(application, settings))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            log.info("stopping before start-up finished")
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await stop_bot(application)
            return
        try:
            starting.result()
        except BaseException:
            await stop_bot(application)
            raise
        mode = "webhook" if settings.webhook_mode else "polling"
        log.info("bot running (%s); stop with Ctrl+C or SIGTERM", mode)
        await stopping
    finally:
        stopping.cancel()
    log.info("stopping: finishing the updates in hand")
    await stop_bot(application)
    log.info("stopped")


def run(settings: Settings) -> None:
    """Runs the bot in the foreground (the `run` verb)."""
    from bot.cli import CliError
    from bot.logs import redact

    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        raise CliError(str(exc)) from None
    except TelegramError as exc:
        # E.g. Telegram still unreachable when the webhook or polling was being set up.
        raise CliError(f"could not start: {type(exc).__name__}: {redact(str(exc))}") from None
