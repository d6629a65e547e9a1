"""People and chats that talk to the bot through the fake server: each action queues an update.

    user = FakeUser(server, first_name="Omar", language_code="ar")
    await user.command("/start")
    welcome = await user.wait_reply()          # the bot's first message or edit since the command
    await user.press("topic:scams")            # a button of the last message the bot sent the user
    answer = await user.wait_reply()
    reply = await user.ask("Is this offer real?")   # send + wait_reply

Groups (`FakeGroup`) and channels (`FakeChannel`) work the same way: `await user.send("hi",
chat=group)`, `await channel.post("news")`. Updates get increasing update ids; messages get
increasing ids per chat, shared with the bot's own messages, as on Telegram.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from .html import utf16_len
from .server import FakeTelegramServer, SentMessage, forward_origin_of, photo_sizes

_user_ids = itertools.count(7_000_001)
_group_ids = itertools.count(1)

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}")
_URL = re.compile(r"\bhttps?://[^\s<>\"]+|\b(?:t\.me|wa\.me)/[^\s<>\"]+")
_PHONE = re.compile(r"(?<![\w+])\+\d[\d\s-]{7,}\d")


def detect_entities(text: str) -> list[dict]:
    """The entities Telegram's apps attach to typed text: commands, @mentions, links, phones."""
    found: list[tuple[int, int, str]] = []
    for pattern, kind in ((_COMMAND, "bot_command"), (_MENTION, "mention"), (_URL, "url"), (_PHONE, "phone_number")):
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end, _ in found):
                continue
            found.append((m.start(), m.end(), kind))
    return [{"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
            for start, end, kind in sorted(found)]


class _Chat:
    server: FakeTelegramServer
    json: dict

    @property
    def id(self) -> int:
        return self.json["id"]


class FakeGroup(_Chat):
    """A group or supergroup the bot is in. Members write with `user.send(text, chat=group)`."""

    def __init__(self, server: FakeTelegramServer, title: str = "Test group", *, type: str = "supergroup",
                 id: int | None = None, username: str | None = None) -> None:
        if type not in ("group", "supergroup"):
            raise ValueError("a group's type is group or supergroup")
        n = next(_group_ids)
        if id is None:
            id = -1_001_000_000_000 - n if type == "supergroup" else -400_000_000 - n
        self.server = server
        chat = {"id": id, "type": type, "title": title}
        if username:
            chat["username"] = username
        self.json = server.add_chat(chat)


class FakeChannel(_Chat):
    """A channel: posts become channel_post updates; also a forward origin (`origin=channel`)."""

    def __init__(self, server: FakeTelegramServer, title: str = "Test channel", *, username: str | None = None,
                 id: int | None = None) -> None:
        self.server = server
        chat = {"id": id if id is not None else -1_002_000_000_000 - next(_group_ids), "type": "channel", "title": title}
        if username:
            chat["username"] = username
        self.json = server.add_chat(chat)

    async def post(self, text: str, *, signature: str | None = None, **fields: Any) -> dict:
        """Posts `text` in the channel (a channel_post update); returns the message."""
        body: dict[str, Any] = {"sender_chat": dict(self.json), "text": text}
        entities = detect_entities(text)
        if entities:
            body["entities"] = entities
        if signature:
            body["author_signature"] = signature
        body.update(fields)
        message = self.server.add_user_message(self.id, body, sender=None)
        self.server.push_update("channel_post", message)
        return message

    async def edit_post(self, message: dict, new_text: str) -> dict:
        """Edits a post (an edited_channel_post update); returns the edited message."""
        return _edit(self.server, message, new_text, "edited_channel_post")


def origin_user(user: "FakeUser", date: int | None = None) -> dict:
    return {"type": "user", "date": date or int(time.time()) - 3600, "sender_user": dict(user.json)}


def origin_hidden_user(name: str, date: int | None = None) -> dict:
    return {"type": "hidden_user", "date": date or int(time.time()) - 3600, "sender_user_name": name}


def origin_chat(chat: _Chat | dict, date: int | None = None, author_signature: str | None = None) -> dict:
    origin = {"type": "chat", "date": date or int(time.time()) - 3600,
              "sender_chat": dict(chat.json if isinstance(chat, _Chat) else chat)}
    if author_signature:
        origin["author_signature"] = author_signature
    return origin


def origin_channel(channel: FakeChannel | dict, message_id: int | None = None, date: int | None = None,
                   author_signature: str | None = None) -> dict:
    chat = channel.json if isinstance(channel, _Chat) else channel
    if message_id is None:
        message_id = 1000 + int(time.time()) % 1000
    origin = {"type": "channel", "date": date or int(time.time()) - 3600, "chat": dict(chat), "message_id": message_id}
    if author_signature:
        origin["author_signature"] = author_signature
    return origin


def _origin(origin: Any) -> dict:
    if isinstance(origin, dict):
        if origin.get("type") not in ("user", "hidden_user", "chat", "channel"):
            raise ValueError("forward_origin type is user, hidden_user, chat or channel")
        return origin
    if isinstance(origin, FakeUser):
        return origin_user(origin)
    if isinstance(origin, FakeChannel):
        return origin_channel(origin)
    if isinstance(origin, FakeGroup):
        return origin_chat(origin)
    if isinstance(origin, str):
        return origin_hidden_user(origin)
    raise TypeError(f"can't make a forward_origin from {origin!r}")


def _edit(server: FakeTelegramServer, message: dict, new_text: str, kind: str) -> dict:
    stored = server.find_message(message["chat"]["id"], message["message_id"])
    if stored is None:
        raise ValueError("no such message to edit")
    key = "text" if "text" in stored else "caption"
    stored[key] = new_text
    stored.pop("entities" if key == "text" else "caption_entities", None)
    entities = detect_entities(new_text)
    if entities:
        stored["entities" if key == "text" else "caption_entities"] = entities
    stored["edit_date"] = int(time.time())
    server.push_update(kind, stored)
    return stored


class FakeUser:
    """A Telegram user. Ids are unique per test run unless given; admins are users in ADMIN_IDS."""

    def __init__(self, server: FakeTelegramServer, first_name: str = "Test", *, id: int | None = None,
                 language_code: str | None = "en", username: str | None = None, last_name: str | None = None,
                 is_premium: bool = False) -> None:
        self.server = server
        self.json: dict[str, Any] = {"id": id if id is not None else next(_user_ids), "is_bot": False,
                                     "first_name": first_name}
        if last_name:
            self.json["last_name"] = last_name
        if username:
            self.json["username"] = username
        if language_code:
            self.json["language_code"] = language_code
        if is_premium:
            self.json["is_premium"] = True
        chat = {"id": self.id, "type": "private", "first_name": first_name}
        for key in ("last_name", "username"):
            if key in self.json:
                chat[key] = self.json[key]
        self.chat_json = server.add_chat(chat)
        # What happened before this user's last action: `wait_reply` looks after it.
        self.last_mark = server.mark()

    def __repr__(self) -> str:
        return f"FakeUser(id={self.id}, first_name={self.first_name!r}, language_code={self.language_code!r})"

    @property
    def id(self) -> int:
        return self.json["id"]

    @property
    def first_name(self) -> str:
        return self.json["first_name"]

    @property
    def language_code(self) -> str | None:
        return self.json.get("language_code")

    # --- writing --------------------------------------------------------------------------------

    def _chat_id(self, chat: _Chat | None) -> int:
        return chat.id if chat is not None else self.id

    def _message(self, fields: dict, chat: _Chat | None = None, reply_to: dict | None = None) -> dict:
        self.last_mark = self.server.mark()
        if reply_to is not None:
            fields = dict(fields, reply_to_message=dict(reply_to))
        message = self.server.add_user_message(self._chat_id(chat), fields, sender=self.json)
        self.server.push_update("message", message)
        return message

    async def send(self, text: str, *, chat: _Chat | None = None, reply_to: dict | None = None,
                   entities: list[dict] | None = None, **fields: Any) -> dict:
        """Writes `text` (commands, @mentions and links get entities as in the apps); returns the message."""
        body: dict[str, Any] = {"text": text}
        entities = detect_entities(text) if entities is None else entities
        if entities:
            body["entities"] = entities
        body.update(fields)
        return self._message(body, chat, reply_to)

    async def command(self, command: str, payload: str | None = None, *, chat: _Chat | None = None) -> dict:
        """Sends `/command [payload]` (a deep link `?start=payload` arrives as `/start payload`)."""
        if not command.startswith("/"):
            command = "/" + command
        return await self.send(f"{command} {payload}" if payload else command, chat=chat)

    async def forward(self, text: str | dict, origin: Any = None, *, chat: _Chat | None = None,
                      **fields: Any) -> dict:
        """Forwards a message into the chat with the bot.

        `text` is the forwarded text, or a message dict to forward as it is. `origin` is a
        FakeUser (type user), a str (hidden_user name), a FakeGroup (chat), a FakeChannel
        (channel), or a dict from `origin_*()`; default: an unknown hidden user.
        """
        if isinstance(text, dict):
            source = text
            body = {k: v for k, v in source.items() if k in ("text", "entities", "caption", "caption_entities",
                                                              "photo", "document")}
            forward_origin = _origin(origin) if origin is not None else forward_origin_of(self.server, source)
        else:
            body = {"text": text}
            entities = detect_entities(text)
            if entities:
                body["entities"] = entities
            forward_origin = _origin(origin if origin is not None else "Unknown sender")
        body["forward_origin"] = forward_origin
        if forward_origin["type"] == "channel" and "is_automatic_forward" in fields:
            body["is_automatic_forward"] = fields.pop("is_automatic_forward")
        body.update(fields)
        return self._message(body, chat)

    async def send_photo(self, caption: str | None = None, *, content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
                         chat: _Chat | None = None, **fields: Any) -> dict:
        """Sends a photo (three sizes, downloadable through getFile); returns the message."""
        entry = self.server.register_file(content, kind="photo", mime_type="image/jpeg")
        body: dict[str, Any] = {"photo": photo_sizes(entry)}
        if caption:
            body["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                body["caption_entities"] = entities
        body.update(fields)
        return self._message(body, chat)

    async def send_document(self, content: bytes = b"%PDF-1.4 fake", *, file_name: str = "offer.pdf",
                            mime_type: str = "application/pdf", caption: str | None = None,
                            chat: _Chat | None = None, **fields: Any) -> dict:
        """Sends a file (downloadable through getFile); returns the message."""
        entry = self.server.register_file(content, kind="document", file_name=file_name, mime_type=mime_type)
        body: dict[str, Any] = {"document": {"file_id": entry.file_id, "file_unique_id": entry.file_unique_id,
                                             "file_name": file_name, "mime_type": mime_type,
                                             "file_size": len(content)}}
        if caption:
            body["caption"] = caption
        body.update(fields)
        return self._message(body, chat)

    async def send_sticker(self, emoji: str = "👍", *, chat: _Chat | None = None) -> dict:
        entry = self.server.register_file(b"RIFFfake-webp", kind="sticker", mime_type="image/webp")
        sticker = {"file_id": entry.file_id, "file_unique_id": entry.file_unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
                   "set_name": "FakeStickers", "file_size": entry.file_size}
        return self._message({"sticker": sticker}, chat)

    async def send_location(self, latitude: float = 31.9539, longitude: float = 35.9106, *,
                            chat: _Chat | None = None) -> dict:
        return self._message({"location": {"latitude": latitude, "longitude": longitude}}, chat)

    async def send_voice(self, duration: int = 3, *, chat: _Chat | None = None) -> dict:
        entry = self.server.register_file(b"OggSfake", kind="voice", mime_type="audio/ogg")
        return self._message({"voice": {"file_id": entry.file_id, "file_unique_id": entry.file_unique_id,
                                        "duration": duration, "mime_type": "audio/ogg",
                                        "file_size": entry.file_size}}, chat)

    async def send_raw(self, chat: _Chat | None = None, **fields: Any) -> dict:
        """Sends a message with exactly these fields (contact, poll, dice, ...)."""
        return self._message(fields, chat)

    async def edit(self, message: dict, new_text: str) -> dict:
        """Edits one of this user's messages (an edited_message update); returns it."""
        self.last_mark = self.server.mark()
        return _edit(self.server, message, new_text, "edited_message")

    # --- buttons --------------------------------------------------------------------------------

    def find_button_message(self, button: str, *, chat: _Chat | None = None) -> tuple[SentMessage, str]:
        """The newest bot message in the chat with a button matching `button`, and its callback data."""
        chat_id = self._chat_id(chat)
        messages = sorted(self.server.sent_messages(chat_id), key=lambda m: m.seq, reverse=True)
        for message in messages:
            found = message.find_button(button)
            if found is not None and found.callback_data is not None:
                return message, found.callback_data
        last = self.server.last_message(chat_id)
        shown = last.button_texts + last.callback_data if last else []
        raise LookupError(f"no button {button!r} in the bot's messages to chat {chat_id}; "
                          f"the last one has {shown or 'no buttons'}")

    async def press(self, button: str, *, message: SentMessage | None = None, chat: _Chat | None = None) -> str:
        """Presses a button (by callback data or label) of the last bot message that has it.

        Queues a callback_query update and returns its id; `server.callback_queries[id].answered`
        tells whether the bot answered it.
        """
        if message is not None:
            found = message.find_button(button)
            if found is None or found.callback_data is None:
                raise LookupError(f"no callback button {button!r} in message {message.message_id}: "
                                  f"{message.button_texts}")
            data = found.callback_data
        else:
            message, data = self.find_button_message(button, chat=chat)
        self.last_mark = self.server.mark()
        query = self.server.add_callback_query(self.json, message.json, data)
        self.server.push_update("callback_query", query)
        return query["id"]

    async def press_data(self, data: str, *, message: SentMessage | None = None, chat: _Chat | None = None) -> str:
        """Presses a button with arbitrary callback data (stale or forged buttons)."""
        if message is None:
            message = self.server.last_message(self._chat_id(chat))
            if message is None:
                raise LookupError("the bot has sent nothing to press a button on")
        self.last_mark = self.server.mark()
        query = self.server.add_callback_query(self.json, message.json, data)
        self.server.push_update("callback_query", query)
        return query["id"]

    # --- waiting for the bot ----------------------------------------------------------------------

    async def wait_reply(self, timeout: float = 5.0, *, chat: _Chat | None = None) -> SentMessage:
        """The bot's first message or edit in the chat since this user's last action."""
        return (await self.wait_replies(1, timeout, chat=chat))[0]

    async def wait_replies(self, n: int, timeout: float = 5.0, *, chat: _Chat | None = None) -> list[SentMessage]:
        """The bot's first `n` messages or edits in the chat since this user's last action."""
        return await self.server.wait_for_output(self._chat_id(chat), after=self.last_mark, n=n, timeout=timeout)

    async def ask(self, text: str, timeout: float = 5.0, *, chat: _Chat | None = None) -> SentMessage:
        """Sends `text` and returns the bot's first reply."""
        await self.send(text, chat=chat)
        return await self.wait_reply(timeout, chat=chat)

    async def click(self, button: str, timeout: float = 5.0, *, chat: _Chat | None = None) -> SentMessage:
        """Presses `button`, checks the bot answered the query, returns its first message or edit."""
        query_id = await self.press(button, chat=chat)
        reply = await self.wait_reply(timeout, chat=chat)
        await self.server.wait_answered(query_id, timeout)
        return reply

    async def assert_no_reply(self, quiet: float = 0.5, *, chat: _Chat | None = None) -> None:
        """Checks the bot said nothing in the chat since this user's last action."""
        await self.server.wait_idle(quiet=quiet)
        said = self.server.outputs(self._chat_id(chat), after=self.last_mark)
        if said:
            raise AssertionError(f"expected no reply, got {[m.text for m in said]}")

    # --- blocking ---------------------------------------------------------------------------------

    def block_bot(self) -> None:
        self.server.block(self.id)

    def unblock_bot(self) -> None:
        self.server.unblock(self.id)
