"""End to end: the real bot, polling the local fake Bot API, as a user sees it.

Exact wordings are others' to write and change, so these assert on structure: the fake server
accepted every message (valid HTML, under the limits, or the test fails at teardown), buttons
are there, Arabic answers are in Arabic.
"""

from __future__ import annotations

import pytest

from fakeapi.text import ARABIC_LETTER, arabic_share
from fakeapi import FakeTelegramServer, FakeUser
from fakeapi.harness import PROJECT_ROOT, BotHarness

pytestmark = pytest.mark.e2e



def assert_accepted_html(message) -> None:
    """The bot sent HTML the fake server parsed, and the user sees some text."""
    assert message.parse_mode == "HTML"
    assert message.text and message.text.strip()


async def test_start_shows_a_welcome_with_topic_buttons(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    await user.command("/start")
    welcome = await user.wait_reply()
    assert_accepted_html(welcome)
    topics = [data for data in welcome.callback_data if data.startswith("topic:")]
    assert len(topics) >= 2, welcome.callback_data
    assert all(len(data.encode()) <= 64 for data in welcome.callback_data)
    # The command menu was set at start-up, in both languages.
    assert fake_api.commands_for(None, "")
    assert fake_api.commands_for(None, "ar")


async def test_pressing_a_topic_button_answers_it(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    await user.command("/start")
    welcome = await user.wait_reply()
    topic = next(data for data in welcome.callback_data if data.startswith("topic:"))
    answer = await user.click(topic)
    assert_accepted_html(answer)
    assert answer.message_id != welcome.message_id or answer.edited
    assert answer.text != welcome.text
    assert answer.buttons, "an answer offers what to do next"
    assert fake_api.unanswered_callbacks() == []


async def test_a_deep_link_opens_its_topic(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    topic_id = next(iter(running_bot.services.knowledge.topics))
    await user.command("/start", f"topic_{topic_id}")
    answer = await user.wait_reply()
    assert_accepted_html(answer)
    await user.command("/start")
    welcome = await user.wait_reply()
    assert answer.text != welcome.text


async def test_an_english_question_gets_an_english_answer(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    topic = next(t for t in running_bot.services.knowledge.topics.values() if t.examples.get("en"))
    answer = await user.ask(topic.examples["en"][0])
    assert_accepted_html(answer)
    assert arabic_share(answer.text) < 0.2, answer.text
    assert answer.buttons


async def test_an_arabic_question_gets_an_arabic_answer(running_bot: BotHarness, fake_api: FakeTelegramServer):
    # Telegram's app language says English: the question's script must win.
    user = FakeUser(fake_api, "Omar", language_code="en")
    topic = next(t for t in running_bot.services.knowledge.topics.values() if t.examples.get("ar"))
    answer = await user.ask(topic.examples["ar"][0])
    assert_accepted_html(answer)
    assert arabic_share(answer.text) > 0.6, answer.text
    assert any(ARABIC_LETTER.search(label) for label in answer.button_texts), answer.button_texts


async def test_arabic_app_language_gets_an_arabic_welcome(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Omar", language_code="ar")
    await user.command("/start")
    welcome = await user.wait_reply()
    assert_accepted_html(welcome)
    assert arabic_share(welcome.text) > 0.6, welcome.text


async def test_an_unknown_command_gets_the_unknown_command_text(running_bot: BotHarness,
                                                                 fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    expected = running_bot.services.renderer.html("en", "common/unknown_command")
    reply = await user.ask("/nosuchcommand")
    assert_accepted_html(reply)
    assert reply.html == expected


async def test_many_users_at_once_each_get_their_answer(running_bot: BotHarness, fake_api: FakeTelegramServer):
    users = [FakeUser(fake_api, f"User {i}", language_code="ar" if i % 2 else "en") for i in range(8)]
    for user in users:
        await user.command("/start")
    for user in users:
        welcome = await user.wait_reply()
        assert welcome.callback_data
        assert (arabic_share(welcome.text) > 0.6) == (user.language_code == "ar")


@pytest.mark.skipif(not (PROJECT_ROOT / "bot" / "cli.py").exists(), reason="bot/cli.py (python -m bot run) not written yet")
async def test_the_real_process_answers_over_http(fake_api: FakeTelegramServer, bot_process):
    process = bot_process()
    # The process is up once it has set its command menu.
    await fake_api.wait_for(lambda: fake_api.calls_to("setMyCommands", ok=True) or process.returncode is not None,
                            timeout=20, what="the bot process to start")
    assert process.returncode is None, process.output()
    user = FakeUser(fake_api, "Sam", language_code="en")
    await user.command("/start")
    welcome = await user.wait_reply(timeout=10)
    assert welcome.parse_mode == "HTML" and welcome.buttons
    code = await process.stop()
    assert code == 0, process.output()
    output = process.output()
    assert fake_api.token not in output and fake_api.token.split(":")[1] not in output
    assert fake_api.errors() == [], fake_api.errors()


@pytest.mark.parametrize("language_code", ["en", "ar"])
async def test_every_topic_answer_is_accepted(running_bot: BotHarness, fake_api: FakeTelegramServer, language_code):
    """Every topic's answer, in both languages, is HTML Telegram accepts, under 4,096 characters."""
    user = FakeUser(fake_api, "Reader", language_code=language_code)
    for topic_id in running_bot.services.knowledge.topics:
        await user.command("/start", f"topic_{topic_id}")
        answer = await user.wait_reply()
        assert_accepted_html(answer)
        assert (arabic_share(answer.text) > 0.6) == (language_code == "ar"), (topic_id, answer.text[:80])


@pytest.mark.parametrize("command", [
    "help", "sources", "language", "report", "myreports", "subscribe", "unsubscribe", "forget",
    "check",
    "cancel",
])
async def test_every_public_command_answers(running_bot: BotHarness, fake_api: FakeTelegramServer, command):
    user = FakeUser(fake_api, "Sam", language_code="en")
    reply = await user.ask(f"/{command}")
    assert_accepted_html(reply)
    unknown = running_bot.services.renderer.html("en", "common/unknown_command")
    assert reply.html != unknown, f"/{command} is answered as an unknown command"


async def test_language_can_be_switched_with_buttons_alone(running_bot: BotHarness, fake_api: FakeTelegramServer):
    user = FakeUser(fake_api, "Sam", language_code="en")
    await user.command("/start")
    await user.wait_reply()
    chooser = await user.click("lang:menu")
    assert {"lang:set:en", "lang:set:ar"} <= set(chooser.callback_data)
    saved = await user.click("lang:set:ar")
    assert arabic_share(saved.text) > 0.6
    # The choice is kept: a button press with no text to go by now answers in Arabic.
    await user.press(next(data for data in saved.callback_data if data.startswith("topic:")))
    answer, subscribe_offer = await user.wait_replies(2)  # a first answer comes with the offer to subscribe
    assert arabic_share(answer.text) > 0.6 and arabic_share(subscribe_offer.text) > 0.6
    # Writing in English still gets English: the script of the question comes first.
    assert arabic_share((await user.ask("how many foreign fighters were killed?")).text) < 0.2
