"""Operations: what the operator's log shows (and never shows), and how a failing handler ends.

The log of a real `python -m bot run` through a whole session (questions, buttons, a report,
faults, a blocked user) holds no token, no Telegram id, no name or username and nothing anyone
wrote. A handler that raises is logged once, as one ERROR with its traceback, and the user gets a
polite apology instead of silence.
"""

from __future__ import annotations

import io
import logging
import re

import pytest

from bot import questions
from bot.language import resolve_language
from bot.logs import RedactingFilter
from fakeapi import FakeGroup, FakeTelegramServer, FakeUser
from fakeapi.server import SEND_METHODS, TEST_TOKEN

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}")
REPORT_TEXT = "Khalid from Petrova Travel promised 4,250 dollars and took my passport"


def secrets_of(*users: FakeUser) -> list[str]:
    """What must never reach a log: the token (and its secret half), ids, names, texts."""
    found = [TEST_TOKEN, TEST_TOKEN.split(":", 1)[1], "Khalid", "Petrova", "4,250", "passport"]
    for user in users:
        found += [str(user.id), user.first_name] + [user.json[k] for k in ("username", "last_name") if k in user.json]
    return found


async def test_the_log_of_a_real_session_holds_no_token_ids_names_or_texts(bot_process, fake_api: FakeTelegramServer):
    admin = FakeUser(fake_api, "Yasmin", id=555012345, username="yasmin_admin")
    team = FakeGroup(fake_api, "Report team")
    process = bot_process(env={"ADMIN_IDS": str(admin.id), "ADMIN_CHAT_ID": str(team.id)})
    await fake_api.wait_for_call("getUpdates", timeout=20)
    reporter = FakeUser(fake_api, "Zubaida", id=918273645, username="zubaida_reports", last_name="Haddad",
                        language_code="ar")
    gone = FakeUser(fake_api, "Fadi", id=918270001, username="fadi_gone")
    fake_api.set_faults(0.2, kinds=("500", "502", "drop"), seed=9, methods=SEND_METHODS | {"answerCallbackQuery"})

    async def ask(user: FakeUser, text: str):
        await fake_api.wait_idle(quiet=0.3, timeout=15)  # like a person, read the last reply first
        return await user.ask(text, timeout=10)

    async def click(user: FakeUser, data: str):
        await fake_api.wait_idle(quiet=0.3, timeout=15)
        return await user.click(data, timeout=10)

    welcome = await ask(reporter, "/start")
    await click(reporter, next(d for d in welcome.callback_data if d.startswith("topic:")))
    await ask(reporter, "Is the offer from Khalid a trap?")
    await ask(reporter, "/report")
    await click(reporter, "report:quick")
    review = await ask(reporter, REPORT_TEXT)
    done = await click(reporter, next(d for d in review.callback_data if d.startswith("report:submit:")))
    assert REFERENCE.search(done.text)
    await fake_api.wait_for(lambda: fake_api.sent_messages(team.id), timeout=10, what="the alert to the team")
    await ask(reporter, "/myreports")
    await reporter.press_data("adm:show:1")  # not an admin
    await reporter.send_sticker()
    gone.block_bot()
    await gone.send("/start")
    await ask(admin, "/stats")
    await fake_api.wait_idle(quiet=0.5, timeout=15)
    fake_api.set_faults(None)

    assert await process.stop() == 0
    output = process.output()
    assert "bot running (polling)" in output and "stored" in output  # it did log, and INFO lines
    assert fake_api.stats.faults > 0 and "retry" in output
    leaked = [s for s in secrets_of(reporter, gone, admin) if s in output]
    assert leaked == [], output
    assert "HTTP Request" not in output and "Traceback" not in output and " ERROR " not in output, output


async def test_a_bad_token_stops_start_up_with_one_line_that_does_not_show_it(bot_process, fake_api):
    wrong = "999999:WRONG-token-abcdefghijklmnopqrstu"
    process = bot_process(env={"TELEGRAM_BOT_TOKEN": wrong})
    assert await process.wait(20) == 2
    output = process.output()
    assert output.strip().splitlines()[-1].startswith("error: Telegram rejected TELEGRAM_BOT_TOKEN")
    assert "WRONG-token" not in output and "Traceback" not in output, output


@pytest.fixture
def log_text():
    """Everything logged during the test, through the project's formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_a_failing_handler_logs_one_error_and_the_user_gets_an_apology(
        start_bot, fake_api: FakeTelegramServer, monkeypatch, log_text):
    bot = await start_bot()
    bot.expect_errors = True  # checked below
    svc = bot.services
    user = FakeUser(fake_api, "Zubaida", id=918273645, username="zubaida_reports")
    apology = svc.renderer.html("en", "common/error")

    def broken(*args, **kwargs):
        raise RuntimeError("the matcher fell over")

    monkeypatch.setattr(questions, "answer_question", broken)
    reply = await user.ask("Is the offer from Khalid a trap?")
    assert reply.html == apology
    await fake_api.wait_idle(quiet=0.3)
    [record] = bot.error_records
    assert record.getMessage() == "error while handling an update: RuntimeError"
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
    assert len(fake_api.sent_messages(user.id)) == 1  # the apology, once

    # A button whose handler fails after answering the press.
    monkeypatch.setattr(questions, "answer_topic", broken)
    welcome = await user.ask("/start")
    query = await user.press(next(d for d in welcome.callback_data if d.startswith("topic:")))
    assert (await user.wait_reply()).html == apology
    assert fake_api.callback_queries[query].answered
    await fake_api.wait_idle(quiet=0.3)
    assert len(bot.error_records) == 2
    # Answering the press again, in case the handler had not, is the only call Telegram refused.
    assert [c.method for c in fake_api.errors()] == ["answerCallbackQuery"]

    monkeypatch.undo()
    lang = resolve_language("What do recruiters promise?", None, "en", "en")
    answer = await user.ask("What do recruiters promise?")
    assert answer.html == questions.answer_question(svc.knowledge, svc.renderer, svc.matcher,
                                                    "What do recruiters promise?", lang).text
    text = log_text.getvalue()
    assert text.count(" ERROR ") == 2 and text.count("Traceback") == 2
    assert [s for s in secrets_of(user) if s in text] == []
