"""The fake Bot API server itself: it must refuse what Telegram refuses, and shape answers like it.

Most tests talk to it through python-telegram-bot's own `Bot` (the client the real bot uses);
the exact JSON of error answers is checked with a plain HTTP client.
"""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from fakeapi import FakeChannel, FakeGroup, FakeTelegramServer, FakeUser, WaitTimeout
from fakeapi.html import EntityParseError, parse_html


@pytest.fixture
async def bot(fake_api: FakeTelegramServer):
    async with Bot(fake_api.token, base_url=fake_api.base_url, base_file_url=fake_api.file_url) as client:
        yield client


@pytest.fixture
def user(fake_api: FakeTelegramServer) -> FakeUser:
    return FakeUser(fake_api, "Ali", language_code="en")


async def post(server: FakeTelegramServer, method: str, **params) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}{server.token}/{method}", json=params) as response:
            return response.status, await response.json()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"button {i}", callback_data=d)] for i, d in enumerate(data)])


# --- HTML, length, buttons ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1 < 2",  # bare <
    "Tom & Jerry",  # bare &
    "&nbsp;",  # named entity Telegram does not know
    "<p>paragraph</p>",
    "<br/>line",
    "<div>x</div>",
    "<b>bold",  # unclosed
    "<b>bold</i>",  # mismatched
    "bold</b>",  # end tag without start
    "<b><i>x</b></i>",  # crossed
    "<span>x</span>",  # span without the spoiler class
    "<span class=\"red\">x</span>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<b",
])
async def test_rejects_html_telegram_cannot_parse(bot, user, text):
    with pytest.raises(BadRequest, match="an't parse entities"):
        await bot.send_message(chat_id=user.id, text=text, parse_mode="HTML")


async def test_accepts_every_supported_tag_and_reports_entities(bot, user, fake_api):
    text = ("<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
            "<del>d</del><a href=\"https://example.org/?a=1&amp;b=2\">link</a><code>c</code>"
            "<pre><code class=\"language-python\">p</code></pre><blockquote>q</blockquote>"
            "<blockquote expandable>x</blockquote><tg-spoiler>t</tg-spoiler><span class=\"tg-spoiler\">v</span>"
            "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji> &lt;&gt;&amp;&quot;&#1575;&#x41;")
    message = await bot.send_message(chat_id=user.id, text=text, parse_mode="HTML")
    assert message.text == "bsieunskdlinkcpqxtv👍 <>&\"اA"
    kinds = [e.type for e in message.entities]
    assert kinds.count("bold") == 2 and "text_link" in kinds and "expandable_blockquote" in kinds
    pre = next(e for e in message.entities if e.type == "pre")
    assert pre.language == "python"
    link = next(e for e in message.entities if e.type == "text_link")
    assert link.url == "https://example.org/?a=1&b=2"
    assert fake_api.last_message(user.id).html == text


def test_entity_offsets_count_utf16_units():
    plain, entities = parse_html("😀 <b>x</b>")
    assert plain == "😀 x"
    assert entities == [{"type": "bold", "offset": 3, "length": 1}]


def test_parse_error_names_the_byte_offset():
    with pytest.raises(EntityParseError, match="byte offset 5"):
        parse_html("مر <foo>")  # two Arabic letters are 4 bytes


@pytest.mark.parametrize("text", ["", "   \n ", "<b> </b>"])
async def test_rejects_empty_text(bot, user, text):
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(chat_id=user.id, text=text, parse_mode="HTML")


async def test_rejects_text_over_4096_characters_after_parsing(bot, user):
    await bot.send_message(chat_id=user.id, text="a" * 4096)
    await bot.send_message(chat_id=user.id, text=f"<b>{'ب' * 4096}</b>", parse_mode="HTML")
    await bot.send_message(chat_id=user.id, text="&amp;" * 4096, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat_id=user.id, text="a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat_id=user.id, text="<i>" + "x" * 4097 + "</i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat_id=user.id, text="😀" * 2049)  # 4098 UTF-16 units


async def test_rejects_callback_data_over_64_bytes(bot, user):
    await bot.send_message(chat_id=user.id, text="ok", reply_markup=keyboard("x" * 64))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat_id=user.id, text="no", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat_id=user.id, text="no", reply_markup=keyboard("ب" * 33))  # 66 bytes


async def test_error_answer_has_telegrams_shape(fake_api, user):
    status, body = await post(fake_api, "sendMessage", chat_id=user.id, text="<x>", parse_mode="HTML")
    assert status == 400
    assert body == {"ok": False, "error_code": 400,
                    "description": "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"}
    status, body = await post(fake_api, "noSuchMethod")
    assert (status, body["description"]) == (404, "Not Found: method not found")


async def test_wrong_token_is_unauthorized(fake_api):
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG-TOKEN-abcdefghijklmnopqrstuvwxyz", base_url=fake_api.base_url):
            pass


# --- messages -------------------------------------------------------------------------------------

async def test_send_message_returns_a_message_and_is_recorded(bot, user, fake_api):
    first = await bot.send_message(chat_id=user.id, text="<b>Hello</b>", parse_mode="HTML",
                                   reply_markup=keyboard("topic:a", "menu:all"))
    second = await bot.send_message(chat_id=user.id, text="again")
    assert second.message_id == first.message_id + 1
    assert first.from_user.id == fake_api.bot_id and first.chat.id == user.id
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "topic:a"
    sent = fake_api.sent_messages(user.id)
    assert [m.text for m in sent] == ["Hello", "again"]
    assert sent[0].callback_data == ["topic:a", "menu:all"]
    assert fake_api.last_text(user.id) == "again"
    assert fake_api.calls_to("sendMessage")[0].params["parse_mode"] == "HTML"
    assert fake_api.stats.accepted_sends == 2


async def test_message_ids_are_shared_with_the_users_messages(bot, user):
    sent = await user.send("hi")
    reply = await bot.send_message(chat_id=user.id, text="hello", reply_to_message_id=sent["message_id"])
    assert reply.message_id == sent["message_id"] + 1
    assert reply.reply_to_message.text == "hi"
    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(chat_id=user.id, text="x", reply_to_message_id=999)


async def test_edits_and_their_errors(bot, user, fake_api):
    message = await bot.send_message(chat_id=user.id, text="one", reply_markup=keyboard("a:b"))
    edited = await bot.edit_message_text(chat_id=user.id, message_id=message.message_id, text="<i>two</i>",
                                         parse_mode="HTML")
    assert edited.text == "two" and edited.edit_date is not None and edited.reply_markup is None
    record = fake_api.last_message(user.id)
    assert record.history == ["one"] and record.edited
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(chat_id=user.id, message_id=message.message_id, text="<i>two</i>",
                                    parse_mode="HTML")
    with pytest.raises(BadRequest, match="an't parse entities"):
        await bot.edit_message_text(chat_id=user.id, message_id=message.message_id, text="<i>x", parse_mode="HTML")
    await bot.edit_message_reply_markup(chat_id=user.id, message_id=message.message_id, reply_markup=keyboard("c:d"))
    assert fake_api.last_message(user.id).callback_data == ["c:d"]
    with pytest.raises(BadRequest, match="to edit not found"):
        await bot.edit_message_text(chat_id=user.id, message_id=12345, text="x")
    users_own = await user.send("mine")
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text(chat_id=user.id, message_id=users_own["message_id"], text="x")


async def test_delete_message(bot, user, fake_api):
    message = await bot.send_message(chat_id=user.id, text="bye")
    assert await bot.delete_message(chat_id=user.id, message_id=message.message_id)
    assert fake_api.sent_messages(user.id) == []
    assert fake_api.sent_messages(user.id, include_deleted=True)[0].deleted
    with pytest.raises(BadRequest, match="to delete not found"):
        await bot.delete_message(chat_id=user.id, message_id=message.message_id)


async def test_documents_upload_and_download(bot, user, fake_api):
    message = await bot.send_document(chat_id=user.id, document=io.BytesIO(b"a,b\n1,2\n"), filename="reports.csv",
                                      caption="<b>Export</b>", parse_mode="HTML")
    assert message.document.file_name == "reports.csv" and message.caption == "Export"
    [sent] = fake_api.documents(user.id)
    assert sent.document.content == b"a,b\n1,2\n" and sent.document.file_name == "reports.csv"
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"
    again = await bot.send_document(chat_id=user.id, document=message.document.file_id)
    assert again.document.file_id == message.document.file_id
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_document(chat_id=user.id, document="nonsense")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_document(chat_id=user.id, document=io.BytesIO(b"x"), filename="x.txt", caption="c" * 1025)


async def test_files_users_send_can_be_downloaded(bot, user):
    sent = await user.send_document(b"%PDF-1.4 contract", file_name="contract.pdf")
    file = await bot.get_file(sent["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 contract"
    photo = await user.send_photo(caption="offer", content=b"jpeg-bytes")
    largest = await bot.get_file(photo["photo"][-1]["file_id"])
    assert bytes(await largest.download_as_bytearray()) == b"jpeg-bytes"
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_send_photo(bot, user, fake_api):
    message = await bot.send_photo(chat_id=user.id, photo=io.BytesIO(b"\xff\xd8jpeg"), caption="pic")
    assert len(message.photo) == 3 and message.caption == "pic"
    assert fake_api.last_message(user.id).photo.content == b"\xff\xd8jpeg"


async def test_copy_and_forward(bot, user, fake_api):
    admin_chat = FakeGroup(fake_api, "Admins")
    original = await user.send("the offer text")
    copied = await bot.copy_message(chat_id=admin_chat.id, from_chat_id=user.id, message_id=original["message_id"])
    assert fake_api.sent_messages(admin_chat.id)[0].text == "the offer text"
    assert copied.message_id == fake_api.sent_messages(admin_chat.id)[0].message_id
    forwarded = await bot.forward_message(chat_id=admin_chat.id, from_chat_id=user.id,
                                          message_id=original["message_id"])
    assert forwarded.forward_origin.type == "user" and forwarded.forward_origin.sender_user.id == user.id
    with pytest.raises(BadRequest, match="to copy not found"):
        await bot.copy_message(chat_id=admin_chat.id, from_chat_id=user.id, message_id=999)


async def test_callback_queries_are_answered_once(bot, user, fake_api):
    await bot.send_message(chat_id=user.id, text="pick", reply_markup=keyboard("topic:a"))
    query_id = await user.press("topic:a")
    [update] = await bot.get_updates(timeout=1)
    assert update.callback_query.data == "topic:a" and update.callback_query.message.text == "pick"
    assert fake_api.unanswered_callbacks()[0].id == query_id
    await update.callback_query.answer("done")
    assert fake_api.callback_queries[query_id].answer == {"text": "done"}
    with pytest.raises(BadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_commands_are_kept_per_scope_and_language(bot, user):
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "ابدأ")], language_code="ar")
    await bot.set_my_commands([BotCommand("export", "Export")], scope=BotCommandScopeChat(user.id))
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="ar")] == ["ابدأ"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(user.id))] == ["export"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chat_actions_and_no_ops(bot, user):
    assert await bot.send_chat_action(chat_id=user.id, action="typing")
    assert await bot.delete_webhook()


# --- updates ------------------------------------------------------------------------------------

async def test_get_updates_offset_confirms_earlier_updates(bot, user, fake_api):
    await user.send("one")
    await user.send("two")
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["one", "two"]
    assert first[1].update_id == first[0].update_id + 1
    again = await bot.get_updates()
    assert len(again) == 2  # not confirmed yet
    assert await bot.get_updates(offset=first[1].update_id + 1) == ()
    assert fake_api.pending_updates == []


async def test_get_updates_limit_and_negative_offset(bot, user):
    for i in range(5):
        await user.send(f"m{i}")
    assert [u.message.text for u in await bot.get_updates(limit=2)] == ["m0", "m1"]
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["m4"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(bot, user, fake_api):
    fake_api.max_long_poll = 10

    async def later():
        await asyncio.sleep(0.2)
        await user.send("wake up")

    task = asyncio.create_task(later())
    start = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["wake up"]
    assert time.monotonic() - start < 2


async def test_long_poll_is_capped_on_the_server(bot, fake_api):
    fake_api.max_long_poll = 0.2
    start = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()
    assert time.monotonic() - start < 2


async def test_allowed_updates_filter_and_drop(bot, user, fake_api):
    await user.send("text")
    await bot.send_message(chat_id=user.id, text="b", reply_markup=keyboard("x:y"))
    await user.press("x:y")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates] == ["x:y"]
    await user.send("ignored")
    assert await bot.get_updates(offset=updates[0].update_id + 1) == ()


async def test_a_second_poller_ends_the_first_with_conflict(fake_api, user):
    fake_api.max_long_poll = 5
    async with Bot(fake_api.token, base_url=fake_api.base_url) as first, \
            Bot(fake_api.token, base_url=fake_api.base_url) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        await second.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await waiting


async def test_get_updates_conflicts_with_a_webhook(bot):
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_fake_users_updates_parse_as_python_telegram_bot_objects(bot, fake_api):
    user = FakeUser(fake_api, "Omar", language_code="ar", username="omar_j")
    group = FakeGroup(fake_api, "Friends")
    channel = FakeChannel(fake_api, "News", username="newsjo")
    await user.command("/start", "report")
    await user.send("hey @fake_test_bot see https://t.me/recruiter or call +962 79 123 4567", chat=group)
    await user.forward("Work in Russia, $3000", origin=channel)
    await user.forward("Hidden", origin="Recruiter Name")
    await user.forward("From Ali", origin=FakeUser(fake_api, "Ali"))
    await user.forward("From group", origin=group)
    await user.send_photo(caption="contract")
    await user.send_document(b"x", file_name="a.pdf")
    await user.send_sticker()
    await user.send_location()
    await user.send_voice()
    original = await user.send("typo")
    await user.edit(original, "fixed")
    await channel.post("channel news")
    updates = await bot.get_updates()
    start, in_group, fw_channel, fw_hidden, fw_user, fw_chat, photo, doc, sticker, location, voice, _, edited, post = updates
    assert start.message.text == "/start report" and start.message.entities[0].type == "bot_command"
    assert start.effective_user.language_code == "ar" and start.effective_chat.type == "private"
    assert in_group.effective_chat.type == "supergroup"
    assert [e.type for e in in_group.message.entities] == ["mention", "url", "phone_number"]
    assert fw_channel.message.forward_origin.type == "channel"
    assert fw_channel.message.forward_origin.chat.username == "newsjo"
    assert fw_hidden.message.forward_origin.sender_user_name == "Recruiter Name"
    assert fw_user.message.forward_origin.sender_user.first_name == "Ali"
    assert fw_chat.message.forward_origin.type == "chat"
    assert photo.message.photo[-1].file_unique_id and photo.message.caption == "contract"
    assert doc.message.document.file_name == "a.pdf"
    assert sticker.message.sticker.emoji == "👍"
    assert location.message.location.latitude
    assert voice.message.voice.mime_type == "audio/ogg"
    assert edited.edited_message.text == "fixed" and edited.edited_message.edit_date
    assert post.channel_post.text == "channel news" and post.channel_post.sender_chat.id == channel.id
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_press_finds_buttons_by_label_or_data(bot, user):
    await bot.send_message(chat_id=user.id, text="menu", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("Scams 🔎", callback_data="topic:scams")],
         [InlineKeyboardButton("Report", callback_data="report:start")]]))
    await user.press("Scams")  # unique label substring
    await user.press("report:start")
    updates = await bot.get_updates()
    assert [u.callback_query.data for u in updates] == ["topic:scams", "report:start"]
    with pytest.raises(LookupError, match="no button"):
        await user.press("Nothing like it")


# --- modes --------------------------------------------------------------------------------------

async def test_flood_over_the_cap_gets_429_with_retry_after(fake_api, user):
    fake_api.set_flood(rate=2, burst=2)
    results = [await post(fake_api, "sendMessage", chat_id=user.id, text=f"m{i}") for i in range(3)]
    assert [status for status, _ in results] == [200, 200, 429]
    body = results[2][1]
    retry_after = body["parameters"]["retry_after"]
    assert isinstance(retry_after, int) and retry_after >= 1
    assert body == {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after}}
    assert fake_api.stats.flood_rejected == 1 and fake_api.stats.accepted_sends == 2
    assert len(fake_api.sent_messages(user.id)) == 2


async def test_flood_raises_retry_after_in_python_telegram_bot(bot, user, fake_api):
    fake_api.set_flood(rate=1, burst=1)
    await bot.send_message(chat_id=user.id, text="one")
    with pytest.raises(RetryAfter):
        await bot.send_message(chat_id=user.id, text="two")


async def test_blocked_user_gets_403(bot, user, fake_api):
    user.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat_id=user.id, text="hello?")
    assert fake_api.stats.blocked == 1
    user.unblock_bot()
    await bot.send_message(chat_id=user.id, text="hello again")


async def test_unknown_chats_are_configurable(bot, fake_api):
    await bot.send_message(chat_id=424242, text="accepted by default")
    fake_api.unknown_chats = "not_found"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(chat_id=434343, text="x")
    fake_api.unknown_chats = "forbidden"
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(chat_id=434343, text="x")


async def test_faults_are_seeded_and_counted(fake_api, user):
    fake_api.set_faults(0.5, kinds=("500", "502"), seed=7)
    first = [(await post(fake_api, "sendMessage", chat_id=user.id, text="x"))[0] for _ in range(20)]
    fake_api.set_faults(0.5, kinds=("500", "502"), seed=7)
    second = [(await post(fake_api, "sendMessage", chat_id=user.id, text="x"))[0] for _ in range(20)]
    assert first == second and {500, 502, 200} >= set(first) and 200 in first and len(set(first)) > 1
    assert fake_api.stats.fault_errors == sum(s != 200 for s in first + second)
    assert fake_api.stats.accepted_sends == sum(s == 200 for s in first + second)


async def test_fault_kinds_reach_python_telegram_bot_as_network_errors(fake_api, user):
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(fake_api.token, base_url=fake_api.base_url, request=request) as bot:
        fake_api.set_faults(1.0, kinds=("502",))
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(chat_id=user.id, text="x")
        fake_api.set_faults(1.0, kinds=("drop",))
        with pytest.raises(NetworkError):
            await bot.send_message(chat_id=user.id, text="x")
        assert fake_api.sent_messages(user.id) == []
        fake_api.set_faults(1.0, kinds=("timeout",), delay=1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=user.id, text="late but delivered")
        # A timed-out send may have been delivered: the trap the bot must live with.
        assert fake_api.last_text(user.id) == "late but delivered"
        fake_api.set_faults(None)
    assert fake_api.stats.faults == 3


async def test_latency_slows_answers(bot, user, fake_api):
    fake_api.set_latency(0.3, methods=["sendMessage"])
    start = time.monotonic()
    await bot.send_message(chat_id=user.id, text="slow")
    assert time.monotonic() - start >= 0.3


async def test_stop_does_not_wait_for_long_polls_or_delays(fake_api, user):
    server = FakeTelegramServer(max_long_poll=30)
    await server.start()
    async with Bot(server.token, base_url=server.base_url, request=HTTPXRequest(read_timeout=60)) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        start = time.monotonic()
        await server.stop()
        assert await poll == ()
    assert time.monotonic() - start < 2


async def test_wait_for_explains_what_it_waited_for(fake_api, user):
    with pytest.raises(WaitTimeout, match="1 message\\(s\\) to chat"):
        await fake_api.wait_for_messages(user.id, 1, timeout=0.2)
