"""Subscriptions and awareness broadcasts: consent, batching, blocked users, at-most-once resume."""

from __future__ import annotations

import pytest

from bot import broadcast
from bot.broadcast import (audience, claim_batch, claim_offer, create_draft, mark_interrupted, move, progress,
                           settle, subscribe, unsubscribe)
from bot.db import open_database, utc_now
from fakeapi.users import FakeUser
from test_admin_handlers import rows

ADMIN = 5_300_001


# --- logic ------------------------------------------------------------------------------------

@pytest.fixture
def db():
    return open_database(":memory:")


def test_subscribe_and_unsubscribe(db):
    assert subscribe(db, "k1", 101, "ar") is True
    assert subscribe(db, "k1", 101, "en") is False
    assert audience(db) == {"en": 1, "ar": 0}
    assert unsubscribe(db, "k1") is True
    assert unsubscribe(db, "k1") is False


def test_the_offer_is_made_once_and_not_to_subscribers(db):
    assert claim_offer(db, "k1") is True
    assert claim_offer(db, "k1") is False
    subscribe(db, "k2", 102, "en")
    assert claim_offer(db, "k2") is False


def test_claims_are_committed_before_sending_and_never_claimed_twice(db):
    for n in range(45):
        subscribe(db, f"k{n:02d}", 1000 + n, "en")
    broadcast_id = create_draft(db, ADMIN, ADMIN, "hi", "مرحبا")
    assert move(db, broadcast_id, "draft", "sending", ADMIN) is True
    assert move(db, broadcast_id, "draft", "sending", ADMIN) is False  # a second press
    first = claim_batch(db, broadcast_id, 20)
    second = claim_batch(db, broadcast_id, 20)
    assert len(first) == len(second) == 20
    assert not {r["user_key"] for r in first} & {r["user_key"] for r in second}
    for row in first:
        settle(db, broadcast_id, row["user_key"], "sent")
    settle(db, broadcast_id, second[0]["user_key"], "blocked")
    settle(db, broadcast_id, second[1]["user_key"], "retry")
    # A crash now: 18 claims of the second batch are unsettled; they become "unknown", never resent.
    assert mark_interrupted(db, broadcast_id) == 18
    third = claim_batch(db, broadcast_id, 20)
    assert len(third) == 6  # the 5 never claimed, and the released retry
    assert second[1]["user_key"] in {r["user_key"] for r in third}
    counts = progress(db, broadcast_id)
    assert counts["sent"] == 20 and counts["blocked"] == 1 and counts["unknown"] == 18 and counts["remaining"] == 0
    assert audience(db)["en"] == 44  # the blocked one was removed
    assert [r["action"] for r in db.query("select action from audit")] == ["broadcast_sending"]


# --- through the bot --------------------------------------------------------------------------

@pytest.fixture
async def bot(start_bot, monkeypatch):
    monkeypatch.setattr(broadcast, "BATCH", 3)
    monkeypatch.setattr(broadcast, "TICK", 0.05)
    monkeypatch.setattr(broadcast, "PROGRESS_EVERY", 1)
    return await start_bot(admin_ids={ADMIN})


@pytest.fixture
def admin(fake_api):
    return FakeUser(fake_api, "Admin", id=ADMIN)


async def test_subscribe_commands(bot, fake_api):
    user = FakeUser(fake_api, "Layla", language_code="ar")
    assert "ستصلك" in (await user.ask("/subscribe")).text
    assert "مشترك بالفعل" in (await user.ask("/subscribe")).text
    (row,) = await rows(bot, "select * from subscribers")
    assert row["chat_id"] == user.id and row["language"] == "ar" and row["user_key"] == bot.services.user_key(user.id)
    assert "لن تصلك" in (await user.ask("/unsubscribe")).text
    assert await rows(bot, "select * from subscribers") == []
    assert "لست مشتركًا" in (await user.ask("/unsubscribe")).text


async def test_subscribe_is_offered_once_after_the_first_answer(bot, fake_api):
    user = FakeUser(fake_api, "Sami")
    await user.send("How many Jordanians were killed?")
    replies = await user.wait_replies(2)
    assert replies[1].callback_data == ["sub:yes", "sub:no"]
    await user.click("sub:yes")
    assert len(await rows(bot, "select * from subscribers")) == 1
    await user.send("What do recruiters promise?")
    await user.wait_reply()
    await fake_api.wait_idle()
    assert not any("sub:yes" in m.callback_data for m in fake_api.sent_messages(user.id)[2:])


async def test_a_broadcast_from_compose_to_done(bot, fake_api, admin):
    english = [FakeUser(fake_api, f"En{n}", language_code="en") for n in range(4)]
    arabic = [FakeUser(fake_api, f"Ar{n}", language_code="ar") for n in range(3)]
    for user in english + arabic:
        await user.ask("/subscribe")
    arabic[0].block_bot()
    await admin.command("/broadcast")
    assert "4" in (await admin.wait_reply()).text
    await admin.send("Beware of <job offers> in Russia & elsewhere")
    assert "Arabic" in (await admin.wait_reply()).text
    await admin.send("احذروا عروض العمل في روسيا")
    preview = await admin.wait_replies(3)
    assert "<job offers>" in preview[0].text and "احذروا" in preview[1].text
    send_data = preview[2].callback_data[0]
    assert send_data.startswith("adm:bc:send:")
    # Both presses land: only one broadcast is sent.
    await admin.press(send_data)
    await admin.press(send_data)
    await fake_api.wait_for(lambda: any("finished" in (m.text or "") for m in fake_api.sent_messages(admin.id)),
                            timeout=10)
    for user in english:
        texts = [m.text for m in fake_api.sent_messages(user.id) if "Beware" in (m.text or "")]
        assert texts == ["📢 Beware of <job offers> in Russia & elsewhere\n\n/unsubscribe to stop these alerts."]
    for user in arabic[1:]:
        assert sum("احذروا" in (m.text or "") for m in fake_api.sent_messages(user.id)) == 1
    (row,) = await rows(bot, "select status, finished_at from broadcasts")
    assert row["status"] == "done" and row["finished_at"]
    outcomes = await rows(bot, "select outcome, count(*) as n from broadcast_deliveries group by outcome order by outcome")
    assert outcomes == [{"outcome": "blocked", "n": 1}, {"outcome": "sent", "n": 6}]
    assert len(await rows(bot, "select * from subscribers")) == 6
    done = [m for m in fake_api.sent_messages(admin.id) if "finished" in (m.text or "")][0]
    assert "Sent: 6" in done.text and "removed from subscribers): 1" in done.text
    actions = [r["action"] for r in await rows(bot, "select action from audit order by id")]
    assert actions == ["broadcast_draft", "broadcast_sending"]


async def test_one_text_for_both_languages_and_discarding(bot, fake_api, admin):
    await admin.command("/broadcast")
    await admin.wait_reply()
    await admin.send("Stay safe")
    await admin.wait_reply()
    await admin.press("adm:bc:same")
    preview = (await admin.wait_replies(3))[2]
    drop = [d for d in preview.callback_data if d.startswith("adm:bc:drop:")][0]
    await admin.click(drop)
    (row,) = await rows(bot, "select status, text_en, text_ar from broadcasts")
    assert row == {"status": "cancelled", "text_en": "Stay safe", "text_ar": "Stay safe"}


async def test_cancel_while_composing(bot, fake_api, admin):
    await admin.command("/broadcast")
    await admin.wait_reply()
    await admin.click("adm:bc:cancel")
    assert "Hello there" not in (await admin.ask("Hello there")).text  # an ordinary question again
    assert await rows(bot, "select * from broadcasts") == []


async def test_a_broadcast_resumes_after_a_restart_without_repeats(start_bot, fake_api, make_settings, admin,
                                                                    monkeypatch):
    monkeypatch.setattr(broadcast, "BATCH", 2)
    monkeypatch.setattr(broadcast, "TICK", 0.05)
    settings = make_settings(admin_ids={ADMIN})
    users = [FakeUser(fake_api, f"U{n}") for n in range(6)]
    # The state a crash left: one delivered, one claimed but unsettled, four never reached.
    db = open_database(settings.database_path)
    from bot.pseudonym import Pseudonymizer

    keys = Pseudonymizer(settings.pseudonym_secret)
    for user in users:
        subscribe(db, keys.key(user.id), user.id, "en")
    broadcast_id = create_draft(db, ADMIN, ADMIN, "Resume me", "Resume me")
    move(db, broadcast_id, "draft", "sending")
    with db.atomic():
        db.execute("insert into broadcast_deliveries values (?, ?, 'sent', ?)", [broadcast_id, keys.key(users[0].id), utc_now()])
        db.execute("insert into broadcast_deliveries values (?, ?, 'sending', ?)", [broadcast_id, keys.key(users[1].id), utc_now()])
    db.conn.close()
    bot = await start_bot(settings)
    await fake_api.wait_for(lambda: any("finished" in (m.text or "") for m in fake_api.sent_messages(admin.id)),
                            timeout=10)
    assert [len([m for m in fake_api.sent_messages(u.id) if "Resume me" in (m.text or "")]) for u in users] == [
        0, 0, 1, 1, 1, 1]
    outcomes = dict((r["outcome"], r["n"]) for r in await rows(
        bot, "select outcome, count(*) as n from broadcast_deliveries group by outcome"))
    assert outcomes == {"sent": 5, "unknown": 1}
    assert (await rows(bot, "select status from broadcasts"))[0]["status"] == "done"
