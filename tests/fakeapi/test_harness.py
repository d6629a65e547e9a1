"""The harness itself, on a tiny stand-in bot: polling in the test's loop, users, waiting, modes.

These do not depend on the project's texts or features, so they show whether the harness works
even while the real bot is being written.
"""

from __future__ import annotations

import asyncio
import html

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
                          ContextTypes, MessageHandler, filters)

from fakeapi import FakeChannel, FakeGroup, FakeTelegramServer, FakeUser, WaitTimeout
from fakeapi.harness import BotHarness


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets with two buttons, echoing the deep-link payload."""
    payload = " ".join(context.args or [])
    await update.effective_message.reply_html(
        f"<b>Welcome</b> {html.escape(payload)}",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Topic A", callback_data="topic:a"),
                                            InlineKeyboardButton("Bad", callback_data="bad")]]))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the query and edits the message, or sends broken HTML for the "bad" button."""
    query = update.callback_query
    await query.answer()
    if query.data == "bad":
        await query.message.reply_html("<b>unclosed")
        return
    await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echoes text, says where a forward came from, and answers group posts."""
    message = update.effective_message
    if message.forward_origin is not None:
        await message.reply_text(f"forwarded from {message.forward_origin.type}")
    elif message.text == "burst":
        await asyncio.gather(*(context.bot.send_message(chat_id=message.chat_id, text=f"n{i}") for i in range(4)))
    else:
        await message.reply_text(f"echo: {message.text}")


async def crash(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Fails on purpose."""
    raise RuntimeError("boom")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs errors the way the project's error handler does."""
    import logging

    logging.getLogger("stub").error("error while handling an update", exc_info=context.error)


def stub_application(server: FakeTelegramServer, *, rate_limiter: bool = False) -> Application:
    builder = ApplicationBuilder().token(server.token).base_url(server.base_url).base_file_url(server.file_url)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.build()
    app.add_handlers([
        CommandHandler("start", start),
        CommandHandler("crash", crash),
        CallbackQueryHandler(pressed),
        MessageHandler((filters.TEXT | filters.FORWARDED) & ~filters.COMMAND, echo),
    ])
    app.add_error_handler(on_error)
    return app


@pytest.fixture
async def stub_bot(fake_api):
    harness = BotHarness(fake_api, application=stub_application(fake_api))
    await harness.start()
    yield harness
    await harness.stop()


async def test_command_button_and_edit(stub_bot, fake_api):
    user = FakeUser(fake_api, "Sara")
    await user.command("/start", "topic_x")
    welcome = await user.wait_reply()
    assert welcome.text == "Welcome topic_x" and welcome.button_texts == ["Topic A", "Bad"]
    edited = await user.click("Topic A")
    assert edited.message_id == welcome.message_id and edited.text == "You chose topic:a"
    assert fake_api.unanswered_callbacks() == []
    assert stub_bot.problems() == []


async def test_ask_forward_group_and_silence(stub_bot, fake_api):
    user = FakeUser(fake_api, "Sara")
    assert (await user.ask("hello")).text == "echo: hello"
    await user.forward("job offer", origin=FakeChannel(fake_api, "Jobs"))
    assert (await user.wait_reply()).text == "forwarded from channel"
    group = FakeGroup(fake_api, "Family")
    assert (await user.ask("in the group", chat=group)).text == "echo: in the group"
    await user.send_sticker()
    await user.assert_no_reply(quiet=0.2)
    await fake_api.wait_idle(quiet=0.1)


async def test_problems_list_refused_calls_and_logged_errors(stub_bot, fake_api):
    user = FakeUser(fake_api, "Sara")
    await user.command("/start")
    await user.wait_reply()
    await user.press("bad")
    await fake_api.wait_for(lambda: fake_api.errors(), timeout=3)
    await user.command("/crash")
    await fake_api.wait_for(lambda: any("boom" in repr(r.exc_info) for r in stub_bot.error_records), timeout=3)
    problems = stub_bot.problems()
    assert any("can't parse entities" in p for p in problems)
    assert any("boom" in p for p in problems)
    stub_bot.expect_errors = True
    assert stub_bot.problems() == []


async def test_rate_limiter_waits_out_flood_control(fake_api):
    harness = BotHarness(fake_api, application=stub_application(fake_api, rate_limiter=True))
    await harness.start()
    try:
        fake_api.set_flood(rate=3, burst=3)
        user = FakeUser(fake_api, "Sara")
        await user.send("burst")
        messages = await fake_api.wait_for_messages(user.id, 4, timeout=5)
        assert sorted(m.text for m in messages) == ["n0", "n1", "n2", "n3"]
        assert fake_api.stats.flood_rejected >= 1
    finally:
        await harness.stop()


async def test_blocked_user_does_not_break_polling(stub_bot, fake_api):
    blocked, other = FakeUser(fake_api, "Gone"), FakeUser(fake_api, "Here")
    blocked.block_bot()
    await blocked.send("hello")
    assert (await other.ask("still there?")).text == "echo: still there?"
    stub_bot.expect_errors = True  # the stub logs the Forbidden


async def test_wait_reply_times_out_with_a_useful_message(stub_bot, fake_api):
    user = FakeUser(fake_api, "Sara")
    await user.send_location()
    with pytest.raises(WaitTimeout, match="new message\\(s\\) or edit\\(s\\)"):
        await user.wait_reply(timeout=0.3)
