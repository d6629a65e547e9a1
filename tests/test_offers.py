"""Offer checks through the real Application and the fake Bot API: every way in, the answer, memory.

A forwarded message, `/check TEXT`, `/check` then the text, the `check:start` button, a pasted
offer (asked first), a photo's caption; an offer with no sign; dismissing; "report it" handing the
check to the report conversation; and nothing of a checked text reaching the database.
"""

from __future__ import annotations

import sqlite3

from fakeapi.users import FakeChannel, FakeGroup, FakeUser, origin_hidden_user

from bot.i18n import Renderer
from bot.knowledge import default_knowledge
from bot.offers import check_reply
from bot.signs import CHECKS_KEY, PENDING_KEY, CheckResult, default_catalogue

RECRUITER_POST = """🇷🇺 OFFICIAL CONTRACT WITH THE RUSSIAN MINISTRY OF DEFENCE 🇷🇺
Salary from 200,000 rubles per month + one-time sign-up bonus 1,000,000 rubles.
Russian citizenship for you and your family after 1 year.
We handle everything: ticket, documents, accommodation. Marker-ZQX-41.
No experience needed. Write now, places are limited: @recruit_rus_mod or +7 915 234 5678"""

ARABIC_OFFER = ("اخوان اكو فرصة عمل بروسيا، عقد ويه الجيش الروسي سنة وحدة، المعاش 3500 دولار، والجنسية بعد العقد. "
                "نطلعلك فيزا سياحية من مكتبنا ببغداد وكلشي علينا. راسلني خاص تلكرام @iraq_ru_work")

HARMLESS_AD = ("Hiring: Sales representative in Amman, Abdali. Salary 450 JD + commission. Experience 2 years. "
               "Send CV to jobs@alnoor.jo")


def _checks(harness) -> dict:
    return harness.services.memory.get(CHECKS_KEY, {})


async def test_forwarded_offer_lists_signs_verdict_contacts_and_buttons(running_bot, fake_api):
    user = FakeUser(fake_api, "Omar")
    channel = FakeChannel(fake_api, "Jobs Abroad 24", username="jobs_abroad_24")
    await user.forward(RECRUITER_POST, origin=channel)
    reply = await user.wait_reply()

    assert reply.text.startswith("⚠️ This offer shows 8 of the warning signs")
    assert "It may be a recruitment attempt" in reply.text
    lines = reply.text.splitlines()
    # Most serious first: the Russian army before the contract, before citizenship, before money.
    order = [next(i for i, line in enumerate(lines) if label in line) for label in (
        "The Russian army or Ministry of Defence", "A military contract", "Russian citizenship", "Large pay")]
    assert order == sorted(order)
    assert "3,300" in reply.text  # a reason from the facts
    assert "News report:" in reply.text  # the source document's title
    assert "@recruit_rus_mod" in reply.text and "+79152345678" in reply.text
    assert "report any approaches" in reply.text
    data = reply.callback_data
    check_id = data[0].removeprefix("check:report:")
    assert data == [f"check:report:{check_id}", "menu:topics", f"check:dismiss:{check_id}"]

    check = _checks(running_bot)[check_id]
    assert set(check) == {"user_key", "text", "signs", "contacts", "forward_origin_type", "forward_origin",
                          "language", "created_at"}
    assert check["user_key"] == running_bot.services.user_key(user.id)
    assert check["text"] == RECRUITER_POST
    assert check["signs"][:2] == ["russian_army", "military_contract"]
    assert check["contacts"] == ["@recruit_rus_mod", "+79152345678"]
    assert check["forward_origin_type"] == "channel"
    assert "Jobs Abroad 24" in check["forward_origin"] and "@jobs_abroad_24" in check["forward_origin"]
    assert check["language"] == "en"


async def test_forward_from_a_hidden_user_keeps_the_shown_name(running_bot, fake_api):
    user = FakeUser(fake_api, "Omar")
    await user.forward(ARABIC_OFFER, origin=origin_hidden_user("Abu Ali Travel"))
    reply = await user.wait_reply()
    assert "قد يكون محاولة تجنيد" in reply.text
    check = next(iter(_checks(running_bot).values()))
    assert (check["forward_origin_type"], check["forward_origin"]) == ("hidden_user", "Abu Ali Travel")
    assert check["language"] == "ar"


async def test_an_arabic_offer_forwarded_by_an_english_writer_is_explained_in_english(running_bot, fake_api):
    user = FakeUser(fake_api, "Sam", language_code="ar")
    await user.send("how many foreign fighters were killed?")
    await user.wait_replies(2)  # the answer, then the one-time offer to subscribe
    await user.forward(ARABIC_OFFER, origin=origin_hidden_user("Abu Ali Travel"))
    reply = await user.wait_reply()
    assert "may be a recruitment attempt" in reply.text
    assert "@iraq_ru_work" in reply.text


async def test_forwarded_message_without_text_can_still_be_reported(running_bot, fake_api):
    user = FakeUser(fake_api, "Omar")
    await user.forward({"sticker": {"file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1,
                                    "height": 1, "is_animated": False, "is_video": False}},
                       origin=origin_hidden_user("Recruiter"))
    reply = await user.wait_reply()
    assert "no text I can check" in reply.text
    assert reply.callback_data[0].startswith("check:report:")


async def test_check_command_with_text_answers_in_the_offers_language(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali", language_code="en")
    reply = await user.ask("/check " + ARABIC_OFFER)
    assert "قد يكون محاولة تجنيد" in reply.text
    assert "الجيش الروسي أو وزارة الدفاع" in reply.text
    assert "@iraq_ru_work" in reply.text
    closed = await user.click(reply.callback_data[-1])  # the buttons under it answer in Arabic too
    assert "لم أحتفظ بشيء" in closed.text


async def test_a_check_by_command_has_no_origin(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.ask("/check " + ARABIC_OFFER)
    check = next(iter(_checks(running_bot).values()))
    assert check["forward_origin_type"] is None and check["forward_origin"] is None
    assert check["text"] == ARABIC_OFFER


async def test_a_chosen_language_wins_over_the_offers(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali", language_code="ar")
    await user.ask("/language")
    await user.click("lang:set:en")
    reply = await user.ask("/check " + ARABIC_OFFER)
    assert "It may be a recruitment attempt" in reply.text


async def test_check_then_the_text_in_the_next_message(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    prompt = await user.ask("/check")
    assert "Send me the offer" in prompt.text
    reply = await user.ask("Security guard job in Russia, 3000$ salary, passport after 6 months. Free ticket.")
    assert "It may be a recruitment attempt" in reply.text
    # The waiting is over: the next short message is a question again.
    answer = await user.ask("hello")
    assert "Welcome" in answer.text and "Check it for" not in answer.text


async def test_check_button_waits_for_the_offer(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.ask("/start")
    prompt = await user.click("check:start")
    assert "Send me the offer" in prompt.text
    reply = await user.ask(RECRUITER_POST)
    assert "It may be a recruitment attempt" in reply.text


async def test_cancel_stops_waiting(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.ask("/check")
    reply = await user.ask("/cancel")
    assert "no longer waiting" in reply.text
    answer = await user.ask("Security guard job in Russia, 3000$ salary")
    assert "It may be a recruitment attempt" not in answer.text


async def test_waiting_for_text_asks_again_for_a_sticker(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.ask("/check")
    await user.send_sticker()
    reply = await user.wait_reply()
    assert "only check text" in reply.text
    reply = await user.ask(RECRUITER_POST)
    assert "It may be a recruitment attempt" in reply.text


async def test_pasted_offer_is_checked_only_after_yes(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    question = await user.ask(RECRUITER_POST)
    assert "Check it for the warning signs" in question.text
    assert [d.split(":")[1] for d in question.callback_data] == ["yes", "no"]
    assert _checks(running_bot) == {}  # nothing checked yet
    yes = question.callback_data[0]
    result = await user.click(yes)
    assert "It may be a recruitment attempt" in result.text
    assert result.edited and result.message_id == question.message_id
    # The same button again (an old copy of the message): the pasted text is gone.
    query_id = await user.press_data(yes, message=result)
    stale = await user.wait_reply()
    await fake_api.wait_answered(query_id)
    assert "no longer available" in stale.text


async def test_pasted_text_answered_as_a_question_after_no(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    text = ("My brother got this: work in Moscow as a driver, 2500$ a month, free flight, tourist visa "
            "from the office. He wants to go next week. What happens to people who go, how many were "
            "killed, and who can we tell about this office")
    question = await user.ask(text)
    assert "Check it for the warning signs" in question.text
    answer = await user.click(question.callback_data[1])
    assert "Check it for" not in answer.text
    assert _checks(running_bot) == {}
    assert running_bot.services.memory[PENDING_KEY] == {}  # the pasted text is not kept


async def test_short_question_is_not_taken_for_an_offer(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    answer = await user.ask("Does Russia really give citizenship and a salary to people who join its army?")
    assert "Check it for" not in answer.text and "It may be a recruitment attempt" not in answer.text


async def test_photo_caption_is_checked(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.send_photo(caption=ARABIC_OFFER)
    reply = await user.wait_reply()
    assert "قد يكون محاولة تجنيد" in reply.text


async def test_offer_without_signs_says_so_and_can_be_reported(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    reply = await user.ask("/check " + HARMLESS_AD)
    assert "none of the warning signs" in reply.text
    assert "does not mean the offer is safe" in reply.text
    assert "jobs@alnoor.jo" in reply.text
    assert reply.callback_data[0].startswith("check:report:")


async def test_dismiss_forgets_the_check(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    reply = await user.ask("/check " + RECRUITER_POST)
    check_id = reply.callback_data[0].removeprefix("check:report:")
    assert check_id in _checks(running_bot)
    closed = await user.click(f"check:dismiss:{check_id}")
    assert "Nothing from this check was kept" in closed.text
    assert check_id not in _checks(running_bot)


async def test_report_it_opens_the_report_prefilled(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    reply = await user.ask("/check " + RECRUITER_POST)
    opened = await user.click(reply.callback_data[0])
    assert "no longer have the offer" not in opened.text
    assert "no longer available" not in opened.text


async def test_someone_elses_report_button_does_not_open_the_check(running_bot, fake_api):
    owner, other = FakeUser(fake_api, "Ali"), FakeUser(fake_api, "Sami")
    reply = await owner.ask("/check " + RECRUITER_POST)
    await other.press_data(reply.callback_data[0], message=reply)
    await fake_api.wait_idle()
    said = " ".join(m.text or "" for m in fake_api.outputs(other.id, after=other.last_mark))
    assert "Marker-ZQX-41" not in said and "recruit_rus_mod" not in said


async def test_forged_and_stale_check_buttons_are_answered(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.ask("/check " + HARMLESS_AD)
    for data in ("check:yes:nothing", "check:bogus", "check:dismiss:unknown1"):
        query_id = await user.press_data(data)
        await fake_api.wait_answered(query_id)


async def test_check_in_a_group_replying_to_a_post(running_bot, fake_api):
    user, recruiter = FakeUser(fake_api, "Ali"), FakeUser(fake_api, "Recruiter", username="ru_jobs_boss")
    group = FakeGroup(fake_api, "Amman jobs")
    post = await recruiter.send(RECRUITER_POST, chat=group)
    await user.send("/check", chat=group, reply_to=post)
    reply = await user.wait_reply(chat=group)
    assert "It may be a recruitment attempt" in reply.text
    check = next(iter(_checks(running_bot).values()))
    assert check["forward_origin_type"] == "user" and "@ru_jobs_boss" in check["forward_origin"]


async def test_checked_text_never_reaches_the_database(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    await user.forward(RECRUITER_POST, origin=origin_hidden_user("X"))
    await user.wait_reply()
    await user.ask("/check " + RECRUITER_POST)
    await fake_api.wait_idle()
    path = running_bot.settings.database_path
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    for file in path.parent.glob(path.name + "*"):
        assert b"Marker-ZQX-41" not in file.read_bytes()


async def test_user_text_in_contacts_is_escaped(running_bot, fake_api):
    user = FakeUser(fake_api, "Ali")
    reply = await user.ask("/check <b>Russian army</b> contract, 3000$ a month, see https://x.ru/a?b=<i>&c=2 now")
    assert "https://x.ru/a?b=" in reply.text  # shown as written; the fake API refused no HTML


def test_long_answers_stay_under_telegram_limit():
    catalogue = default_catalogue()
    contacts = tuple(f"@recruiter_number_{i:04d}" for i in range(400))
    result = CheckResult(signs=catalogue.signs, contacts=contacts, verdict="likely")
    for lang in ("en", "ar"):
        reply = check_reply(default_knowledge(), Renderer(), result, lang, "abcdEFGH123")
        assert len(reply.text) <= 4096
        assert "@recruiter_number_0000" in reply.text
        assert ("more" in reply.text) if lang == "en" else ("غيرها" in reply.text)
        assert all(len(b.data.encode()) <= 64 for row in reply.buttons for b in row)
