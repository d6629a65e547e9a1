"""A bare python-telegram-bot echo bot: the baseline `bench/throughput.py` measures the real bot against.

One `MessageHandler` that sends the same text back, nothing else: no rate limiter, no database,
no templates. It polls exactly as `bot.runner.start_bot` does (`poll_interval=0`, `timeout=30`,
every update type, pending updates kept) and processes up to 64 updates at once, the number of
handlers `bot.concurrency.PerUserUpdateProcessor` lets run at once, so the two differ only in what
happens per update.

    .venv/bin/python bench/echo_bot.py --base-url http://127.0.0.1:PORT/bot --token 123:ABC [--real-answers]

It runs until SIGTERM or SIGINT. `bench/throughput.py` starts it against its fake Bot API server.

`--real-answers` (a diagnostic, `bench/throughput.py --diagnose`): instead of the text, send the
answer the real bot gives to it (its HTML and buttons), computed for every question of
`tests/eval/questions.toml` before polling starts. The messages are then as big as the real
bot's, but nothing is computed per update: the gap to the real bot is its own work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any, Awaitable, Callable

os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402
from telegram.request import BaseRequest  # noqa: E402

CONCURRENT_UPDATES = 64


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the message's text back to its chat."""
    await context.bot.send_message(chat_id=update.effective_chat.id, text=update.effective_message.text)


def real_answers() -> Callable[[str], tuple[str, Any]]:
    """The real bot's answer (HTML, keyboard) to each evaluation question, computed up front."""
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from bot.app import build_services
    from bot.questions import answer_question
    from bot.settings import Settings
    from bot.ui import markup

    svc = build_services(Settings())
    with open(root / "tests" / "eval" / "questions.toml", "rb") as f:
        data = tomllib.load(f)
    answers = {}
    for lang in ("en", "ar"):
        for item in data[lang]:
            reply = answer_question(svc.knowledge, svc.renderer, svc.matcher, item["q"], lang)
            answers[item["q"]] = (reply.text, markup(reply.buttons))
    fallback = answer_question(svc.knowledge, svc.renderer, svc.matcher, "hello", "en")
    return lambda text: answers.get(text, (fallback.text, markup(fallback.buttons)))


def answering(answer_for: Callable[[str], tuple[str, Any]]) -> Callable[..., Awaitable[None]]:
    async def send_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Sends the real bot's answer to the text, as the real bot sends it (HTML, buttons)."""
        text, keyboard = answer_for(update.effective_message.text)
        await context.bot.send_message(chat_id=update.effective_chat.id, text=text, parse_mode=ParseMode.HTML,
                                       reply_markup=keyboard, link_preview_options=None)
    return send_answer


def build_echo_application(token: str, base_url: str | None = None, *, with_answers: bool = False,
                           request: BaseRequest | None = None) -> Application:
    """The echo bot's Application, pointed at `base_url` (a fake Bot API) or `request` when given."""
    builder = ApplicationBuilder().token(token).concurrent_updates(CONCURRENT_UPDATES)
    if base_url:
        builder = builder.base_url(base_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    callback = answering(real_answers()) if with_answers else echo
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, callback))
    return application


async def serve(token: str, base_url: str | None, *, with_answers: bool = False) -> None:
    """Polls until SIGTERM or SIGINT, with `bot.runner.start_bot`'s polling settings."""
    application = build_echo_application(token, base_url, with_answers=with_answers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=30, allowed_updates=Update.ALL_TYPES,
                                            drop_pending_updates=False)
    await stop.wait()
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="Bot API base URL (python-telegram-bot appends the token)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--real-answers", action="store_true",
                        help="send the real bot's answer to each question instead of the text (diagnostic)")
    args = parser.parse_args()
    asyncio.run(serve(args.token, args.base_url, with_answers=args.real_answers))


if __name__ == "__main__":
    main()
