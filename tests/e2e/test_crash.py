"""Stops and crashes of the real process (`python -m bot run`): what a user sees.

- SIGTERM (a deploy, `docker stop`): the bot stops fetching, answers the updates it already
  took, and exits 0.
- SIGKILL (the machine dies) while reports are being filed, then a restart: every report whose
  confirmation went out is stored, none twice. Polling confirms updates to Telegram before the
  handlers run, so a kill loses the ones in hand (the user presses again) and Telegram may hand
  some out again (redelivery): both must end with one report each.
"""

from __future__ import annotations

import asyncio
import copy
import re
import signal
import socket
from pathlib import Path

import pytest

from bot.db import open_readonly
from bot.pseudonym import Pseudonymizer
from bot.settings import Secret
from fakeapi import FakeTelegramServer, FakeUser, SentMessage
from fakeapi.harness import PSEUDONYM_SECRET

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}")


async def ready(fake_api: FakeTelegramServer, after: int = 0) -> None:
    """Waits until a freshly started process polls."""
    await fake_api.wait_for_call("getUpdates", after=after, timeout=20)


def confirmation(server: FakeTelegramServer, user: FakeUser) -> str | None:
    """The report reference the bot showed the user, if it did."""
    found = {m.group() for message in server.sent_messages(user.id) if message.text
             for m in [REFERENCE.search(message.text)] if m}
    assert len(found) <= 1, f"{user.first_name} was shown two different references: {found}"
    return found.pop() if found else None


async def review(server: FakeTelegramServer, user: FakeUser, description: str) -> SentMessage:
    """Takes a user through a quick report up to its review (Submit not pressed)."""
    await user.ask("/report", timeout=10)
    await user.click("report:quick", timeout=10)
    message = await user.ask(description, timeout=10)
    assert any(d.startswith("report:submit:") for d in message.callback_data), message.callback_data
    return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def submit(message: SentMessage) -> str:
    return next(d for d in message.callback_data if d.startswith("report:submit:"))


async def test_sigterm_answers_the_questions_in_hand_then_exits_0(bot_process, fake_api: FakeTelegramServer):
    process = bot_process()
    await ready(fake_api)
    fake_api.set_latency(1.0, methods=["sendMessage"])  # Telegram is slow today
    users = [FakeUser(fake_api, f"User {i}") for i in range(10)]
    for user in users:
        await user.send("What do recruiters promise?")
    await fake_api.wait_for(fake_api.all_delivered, timeout=10, what="the bot to take every question")
    await fake_api.wait_for(lambda: len(fake_api.calls_to("sendMessage")) >= 5, timeout=10,
                            what="the answers to be on their way")
    assert not any(fake_api.sent_messages(u.id) for u in users)  # none answered yet

    process.proc.send_signal(signal.SIGTERM)
    assert await process.wait(20) == 0
    for user in users:
        assert fake_api.sent_messages(user.id), f"{user.first_name} got no answer"
        assert fake_api.sent_messages(user.id)[0].buttons
    output = process.output()
    assert "stopping: finishing the updates in hand" in output and "stopped" in output
    assert "Traceback" not in output and " ERROR " not in output, output


async def test_sigkill_while_reports_are_filed_loses_and_doubles_none(bot_process, fake_api: FakeTelegramServer,
                                                                       tmp_path: Path):
    first = bot_process()
    await ready(fake_api)
    users = [FakeUser(fake_api, f"Reporter {i}", language_code="ar" if i % 3 == 0 else "en") for i in range(12)]
    descriptions = {u.id: f"Report of {u.first_name}: a recruiter offered a job in Russia." for u in users}
    reviews = dict(zip([u.id for u in users],
                       await asyncio.gather(*(review(fake_api, u, descriptions[u.id]) for u in users))))
    # As the review looked when Submit was pressed (the message itself turns into the confirmation).
    submits = {uid: (copy.deepcopy(message.json), submit(message)) for uid, message in reviews.items()}

    # Telegram is slow to confirm, and users press Submit one after another.
    fake_api.set_latency(0.4, methods=["editMessageText", "sendMessage"])
    killed = False
    for user in users:
        if not killed and sum(confirmation(fake_api, u) is not None for u in users) >= 3:
            # A hasty reporter writes again and presses Submit at once: the bot has taken both
            # (and confirmed them to Telegram), the submit waiting behind the reply to the text,
            # when the machine dies.
            await user.send("Did you get it?")
            await user.press(submit(reviews[user.id]), message=reviews[user.id])
            await fake_api.wait_for(lambda: not fake_api.pending_updates, timeout=5, what="the bot to take both")
            first.proc.kill()  # SIGKILL: no clean-up of any kind
            await first.wait(5)
            killed = True
            continue
        await user.press(submit(reviews[user.id]), message=reviews[user.id])
        await asyncio.sleep(0.15)
    assert killed, "the bot confirmed fewer than 3 reports before everyone had pressed Submit"
    before = {u.id: confirmation(fake_api, u) for u in users}
    confirmed_before = {uid: ref for uid, ref in before.items() if ref}
    assert 3 <= len(confirmed_before) < len(users), before  # killed in the middle of it
    # Updates Telegram still holds: pressed while the bot was down, or fetched but not confirmed.
    unconfirmed = {u["callback_query"]["from"]["id"] for u in fake_api.pending_updates if "callback_query" in u}

    fake_api.set_latency(0)
    mark = fake_api.mark()
    second = bot_process()
    await ready(fake_api, after=mark)
    await fake_api.wait_for(fake_api.all_delivered, timeout=10, what="the unconfirmed submits to be fetched")
    await fake_api.wait_idle(quiet=0.5, timeout=15)
    # Telegram delivered what it still held, and the restarted bot handled it.
    assert all(confirmation(fake_api, u) for u in users if u.id in unconfirmed)
    # Submits in hand at the kill were confirmed to Telegram but never handled: those users saw
    # nothing, and press Submit again.
    lost_in_hand = [u for u in users if confirmation(fake_api, u) is None]
    assert lost_in_hand
    for user in lost_in_hand:
        await user.press(submit(reviews[user.id]), message=reviews[user.id])
    # And the submits handled before the kill come again (as a redelivery or a second tap: under
    # a new update id, so only the report flow's own idempotency can tell).
    for user in users:
        if before[user.id] is not None:
            fake_api.push_update("callback_query", fake_api.add_callback_query(user.json, *submits[user.id]))
    await fake_api.wait_for(lambda: all(confirmation(fake_api, u) for u in users), timeout=20,
                            what="every reporter to see a confirmation")
    await fake_api.wait_idle(quiet=0.5, timeout=15)
    assert second.returncode is None
    assert await second.stop() == 0

    keys = Pseudonymizer(Secret(PSEUDONYM_SECRET))
    db = open_readonly(tmp_path / "bot.db")
    rows = list(db.query("select reference, draft_id, reporter_key, description from reports"))
    db.conn.close()
    by_reference = {r["reference"]: r for r in rows}
    lost = [ref for ref in confirmed_before.values() if ref not in by_reference]
    per_user = {u.id: [r for r in rows if r["reporter_key"] == keys.key(u.id)] for u in users}
    doubled = [uid for uid, mine in per_user.items() if len(mine) > 1]
    print(f"\nSIGKILL after {len(confirmed_before)} of {len(users)} confirmations; {len(unconfirmed)} submits "
          f"delivered after the restart, {len(lost_in_hand)} lost in hand and pressed again, "
          f"{len(confirmed_before)} delivered twice: {len(lost)} confirmed reports lost, {len(doubled)} stored "
          f"twice, {len(rows)} reports for {len(users)} reporters")
    assert lost == [] and doubled == []
    assert len({r["draft_id"] for r in rows}) == len(rows) == len(users)
    for user in users:
        [row] = per_user[user.id]
        assert row["description"] == descriptions[user.id]
        # What the user was told before the crash is what is stored, and still what they are told.
        assert row["reference"] == confirmation(fake_api, user)
        assert before[user.id] in (None, row["reference"])
    output = second.output()
    assert "Traceback" not in output and " ERROR " not in output, output


async def test_sigterm_during_a_start_up_that_waits_for_telegram_exits_at_once(bot_process, fake_api):
    port = free_port()  # nothing listens there: Telegram is unreachable
    url = f"http://127.0.0.1:{port}"
    process = bot_process(env={"TELEGRAM_API_BASE_URL": f"{url}/bot", "TELEGRAM_API_FILE_URL": f"{url}/file/bot"})
    await fake_api.wait_for(lambda: "retry" in process.output(), timeout=20, what="start-up to be retrying")
    process.proc.send_signal(signal.SIGTERM)
    assert await process.wait(5) == 0
    output = process.output()
    assert "stopping before start-up finished" in output
    assert "Traceback" not in output and " ERROR " not in output, output
