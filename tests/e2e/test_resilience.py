"""End to end, with Telegram misbehaving: flood control, 5xx answers, dropped connections, late
answers, slow answers and blocked users. Every user must still get their answer."""

from __future__ import annotations

import time

import pytest
from telegram.request import HTTPXRequest

from fakeapi import FakeGroup, FakeTelegramServer, FakeUser

pytestmark = pytest.mark.e2e


async def welcomes(users: list[FakeUser], timeout: float = 8.0) -> list:
    for user in users:
        await user.command("/start")
    return [await user.wait_reply(timeout=timeout) for user in users]


async def test_answers_survive_server_errors_and_dropped_connections(start_bot, fake_api: FakeTelegramServer):
    await start_bot()
    fake_api.set_faults(0.3, kinds=("500", "502", "drop"), seed=1)
    users = [FakeUser(fake_api, f"User {i}") for i in range(6)]
    for welcome in await welcomes(users):
        assert welcome.buttons
    assert fake_api.stats.faults > 0


async def test_flood_control_is_waited_out(start_bot, fake_api: FakeTelegramServer):
    await start_bot()
    fake_api.set_flood(rate=4, burst=4)
    users = [FakeUser(fake_api, f"User {i}") for i in range(10)]
    for welcome in await welcomes(users):
        assert welcome.buttons
    assert fake_api.stats.flood_rejected > 0


async def test_a_late_answer_is_retried_without_losing_the_message(start_bot, fake_api: FakeTelegramServer):
    # Short client timeouts, so the injected "late answer" (1 s) is a timeout for the bot.
    await start_bot(build={"request": HTTPXRequest(read_timeout=0.4),
                           "get_updates_request": HTTPXRequest(read_timeout=0.4)})
    fake_api.set_faults(0.5, kinds=("timeout",), delay=1.0, seed=3)
    users = [FakeUser(fake_api, f"User {i}") for i in range(4)]
    for welcome in await welcomes(users):
        assert welcome.buttons
    assert fake_api.stats.fault_timeouts > 0


async def test_slow_answers_do_not_serialise_users(start_bot, fake_api: FakeTelegramServer):
    await start_bot()
    fake_api.set_latency(0.4, methods=["sendMessage"])
    users = [FakeUser(fake_api, f"User {i}") for i in range(8)]
    started = time.monotonic()
    await welcomes(users)
    assert time.monotonic() - started < 8 * 0.4 / 2


async def test_a_blocked_user_does_not_stop_the_others(start_bot, fake_api: FakeTelegramServer):
    await start_bot()
    gone, here = FakeUser(fake_api, "Gone"), FakeUser(fake_api, "Here")
    gone.block_bot()
    await gone.command("/start")
    await fake_api.wait_for(lambda: fake_api.stats.blocked, timeout=5, what="the send to the blocked user")
    [welcome] = await welcomes([here])
    assert welcome.buttons


async def test_in_a_group_the_bot_answers_only_when_mentioned(start_bot, fake_api: FakeTelegramServer):
    harness = await start_bot()
    group = FakeGroup(fake_api, "Family")
    asker, other = FakeUser(fake_api, "Asker"), FakeUser(fake_api, "Other")
    question = next(t for t in harness.services.knowledge.topics.values() if t.examples.get("en")).examples["en"][0]
    await other.send(question, chat=group)
    await other.assert_no_reply(quiet=0.3, chat=group)
    answer = await asker.ask(f"@{fake_api.bot_user['username']} {question}", chat=group)
    assert answer.parse_mode == "HTML" and answer.text
