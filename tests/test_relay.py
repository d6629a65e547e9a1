"""Two-way relay between admins and a consenting reporter, through the real Application."""

from __future__ import annotations

import pytest

from bot.alerts import send_new_report_alert
from fakeapi.users import FakeGroup, FakeUser
from test_admin_handlers import add_report, rows

ADMIN = 5_200_001


@pytest.fixture
def admin_group(fake_api):
    return FakeGroup(fake_api, "Admins")


@pytest.fixture
async def bot(start_bot, admin_group):
    return await start_bot(admin_ids={ADMIN}, admin_chat_id=admin_group.id)


@pytest.fixture
def admin(fake_api):
    return FakeUser(fake_api, "Rania Admin", id=ADMIN, username="rania_admin")


@pytest.fixture
def reporter(fake_api):
    return FakeUser(fake_api, "Omar Reporter", username="omar_reporter", language_code="ar")


async def consenting_report(bot, reporter, n=1, language="ar"):
    key = bot.services.user_key(reporter.id)
    return await add_report(bot, n, reporter_key=key, language=language, contact_ok=1, contact_chat_id=reporter.id)


def assert_no_identity(text: str, *people: FakeUser) -> None:
    for person in people:
        assert str(person.id) not in text
        assert person.first_name not in text
        assert person.json.get("username", "@@") not in text


async def test_reply_command_reaches_the_reporter_in_their_language(bot, fake_api, admin, reporter):
    await consenting_report(bot, reporter)
    await admin.command("/reply R-0001 Can you send us the recruiter's number?")
    assert "R-0001" in (await admin.wait_reply()).text
    relayed = fake_api.last_message(reporter.id)
    assert "R-0001" in relayed.text and "Can you send us the recruiter's number?" in relayed.text
    assert "رسالة من الفريق" in relayed.text
    assert_no_identity(relayed.text, admin)
    assert relayed.callback_data == [f"relay:ans:1"]
    assert [(r["admin_id"], r["action"], r["target"], r["detail"]) for r in await rows(bot, "select * from audit")] == [
        (ADMIN, "reply", "1", "sent")]


async def test_the_reporters_answer_reaches_the_admin_chat_tagged_and_anonymous(bot, fake_api, admin, reporter,
                                                                                 admin_group):
    await consenting_report(bot, reporter)
    await admin.command("/reply R-0001 <b>Hello</b>")
    await admin.wait_reply()
    relayed = fake_api.last_message(reporter.id)
    assert "<b>Hello</b>" in relayed.text  # shown as typed, not as markup
    await reporter.click("relay:ans:1")
    await reporter.send("رقمه +962 7 9999 9999")
    confirmation = await reporter.wait_reply()
    assert "R-0001" in confirmation.text
    answer = fake_api.last_message(admin_group.id)
    assert "R-0001" in answer.text and "رقمه +962 7 9999 9999" in answer.text
    assert_no_identity(answer.text, reporter)
    assert answer.params.get("protect_content") is True
    # The next message is an ordinary one again (not relayed).
    mark = fake_api.mark()
    await reporter.send("hello")
    await reporter.wait_reply()
    assert fake_api.outputs(admin_group.id, after=mark) == []
    # An admin replying to the answer in the admin chat writes to the reporter again.
    await admin.send("Thank you", chat=admin_group, reply_to=answer.json)
    await fake_api.wait_for(lambda: "Thank you" in (fake_api.last_text(reporter.id) or ""))


async def test_replying_to_the_alert_and_to_the_relayed_message(bot, fake_api, admin, reporter, admin_group):
    report_id = await consenting_report(bot, reporter, language="en")
    await send_new_report_alert(bot.app.bot, bot.services, report_id)
    alert = fake_api.last_message(admin_group.id)
    await admin.send("Are you safe?", chat=admin_group, reply_to=alert.json)
    await fake_api.wait_for(lambda: "Are you safe?" in (fake_api.last_text(reporter.id) or ""))
    relayed = fake_api.last_message(reporter.id)
    assert "A message from the team" in relayed.text
    await reporter.send("Yes, thank you", reply_to=relayed.json)
    await fake_api.wait_for(lambda: "Yes, thank you" in (fake_api.last_text(admin_group.id) or ""))


async def test_relaying_is_impossible_without_consent(bot, fake_api, admin, reporter):
    await add_report(bot, 1, reporter_key=bot.services.user_key(reporter.id), contact_ok=0, contact_chat_id=None)
    await admin.command("/reply R-0001 hello")
    assert "did not agree" in (await admin.wait_reply()).text
    assert fake_api.sent_messages(reporter.id) == []
    await admin.command("/reply R-9999 hello")
    assert "R-9999" in (await admin.wait_reply()).text
    await admin.command("/reply")
    assert "/reply" in (await admin.wait_reply()).text


async def test_a_reporter_who_blocked_the_bot(bot, fake_api, admin, reporter):
    await consenting_report(bot, reporter)
    reporter.block_bot()
    await admin.command("/reply R-0001 hello")
    assert "blocked the bot" in (await admin.wait_reply()).text


async def test_someone_else_cannot_answer_for_the_reporter(bot, fake_api, admin, reporter, admin_group):
    await consenting_report(bot, reporter)
    intruder = FakeUser(fake_api, "Intruder")
    await intruder.command("/start")
    await intruder.wait_reply()
    mark = fake_api.mark()
    query_id = await intruder.press_data("relay:ans:1")
    await fake_api.wait_for(lambda: fake_api.callback_queries[query_id].answered)
    await intruder.send("I am the reporter, trust me")
    await intruder.wait_reply()  # answered as an ordinary question
    await fake_api.wait_idle()
    assert fake_api.outputs(admin_group.id, after=mark) == []


async def test_a_non_admin_in_the_admin_chat_cannot_relay(bot, fake_api, reporter, admin_group):
    report_id = await consenting_report(bot, reporter)
    await send_new_report_alert(bot.app.bot, bot.services, report_id)
    alert = fake_api.last_message(admin_group.id)
    member = FakeUser(fake_api, "Member")
    mark = fake_api.mark()
    await member.send("hi reporter", chat=admin_group, reply_to=alert.json)
    await member.command("/reply R-0001 hi", chat=admin_group)
    await fake_api.wait_idle()
    assert fake_api.outputs(after=mark) == []
    assert await rows(bot, "select * from audit") == []


async def test_cancelling_an_answer(bot, fake_api, admin, reporter, admin_group):
    await consenting_report(bot, reporter)
    await admin.command("/reply R-0001 hello")
    await admin.wait_reply()
    await reporter.click("relay:ans:1")
    await reporter.click("relay:cancel")
    mark = fake_api.mark()
    await reporter.send("just a question about Russia")
    await reporter.wait_reply()
    assert fake_api.outputs(admin_group.id, after=mark) == []


async def test_without_an_admin_chat_answers_go_to_each_admin(start_bot, fake_api, reporter):
    admin = FakeUser(fake_api, "Solo Admin", id=5_200_009)
    bot = await start_bot(admin_ids={admin.id})
    await consenting_report(bot, reporter)
    await admin.command("/reply R-0001 hello")
    await admin.wait_reply()
    await reporter.click("relay:ans:1")
    await reporter.send("my answer")
    await reporter.wait_reply()
    await fake_api.wait_for(lambda: "my answer" in (fake_api.last_text(admin.id) or ""))
    # The admin replies to the answer in their private chat.
    answer = fake_api.last_message(admin.id)
    await admin.send("got it", reply_to=answer.json)
    await fake_api.wait_for(lambda: "got it" in (fake_api.last_text(reporter.id) or ""))


async def test_from_a_real_report_to_an_answer_and_back(bot, fake_api, admin, admin_group):
    """A guided Arabic report with consent: alert, an admin's reply to it, the reporter's answer."""
    reporter = FakeUser(fake_api, "Khalid Secret", username="khalid_secret", language_code="ar")
    await reporter.ask("/report")
    await reporter.click("report:chan:telegram")
    await reporter.click("report:offer:job_visa")
    await reporter.click("report:next:offers")
    await reporter.click("report:country:JO")
    await reporter.click("report:next:recruiter")
    await reporter.ask("عرض عليّ شخص عملًا حارسًا في روسيا، وطلب صورة جواز سفري.")
    await reporter.click("report:next:evidence")
    await reporter.click("report:about:self")
    review = await reporter.click("report:contact:yes")
    submit = next(d for d in review.callback_data if d.startswith("report:submit:"))
    await reporter.click(submit)
    await fake_api.wait_for(lambda: fake_api.last_message(admin_group.id) is not None)
    alert = fake_api.last_message(admin_group.id)
    (report,) = await rows(bot, "select id, reference from reports")
    assert report["reference"] in alert.text and "Telegram" in alert.text and "جواز سفري" in alert.text
    assert_no_identity(alert.text, reporter)
    await admin.send("Please stop answering them. Are you safe?", chat=admin_group, reply_to=alert.json)
    await fake_api.wait_for(lambda: "Are you safe?" in (fake_api.last_text(reporter.id) or ""))
    relayed = fake_api.last_message(reporter.id)
    assert report["reference"] in relayed.text and "رسالة من الفريق" in relayed.text
    assert_no_identity(relayed.text, admin)
    await reporter.click(f"relay:ans:{report['id']}")
    await reporter.send("نعم، أنا بخير وشكرًا")
    await fake_api.wait_for(lambda: "أنا بخير" in (fake_api.last_text(admin_group.id) or ""))
    answer = fake_api.last_message(admin_group.id)
    assert report["reference"] in answer.text
    assert_no_identity(answer.text, reporter)
