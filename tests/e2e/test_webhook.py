"""Webhook mode (`WEBHOOK_URL` + `WEBHOOK_SECRET` + `PORT`): the bot registers its URL and secret
with Telegram, answers what Telegram posts to it, and refuses posts without the secret, which
could otherwise carry forged updates (from an admin's id, say).

The bot runs as `python -m bot run` runs it (`bot.runner.start_bot`), in this loop or as a
process; the tests post updates to its port as Telegram would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest

from bot.app import build_application
from bot.runner import start_bot, stop_bot
from fakeapi import FakeTelegramServer, FakeUser

pytestmark = pytest.mark.e2e

URL = "https://bot.example.org/telegram/hook"
SECRET = "s3cret_Token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def webhook_bot(make_settings: Callable[..., Any], **overrides: Any) -> AsyncIterator[Any]:
    settings = make_settings(**({"webhook_url": URL, "webhook_secret": SECRET, "port": free_port()} | overrides))
    application = build_application(settings)
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        await start_bot(application, settings, listen="127.0.0.1", startup_attempts=1)
        try:
            yield settings
        finally:
            await stop_bot(application)
    finally:
        logging.getLogger().removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == []


def telegram_has(server: FakeTelegramServer) -> dict:
    """The update the fake users just made, taken from Telegram's queue to post to the webhook."""
    update = server.pending_updates[-1]
    server.delivered_update_ids.add(update["update_id"])
    return update


async def post(port: int, update: dict, secret: str | None, path: str = "/telegram/hook",
               content_type: str = "application/json") -> int:
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}{path}", data=json.dumps(update), headers=headers) as answer:
            return answer.status


async def test_the_webhook_is_registered_and_updates_with_the_secret_are_answered(make_settings, fake_api):
    async with webhook_bot(make_settings) as settings:
        assert fake_api.webhook is not None
        assert (fake_api.webhook["url"], fake_api.webhook["secret_token"]) == (URL, SECRET)
        assert "callback_query" in fake_api.webhook["allowed_updates"]
        user = FakeUser(fake_api, "Sam")
        await user.command("/start")
        assert await post(settings.port, telegram_has(fake_api), SECRET) == 200
        welcome = await user.wait_reply()
        assert welcome.buttons
        topic = next(d for d in welcome.callback_data if d.startswith("topic:"))
        query = await user.press(topic)
        assert await post(settings.port, telegram_has(fake_api), SECRET) == 200
        answer = await user.wait_reply()
        await fake_api.wait_answered(query)
        assert answer.text != welcome.text
        assert fake_api.errors() == []


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET.upper()])
async def test_posts_without_the_right_secret_are_refused_and_nothing_is_sent(make_settings, fake_api, secret):
    admin = FakeUser(fake_api, "Admin", id=1001)
    async with webhook_bot(make_settings, admin_ids={admin.id}) as settings:
        mark = fake_api.mark()
        for text in ("/start", "/stats", "/export"):  # forged as if from the admin
            await admin.send(text)
            assert await post(settings.port, telegram_has(fake_api), secret) == 403
        await asyncio.sleep(0.5)
        assert [c for c in fake_api.calls if c.seq > mark] == []


async def test_the_webhook_only_takes_json_posts_on_its_own_path(make_settings, fake_api):
    async with webhook_bot(make_settings) as settings:
        user = FakeUser(fake_api, "Sam")
        await user.command("/start")
        update = telegram_has(fake_api)
        assert await post(settings.port, update, SECRET, content_type="text/plain") == 403
        assert await post(settings.port, update, SECRET, path="/other") == 404
        await user.assert_no_reply(quiet=0.3)


async def test_without_a_configured_secret_a_random_one_guards_the_webhook(make_settings, fake_api):
    async with webhook_bot(make_settings, webhook_secret=None) as settings:
        secret = fake_api.webhook["secret_token"]
        assert len(secret) >= 32
        user = FakeUser(fake_api, "Sam")
        await user.command("/start")
        update = telegram_has(fake_api)
        assert await post(settings.port, update, None) == 403
        assert await post(settings.port, update, secret) == 200
        assert (await user.wait_reply()).buttons


async def test_the_real_process_serves_the_webhook_from_the_environment(bot_process, fake_api: FakeTelegramServer):
    port = free_port()
    process = bot_process(env={"WEBHOOK_URL": URL, "WEBHOOK_SECRET": SECRET, "PORT": str(port)})
    await fake_api.wait_for_call("setWebhook", timeout=20)
    assert fake_api.webhook["secret_token"] == SECRET
    user = FakeUser(fake_api, "Sam", language_code="ar")
    await user.command("/start")
    update = telegram_has(fake_api)
    for _ in range(50):  # the server starts listening just after setWebhook
        try:
            status = await post(port, update, SECRET)
            break
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    assert status == 200
    assert (await user.wait_reply()).buttons
    assert fake_api.calls_to("getUpdates") == []
    assert await process.stop() == 0
    output = process.output()
    assert "bot running (webhook)" in output
    assert SECRET not in output and "Traceback" not in output and " ERROR " not in output, output
