"""The /report conversation end to end: the real Application polling the local fake Bot API.

Asserts on button data (language-independent), on the database, and on the language of texts;
the fake server refuses bad HTML, over-long texts and unanswerable edits, and the `start_bot`
fixture fails the test if it refused anything or the bot logged an error.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Update

from bot import report_flow, reports
from bot.i18n import Renderer
from bot.reports import Draft
from bot.telegram_html import html_problems
from fakeapi.text import arabic_share
from fakeapi import FakeChannel, FakeGroup, FakeTelegramServer, FakeUser, origin_channel, origin_user

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}")


def submit_data(message) -> str:
    return next(d for d in message.callback_data if d.startswith("report:submit:"))


async def rows(bot, sql: str = "select * from reports order by id", params=()) -> list[dict]:
    return await bot.services.store.run(lambda db: list(db.query(sql, list(params))))


async def draft_of(bot, user: FakeUser) -> Draft | None:
    return await bot.services.store.run(reports.get_draft, bot.services.user_key(user.id))


@pytest.fixture
def alerts(monkeypatch):
    """Records the alerts the flow asks for, with whether the report was committed by then."""
    sent: list[int] = []

    async def record(bot, svc, report_id):
        found = await svc.store.run(reports.get_report, report_id)
        assert found is not None, "the alert came before the report was stored"
        sent.append(report_id)

    monkeypatch.setattr(report_flow, "send_new_report_alert", record)
    return sent


@pytest.fixture
def committed_before_confirming(monkeypatch):
    """Checks, as each confirmation is shown, that its report is already in the database."""
    seen: list[bool] = []
    original = report_flow.edit_or_send

    async def show(update, context, reply):
        found = REFERENCE.search(reply.text)
        if found:
            svc = report_flow.services(context)
            seen.append(await svc.store.run(reports.find_report, found.group()) is not None)
        await original(update, context, reply)

    monkeypatch.setattr(report_flow, "edit_or_send", show)
    return seen


async def test_a_guided_report_in_english_stores_everything_entered(
        running_bot, fake_api: FakeTelegramServer, alerts, committed_before_confirming):
    user = FakeUser(fake_api, "Alicia", username="reporter_alice", language_code="en")
    intro = await user.ask("/report")
    assert "private" in intro.text and "/cancel" in intro.text
    assert {"report:chan:whatsapp", "report:quick", "report:next:channel", "report:cancel"} <= set(intro.callback_data)
    assert all(d.isascii() and len(d.encode()) <= 64 for d in intro.callback_data)

    offers = await user.click("report:chan:whatsapp")
    assert "report:offer:money" in offers.callback_data
    await user.click("report:offer:money")
    await user.click("report:offer:land")
    await user.click("report:offer:citizenship")
    ticked = await user.click("report:offer:land")  # untick
    assert [b.text.startswith("✅") for row in ticked.buttons for b in row if b.callback_data.startswith("report:offer:")] \
        == [True, True, False, False, False, False]
    country = await user.click("report:next:offers")
    assert "report:country:JO" in country.callback_data
    recruiter = await user.ask("Jordan")
    assert "report:next:recruiter" in recruiter.callback_data
    description = await user.ask("@recruiter_x +962 79 000 0000")
    assert "3,000" in description.text
    evidence = await user.ask("A man on WhatsApp promised me 3,000 dollars a month & a Russian passport <b>fast</b>.")
    assert "report:next:evidence" in evidence.callback_data

    channel = FakeChannel(fake_api, "Work Abroad Now", username="work_abroad_now")
    await user.forward("Guards wanted in Russia. Salary $3000!", origin_channel(channel, message_id=77))
    added = await user.wait_reply()
    assert "1" in added.text
    photo = await user.send_photo("screenshot of the chat")
    await user.wait_reply()
    document = await user.send_document(file_name="contract.pdf")
    await user.wait_reply()
    about = await user.click("report:next:evidence")
    contact = await user.click("report:about:other")
    assert {"report:contact:yes", "report:contact:no"} <= set(contact.callback_data)
    assert "/forget" in contact.text
    review = await user.click("report:contact:no")
    assert "WhatsApp" in review.text and "Jordan" in review.text and "@recruiter_x" in review.text
    assert "<b>fast</b>" in review.text  # the user's text is shown as typed, not as markup
    assert "Guards wanted" in review.text and "@work_abroad_now" in review.text
    assert {f"report:edit:{s}" for s in ("channel", "offers", "country", "recruiter", "description", "evidence",
                                         "about", "contact")} <= set(review.callback_data)

    done = await user.click(submit_data(review))
    reference = REFERENCE.search(done.text).group()
    assert done.message_id == review.message_id  # the review is replaced: the report leaves the screen
    assert "A man on WhatsApp" not in done.text

    [row] = await rows(running_bot)
    assert {k: row[k] for k in ("reference", "status", "language", "source", "about", "channel", "country",
                                "recruiter_contact", "description", "forward_origin_type", "forwarded_text",
                                "contact_ok", "contact_chat_id")} == {
        "reference": reference, "status": "new", "language": "en", "source": "guided", "about": "other",
        "channel": "whatsapp", "country": "JO", "recruiter_contact": "@recruiter_x +962 79 000 0000",
        "description": "A man on WhatsApp promised me 3,000 dollars a month & a Russian passport <b>fast</b>.",
        "forward_origin_type": "channel", "forwarded_text": "Guards wanted in Russia. Salary $3000!",
        "contact_ok": 0, "contact_chat_id": None}
    assert "@work_abroad_now" in row["forward_origin"] and "https://t.me/work_abroad_now/77" in row["forward_origin"]
    assert json.loads(row["offers"]) == ["money", "citizenship"]
    attachments = json.loads(row["attachments"])
    assert [a["kind"] for a in attachments] == ["forward", "photo", "document"]
    assert attachments[0]["origin_type"] == "channel" and attachments[0]["text"].startswith("Guards wanted")
    assert attachments[1]["file_id"] == photo["photo"][-1]["file_id"]
    assert attachments[1]["text"] == "screenshot of the chat"
    assert attachments[2]["file_id"] == document["document"]["file_id"]
    assert row["reporter_key"] == running_bot.services.user_key(user.id)
    assert await draft_of(running_bot, user) is None
    assert alerts == [row["id"]]
    assert committed_before_confirming == [True]
    assert fake_api.unanswered_callbacks() == []


async def test_a_guided_report_in_arabic_with_skips_edits_and_consent(running_bot, fake_api: FakeTelegramServer, alerts):
    user = FakeUser(fake_api, "Omar", language_code="ar")
    intro = await user.ask("/report")
    assert arabic_share(intro.text) > 0.9
    assert arabic_share(" ".join(intro.button_texts)) > 0.6
    offers = await user.click("report:chan:telegram")
    assert arabic_share(offers.text) > 0.9
    await user.click("report:offer:job_visa")
    await user.click("report:next:offers")
    await user.click("report:country:JO")
    description = await user.click("report:next:recruiter")
    assert "report:next:description" not in description.callback_data  # nothing else says anything yet
    evidence = await user.ask("عرض عليّ شخص عملًا حارسًا في روسيا براتب كبير، وطلب صورة جواز سفري.")
    assert arabic_share(evidence.text) > 0.9
    await user.click("report:next:evidence")
    await user.click("report:about:self")
    contact = await user.click("report:contact:yes")
    assert arabic_share(contact.text) > 0.9
    review = contact
    assert "الأردن" in review.text and "تيليجرام" in review.text
    country = await user.click("report:edit:country")
    review = await user.click("report:country:IQ")  # an edit goes back to the review
    assert "العراق" in review.text and submit_data(review)
    done = await user.click(submit_data(review))
    assert arabic_share(done.text) > 0.8 and REFERENCE.search(done.text)

    [row] = await rows(running_bot)
    assert (row["language"], row["channel"], row["offers"], row["country"], row["recruiter_contact"], row["about"],
            row["contact_ok"], row["contact_chat_id"]) == ("ar", "telegram", '["job_visa"]', "IQ", None, "self", 1,
                                                           user.id)
    assert len(alerts) == 1
    assert fake_api.unanswered_callbacks() == []


async def test_a_quick_report_is_a_description_and_a_submit(running_bot, fake_api: FakeTelegramServer, alerts):
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    quick = await user.click("report:quick")
    assert quick.callback_data == ["report:cancel"]
    review = await user.ask("Someone at a travel agency in Amman offered me a job in Russia.")
    assert set(review.callback_data) >= {"report:edit:description", "report:edit:details", "report:cancel"}
    done = await user.click(submit_data(review))
    assert REFERENCE.search(done.text)
    [row] = await rows(running_bot)
    assert (row["source"], row["description"], row["channel"], row["contact_ok"]) == (
        "quick", "Someone at a travel agency in Amman offered me a job in Russia.", None, 0)


async def test_report_with_text_keeps_it_as_the_description(running_bot, fake_api: FakeTelegramServer, alerts):
    user = FakeUser(fake_api, "Sam")
    intro = await user.ask("/report They offered me land and citizenship\nif I sign for a year")
    assert "report:chan:telegram" in intro.callback_data and "report:quick" not in intro.callback_data
    for step in ("channel", "offers", "country", "recruiter"):
        reply = await user.click(f"report:next:{step}")
    assert "report:next:evidence" in reply.callback_data  # the description step is passed over
    await user.click("report:next:evidence")
    await user.click("report:next:about")
    review = await user.click("report:contact:no")
    await user.click(submit_data(review))
    [row] = await rows(running_bot)
    assert row["description"] == "They offered me land and citizenship\nif I sign for a year"
    assert (row["channel"], row["offers"], row["about"]) == (None, "[]", None)


async def test_the_deep_link_and_the_menu_button_open_a_report(running_bot, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam")
    intro = await user.ask("/start report")
    assert "report:chan:whatsapp" in intro.callback_data
    await user.ask("/cancel")
    welcome = await user.ask("/start")
    assert "report:start" in welcome.callback_data
    intro = await user.click("report:start")
    assert "report:chan:whatsapp" in intro.callback_data
    assert await draft_of(running_bot, user) is not None


async def test_a_checked_offer_is_reported_with_its_text_origin_signs_and_contacts(
        running_bot, fake_api: FakeTelegramServer, alerts):
    user = FakeUser(fake_api, "Sam", language_code="en")
    svc = running_bot.services
    svc.memory.setdefault("offer_checks", {})["c7f3"] = {
        "user_key": svc.user_key(user.id), "text": "Work in Russia! $3000/month + passport. Write @hr_agent",
        "signs": ["high_salary", "citizenship"], "contacts": ["@hr_agent"], "forward_origin_type": "user",
        "forward_origin": "@hr_agent · HR · id 5550001", "language": "en"}
    await user.ask("/start")
    query = await user.press_data("check:report:c7f3")
    intro = await user.wait_reply()
    assert "report:chan:telegram" in intro.callback_data
    for step in ("channel", "offers", "country"):
        reply = await user.click(f"report:next:{step}")
    assert "@hr_agent" in reply.text  # the recruiter step shows the contacts the check found
    reply = await user.click("report:next:recruiter")
    assert "report:next:description" in reply.callback_data  # skippable: the offer says something
    await user.click("report:next:description")
    await user.click("report:next:evidence")
    await user.click("report:next:about")
    review = await user.click("report:contact:no")
    assert "Work in Russia" in review.text
    await user.click(submit_data(review))
    [row] = await rows(running_bot)
    assert (row["source"], row["forwarded_text"], row["forward_origin_type"], row["forward_origin"],
            json.loads(row["signs"]), json.loads(row["contacts_found"]), row["description"]) == (
        "forward", "Work in Russia! $3000/month + passport. Write @hr_agent", "user", "@hr_agent · HR · id 5550001",
        ["high_salary", "citizenship"], ["@hr_agent"], "")
    assert fake_api.callback_queries[query].answered


async def test_a_checked_offer_that_expired_or_is_someone_elses_starts_a_normal_report(
        running_bot, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam")
    svc = running_bot.services
    svc.memory.setdefault("offer_checks", {})["theirs"] = {"user_key": "f" * 32, "text": "secret", "signs": [],
                                                           "contacts": [], "forward_origin_type": None,
                                                           "forward_origin": None, "language": "en"}
    await user.ask("/start")
    for check_id in ("gone", "theirs"):
        await user.press_data(f"check:report:{check_id}")
        intro = await user.wait_reply()
        assert "no longer have the offer" in intro.text and "report:chan:whatsapp" in intro.callback_data
        assert "secret" not in intro.text
        await user.ask("/cancel")
    assert await draft_of(running_bot, user) is None


async def test_a_draft_survives_restarts_at_button_and_typed_steps(start_bot, fake_api: FakeTelegramServer, alerts):
    bot = await start_bot()
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    await user.click("report:chan:tiktok")
    await user.click("report:offer:job_visa")
    await bot.stop()

    bot = await start_bot(bot.settings)
    ticked = await user.click("report:offer:study")  # a button of the message sent before the restart
    assert sum(b.text.startswith("✅") for row in ticked.buttons for b in row) == 2
    await user.click("report:next:offers")
    recruiter = await user.ask("Iraq")
    assert "report:next:recruiter" in recruiter.callback_data
    await bot.stop()

    bot = await start_bot(bot.settings)
    description = await user.ask("Sunrise Travel agency, Baghdad")  # typed: resumed as the recruiter step
    assert "report:next:description" not in description.callback_data
    await user.ask("They said the job was in a warehouse.")
    await user.click("report:next:evidence")
    await user.click("report:about:self")
    review = await user.click("report:contact:no")
    await user.click(submit_data(review))
    [row] = await rows(bot)
    assert (row["channel"], json.loads(row["offers"]), row["country"], row["recruiter_contact"], row["description"]) \
        == ("tiktok", ["job_visa", "study"], "IQ", "Sunrise Travel agency, Baghdad",
            "They said the job was in a warehouse.")
    assert len(alerts) == 1


async def test_a_redelivered_or_repeated_submit_stores_one_report(running_bot, fake_api: FakeTelegramServer, alerts):
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    await user.click("report:quick")
    review = await user.ask("An agent offered me a visa to Russia.")
    submit = submit_data(review)
    user.last_mark = fake_api.mark()
    update = fake_api.push_update("callback_query", fake_api.add_callback_query(user.json, review.json, submit))
    done = await user.wait_reply()
    reference = REFERENCE.search(done.text).group()
    await fake_api.wait_for(lambda: not fake_api.unanswered_callbacks(), what="the submit to be answered")

    # The same update again (as polling may deliver after a restart), then a second tap.
    user.last_mark = fake_api.mark()
    await running_bot.app.process_update(Update.de_json(copy.deepcopy(update), running_bot.app.bot))
    again = await user.wait_reply()
    assert REFERENCE.search(again.text).group() == reference
    await user.press_data(submit, message=done)
    again = await user.wait_reply()
    assert REFERENCE.search(again.text).group() == reference

    assert len(await rows(running_bot)) == 1
    assert len(alerts) == 1
    # Answering the redelivered query again is refused, as on Telegram (the bot ignores that);
    # nothing else may be.
    refused = fake_api.errors()
    assert [(c.method, c.params.get("callback_query_id")) for c in refused] == [
        ("answerCallbackQuery", update["callback_query"]["id"])]
    assert running_bot.error_records == []
    running_bot.expect_errors = True


async def test_the_database_keeps_no_raw_id_or_name_of_a_reporter_who_did_not_consent(
        start_bot, fake_api: FakeTelegramServer, alerts):
    bot = await start_bot()
    user = FakeUser(fake_api, "Alicia", id=918273645, username="reporter_alice", last_name="Zedd", language_code="en")
    await user.ask("/start")
    await user.ask("/report")
    await user.click("report:chan:telegram")
    await user.click("report:next:offers")
    await user.ask("Jordan")
    await user.ask("@recruiter_x")
    await user.ask("They offered me money to go to Russia.")
    await user.forward("Come to Russia", FakeUser(fake_api, "Recruiter", username="recruiter_x"))
    await user.wait_reply()
    await user.forward("my own earlier message", origin_user(user))  # the reporter's own words: no id kept
    await user.wait_reply()
    await user.send_photo("proof")
    await user.wait_reply()
    await user.click("report:next:evidence")
    await user.click("report:about:self")
    review = await user.click("report:contact:no")
    await user.click(submit_data(review))
    await user.ask("/myreports")

    # A second reporter, who agrees to be contacted: their chat id must be found (the scan works).
    consenting = FakeUser(fake_api, "Bilal", id=918273646)
    await consenting.ask("/report")
    await consenting.click("report:quick")
    review = await consenting.ask("A recruiter called me.")
    await consenting.click("report:edit:details")
    for step in ("channel", "offers", "country", "recruiter", "evidence", "about"):
        await consenting.click(f"report:next:{step}")
    review = await consenting.click("report:contact:yes")
    await consenting.click(submit_data(review))

    attachments = json.loads((await rows(bot))[0]["attachments"])
    assert attachments[1] == {"kind": "text", "text": "my own earlier message"}

    def scan() -> bytes:
        path = Path(bot.settings.database_path)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    secrets = [b"918273645", b"reporter_alice", b"Alicia", b"Zedd", (918273645).to_bytes(4, "big")]
    data = scan()
    assert Path(f"{bot.settings.database_path}-wal").exists()
    assert [s for s in secrets if s in data] == []
    assert (918273646).to_bytes(4, "big") in data or b"918273646" in data
    await bot.stop()
    data = scan()
    assert [s for s in secrets if s in data] == []


async def test_myreports_lists_own_reports_and_forget_erases_everything(start_bot, fake_api: FakeTelegramServer, alerts):
    bot = await start_bot()
    user = FakeUser(fake_api, "Sam", language_code="en")
    other = FakeUser(fake_api, "Nour", language_code="ar")
    empty = await user.ask("/myreports")
    assert "no reports" in empty.text
    for who, text in ((user, "First approach by a travel agency, Amman"), (other, "عرض عمل في روسيا")):
        await who.ask("/report")
        await who.click("report:quick")
        review = await who.ask(text)
        await who.click(submit_data(review))
    listing = await user.ask("/myreports")
    [mine] = await rows(bot, "select reference from reports where reporter_key = ?", [bot.services.user_key(user.id)])
    assert mine["reference"] in listing.text and "received" in listing.text
    theirs = await other.ask("/myreports")
    assert mine["reference"] not in theirs.text and arabic_share(theirs.text) > 0.5

    await user.ask("/report")  # an unfinished draft too
    await user.click("report:chan:phone")
    confirm = await user.ask("/forget")
    assert {"report:forget:yes", "report:forget:no"} <= set(confirm.callback_data)
    kept = await user.click("report:forget:no")
    assert "Nothing was erased" in kept.text
    assert len(await rows(bot)) == 2
    confirm = await user.ask("/forget")
    done = await user.click("report:forget:yes")
    assert "Reports: 1" in done.text and "unfinished report" in done.text

    key = bot.services.user_key(user.id)
    tables = await bot.services.store.run(lambda db: {t: set(db[t].columns_dict) for t in db.table_names()})
    for table, columns in tables.items():
        for column in ("user_key", "reporter_key"):
            if column in columns:
                assert await rows(bot, f"select * from [{table}] where [{column}] = ?", [key]) == [], table
    assert len(await rows(bot)) == 1
    assert Path(f"{bot.settings.database_path}-wal").stat().st_size == 0  # checkpointed: nothing lingers
    path = Path(bot.settings.database_path)
    assert b"First approach by a travel agency" not in path.read_bytes()
    assert mine["reference"].encode() not in path.read_bytes()
    gone = await user.ask("/myreports")
    assert "no reports" in gone.text
    after = await user.ask("hello")
    assert "report in progress" not in after.text  # the draft went too: questions answer again
    assert fake_api.unanswered_callbacks() == []


async def test_cancel_deletes_the_draft_and_frees_the_chat(running_bot, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    reminder = await user.ask("hello?")
    assert "report in progress" in reminder.text and "report:chan:whatsapp" in reminder.callback_data
    other_command = await user.ask("/help")
    assert "report in progress" in other_command.text
    cancelled = await user.ask("/cancel")
    assert "cancelled" in cancelled.text.lower()
    assert await draft_of(running_bot, user) is None
    after = await user.ask("hello")
    assert "report in progress" not in after.text
    await fake_api.wait_idle()
    stale = await user.press_data("report:chan:whatsapp")
    assert "no report in progress" in (await user.wait_reply()).text
    await fake_api.wait_for(lambda: fake_api.callback_queries[stale].answered)


async def test_an_old_draft_expires_with_a_message(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot(draft_ttl_hours=1)
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    await user.click("report:chan:whatsapp")
    old = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    await bot.services.store.run(lambda db: db.execute("update drafts set updated_at = ?", [old]))
    expired = await user.ask("Jordan")
    assert "expired" in expired.text and "1 hours" in expired.text
    assert await draft_of(bot, user) is None
    after = await user.ask("hello")
    assert "report in progress" not in after.text and "expired" not in after.text


async def test_reports_are_rate_limited_per_user(start_bot, fake_api: FakeTelegramServer, alerts):
    bot = await start_bot(report_rate_per_hour=1)
    user, other = FakeUser(fake_api, "Sam"), FakeUser(fake_api, "Nour")
    await user.ask("/report")
    await user.click("report:quick")
    review = await user.ask("first")
    await user.click(submit_data(review))
    limited = await user.ask("/report")
    assert "1 report in the last hour" in limited.text and "minute" in limited.text
    assert await draft_of(bot, user) is None
    assert "report:chan:whatsapp" in (await other.ask("/report")).callback_data


async def test_limits_on_text_and_attachments_are_said_plainly(running_bot, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam")
    await user.ask("/report")
    await user.click("report:quick")
    too_long = await user.ask("x" * 3001)
    assert "3,001" in too_long.text and "3,000" in too_long.text
    assert (await draft_of(running_bot, user)).state == reports.QUICK
    review = await user.ask("x" * 3000)
    await user.click("report:edit:details")
    for step in ("channel", "offers", "country", "recruiter"):
        await user.click(f"report:next:{step}")
    for i in range(reports.MAX_ATTACHMENTS):
        await user.send_photo(f"photo {i}")
        await user.wait_reply()
    full = await user.send_photo("one too many")
    reply = await user.wait_reply()
    assert "10" in reply.text and "nothing more was added" in reply.text
    assert len((await draft_of(running_bot, user)).data["attachments"]) == reports.MAX_ATTACHMENTS
    await user.click("report:next:evidence")
    await user.click("report:next:about")
    review = await user.click("report:contact:no")
    assert len(review.text) < 4096
    await user.click("report:edit:recruiter")
    too_long = await user.ask("r" * 201)
    assert "201" in too_long.text and "200" in too_long.text


async def test_in_a_group_reports_are_sent_to_a_private_chat(running_bot, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam")
    group = FakeGroup(fake_api, "Neighbours")
    await user.send("/report", chat=group)
    reply = await user.wait_reply(chat=group)
    assert [b.url for row in reply.buttons for b in row] == ["https://t.me/fake_test_bot?start=report"]
    assert await draft_of(running_bot, user) is None


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_every_step_renders_valid_html_in_both_languages(lang):
    svc = SimpleNamespace(renderer=Renderer())
    data = reports.empty_data(lang)
    letter = "ع" if lang == "ar" else "d"
    data.update(channel="agency", offers=["money", "land"], country="Nepal", recruiter_contact="<@x & y>",
                description=letter * 3000, forwarded_text=letter * 4096, forward_origin_type="channel",
                forward_origin="<Chan> · @chan", contacts_found=["@a", "+962 7"],
                attachments=[{"kind": "photo", "file_id": "P"}], about="other", contact_ok=True)
    steps = [reports.CHANNEL, reports.OFFERS, reports.COUNTRY, reports.RECRUITER, reports.DESCRIPTION,
             reports.QUICK, reports.EVIDENCE, reports.ABOUT, reports.CONTACT, reports.REVIEW]
    for state in steps:
        for source in ("guided", "quick"):
            draft = Draft("k" * 32, "d" * 16, state, dict(data, source=source), "2026-11-23T12:00:00+00:00",
                          "2026-11-23T12:00:00+00:00")
            reply = report_flow.step_reply(svc, draft, svc.renderer.html(lang, "report/reminder"), intro=True)
            assert html_problems(reply.text) == [], (state, source)
            if lang == "ar":
                assert arabic_share(reply.text) > 0.5, (state, reply.text)
            for row in reply.buttons:
                for button in row:
                    assert 0 < len(button.label) <= 64
    for key, ctx in [("report/submitted", {"reference": "R-2345-6789", "contact_ok": None}),
                     ("report/rate_limited", {"limit": 5, "minutes": 12, "kept": True}),
                     ("report/too_long", {"limit": 3000, "length": 3001}),
                     ("report/evidence_added", {"count": 2, "limit": 10, "step": "evidence"}),
                     ("report/too_many", {"limit": 10}), ("report/expired", {"hours": 24}),
                     ("report/myreports", {"reports": [{"reference": "R-2345-6789", "date": "2026-11-23",
                                                        "status": s} for s in ("new", "in_review", "escalated",
                                                                               "closed", "odd")]}),
                     ("report/forget_done", {"reports": 2, "drafts": 1, "settings": 1, "subscriptions": 1, "other": 3}),
                     ("report/forget_done", {"reports": 0, "drafts": 0, "settings": 0, "subscriptions": 0, "other": 0})]:
        text = svc.renderer.html(lang, key, **ctx)
        assert html_problems(text) == [], key


async def test_a_checked_offer_joins_the_report_in_progress(start_bot, fake_api: FakeTelegramServer, alerts):
    bot = await start_bot()
    user = FakeUser(fake_api, "Sam")
    svc = bot.services
    offer = {"user_key": svc.user_key(user.id), "text": "Earn big in Russia", "signs": ["high_salary"],
             "contacts": ["+7 900 000 00 00"], "forward_origin_type": "hidden_user", "forward_origin": "Hidden HR",
             "language": "en"}
    svc.memory.setdefault("offer_checks", {}).update(first=offer, second=dict(offer, text="Second offer",
                                                                              signs=["passport"]))
    await user.ask("/report")
    await user.click("report:chan:telegram")
    checked = await user.ask("/start")  # stands for the message under which the offers feature shows "Report it"
    await user.press_data("check:report:first", message=checked)  # in memory
    added = await user.wait_reply()
    assert "added to your report" in added.text and "report:offer:money" in added.callback_data
    await bot.stop()
    bot = await start_bot(bot.settings)
    bot.services.memory["offer_checks"] = svc.memory["offer_checks"]
    await user.press_data("check:report:second", message=checked)  # resumed after a restart
    added = await user.wait_reply()
    assert "added to your report" in added.text
    await user.press_data("check:report:forgotten", message=checked)
    assert "no longer have the offer" in (await user.wait_reply()).text
    draft = await draft_of(bot, user)
    assert (draft.state, draft.data["forwarded_text"], draft.data["forward_origin"], draft.data["signs"],
            draft.data["contacts_found"], draft.data["attachments"]) == (
        reports.OFFERS, "Earn big in Russia", "Hidden HR", ["high_salary", "passport"], ["+7 900 000 00 00"],
        [{"kind": "forward", "text": "Second offer", "origin_type": "hidden_user", "origin": "Hidden HR"}])
    assert not checked.edited  # another feature's message is left as it is
    await fake_api.wait_for(lambda: not fake_api.unanswered_callbacks(), what="every button to be answered")


async def test_logs_hold_no_id_name_or_report_text(running_bot, fake_api: FakeTelegramServer, caplog, alerts):
    caplog.set_level(logging.INFO)
    user = FakeUser(fake_api, "Layla", id=918273699, username="layla_reports", language_code="en")
    await user.ask("/report")
    await user.click("report:chan:whatsapp")
    await user.click("report:next:offers")
    await user.ask("Jordan")
    await user.ask("@secret_recruiter")
    await user.ask("A very private description of what happened.")
    await user.forward("Join the army, big money", "Hidden Recruiter")
    await user.wait_reply()
    await user.click("report:next:evidence")
    await user.click("report:about:self")
    review = await user.click("report:contact:yes")
    done = await user.click(submit_data(review))
    reference = REFERENCE.search(done.text).group()
    await user.ask("/forget")
    await user.click("report:forget:yes")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "report" in logged  # the flow does log, without saying who or what
    for secret in ("918273699", "layla_reports", "Layla", "secret_recruiter", "very private", "Join the army",
                   "Hidden Recruiter", reference):
        assert secret not in logged, secret
