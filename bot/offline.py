"""The offline `chat`: the real Application and handlers, with the terminal playing Telegram.

`LocalTelegram` is a request object that answers Bot API calls in-process, so no token and no
network are needed. What the bot sends is printed as plain text, its buttons numbered; typing a
number presses that button. Lines starting with `>` simulate other kinds of messages (see
`HELP`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.settings import Settings

OFFLINE_TOKEN = "123456:OFFLINE-chat-no-network-used-here"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Recruitment Shield", "username": "recruitment_shield_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
HELP = """Offline chat: type as a Telegram user would. Commands like /start, /report work.
  a number      press that button under the bot's last message
  >fwd TEXT     forward TEXT to the bot, as if from a recruiter's channel
  >photo TEXT   send a photo with caption TEXT
  >help         this help;  >quit (or Ctrl+D) to leave"""


class LocalTelegram(BaseRequest):
    """Answers the Bot API in-process and hands what the bot sends to `on_send`."""

    def __init__(self, on_send: Callable[[str, dict[str, Any]], None]) -> None:
        self._on_send = on_send
        self._message_ids = itertools.count(1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        result = self._answer(api_method, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id", 0)
        return {"message_id": next(self._message_ids), "date": int(datetime.now(timezone.utc).timestamp()),
                "chat": {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "group"},
                "from": BOT_USER, **fields}

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText"):
            self._on_send(method, params)
            fields = {"text": params.get("text", "")}
            if params.get("reply_markup"):
                fields["reply_markup"] = _as_dict(params["reply_markup"])
            return self._message(params, **fields)
        if method in ("sendDocument", "sendPhoto", "copyMessage", "forwardMessage"):
            self._on_send(method, params)
            return {"message_id": next(self._message_ids)} if method == "copyMessage" else self._message(params)
        if method == "answerCallbackQuery":
            if params.get("text"):
                self._on_send(method, params)
            return True
        if method == "getFile":
            return {"file_id": params.get("file_id"), "file_unique_id": "offline", "file_path": "offline"}
        # setMyCommands, deleteWebhook, sendChatAction, editMessageReplyMarkup, deleteMessage...
        return True


def _as_dict(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


class TerminalUser:
    """Turns lines typed in the terminal into Telegram updates from one private user."""

    def __init__(self, language_code: str | None) -> None:
        self.user = {"id": 7_000_001, "is_bot": False, "first_name": "You", "language_code": language_code or "en"}
        self.chat = {"id": self.user["id"], "type": "private", "first_name": "You"}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)
        self.buttons: list[tuple[str, str | None, str | None]] = []  # label, callback data, url
        self.last_markup_message: dict[str, Any] | None = None

    def _base(self) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(datetime.now(timezone.utc).timestamp()),
                "chat": self.chat, "from": self.user}

    def message(self, text: str) -> dict[str, Any]:
        msg = self._base() | {"text": text}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": msg}

    def forward(self, text: str) -> dict[str, Any]:
        origin = {"type": "channel", "date": int(datetime.now(timezone.utc).timestamp()) - 3600,
                  "chat": {"id": -1001234567890, "type": "channel", "title": "Work abroad offers"}, "message_id": 77}
        msg = self._base() | {"text": text, "forward_origin": origin, "forward_date": origin["date"]}
        return {"update_id": next(self._update_ids), "message": msg}

    def photo(self, caption: str) -> dict[str, Any]:
        n = next(self._message_ids)
        msg = self._base() | {"caption": caption, "photo": [
            {"file_id": f"offline-photo-{n}", "file_unique_id": f"op{n}", "width": 640, "height": 480}]}
        return {"update_id": next(self._update_ids), "message": msg}

    def press(self, data: str, message: dict[str, Any]) -> dict[str, Any]:
        query = {"id": str(next(self._message_ids)), "from": self.user, "chat_instance": "offline",
                 "data": data, "message": message}
        return {"update_id": next(self._update_ids), "callback_query": query}


def render_for_terminal(method: str, params: dict[str, Any], user: TerminalUser, out: Callable[[str], None]) -> None:
    """Prints what the bot sent, with its buttons numbered, and remembers the buttons."""
    from bot.cli import html_to_terminal

    if method == "answerCallbackQuery":
        out(f"  ({params['text']})")
        return
    if method in ("sendDocument", "sendPhoto", "copyMessage", "forwardMessage"):
        caption = params.get("caption")
        out(f"[{method[4:].lower() if method.startswith('send') else 'copied message'}]" + (f" {caption}" if caption else ""))
        return
    out("")
    out(html_to_terminal(params.get("text", "")))
    markup = _as_dict(params["reply_markup"]) if params.get("reply_markup") else None
    rows = (markup or {}).get("inline_keyboard", [])
    if rows:
        user.buttons = [(b["text"], b.get("callback_data"), b.get("url")) for row in rows for b in row]
        user.last_markup_message = {"message_id": 1, "date": 0, "chat": user.chat, "from": BOT_USER,
                                    "text": params.get("text", ""), "reply_markup": markup}
        for number, (label, _, url) in enumerate(user.buttons, start=1):
            out(f"  [{number}] {label}" + (f" → {url}" if url else ""))


async def chat(settings: Settings, language_code: str | None = None,
               lines: Any = None, out: Callable[[str], None] = print) -> None:
    """Runs the offline chat until EOF or `>quit`. `lines` (an iterable) replaces stdin in tests."""
    from bot.app import build_application

    if settings.database_path == Path("data/bot.db"):
        # Keep terminal experiments out of the real reports database.
        settings = replace(settings, database_path=Path("data/offline-chat.db"))
    user = TerminalUser(language_code)
    request = LocalTelegram(lambda method, params: render_for_terminal(method, params, user, out))
    application = build_application(settings, request=request, token=OFFLINE_TOKEN)
    await application.initialize()
    await application.post_init(application)
    out(HELP)
    try:
        await application.process_update(Update.de_json(user.message("/start"), application.bot))
        source = iter(lines) if lines is not None else None
        while True:
            if source is not None:
                line = next(source, None)
            else:
                line = await asyncio.to_thread(_read_line)
            if line is None or line.strip() in (">quit", ">exit"):
                break
            line = line.strip()
            if not line:
                continue
            update = _update_for(line, user, out)
            if update is not None:
                await application.process_update(Update.de_json(update, application.bot))
    finally:
        await application.shutdown()
        await application.post_shutdown(application)


def _read_line() -> str | None:
    try:
        return input("\nyou> ")
    except EOFError:
        return None


def _update_for(line: str, user: TerminalUser, out: Callable[[str], None]) -> dict[str, Any] | None:
    if line == ">help":
        out(HELP)
        return None
    if line.startswith(">fwd "):
        return user.forward(line[5:])
    if line.startswith(">photo"):
        return user.photo(line[6:].strip())
    if line.isdigit() and user.buttons:
        number = int(line)
        if not 1 <= number <= len(user.buttons):
            out(f"  (no button {number}; pick 1-{len(user.buttons)})")
            return None
        label, data, url = user.buttons[number - 1]
        if data is None:
            out(f"  (that button opens {url})")
            return None
        return user.press(data, user.last_markup_message or {})
    return user.message(line)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m bot chat")
