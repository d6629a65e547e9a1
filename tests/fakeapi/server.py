"""A fake Telegram Bot API server for end-to-end tests: real HTTP on 127.0.0.1, no internet.

The bot is pointed at it with `TELEGRAM_API_BASE_URL=server.base_url` (`http://127.0.0.1:PORT/bot`;
python-telegram-bot appends the token, so calls arrive at `/bot<token>/<method>`) and
`TELEGRAM_API_FILE_URL=server.file_url` (downloads at `/file/bot<token>/<path>`).

Tests play users with `tests.fakeapi.users` (which queue updates here) and inspect what the bot
did through `calls`, `sent_messages(chat_id)`, `last_text(chat_id)`, `documents(chat_id)` and the
`wait_for*` helpers. Like Telegram, the server rejects what Telegram would reject (bad HTML, texts
over 4,096 characters, callback data over 64 bytes, unknown message ids, ...) with Telegram's
error shapes, so a bot that passes here does not fail on those in production.

Switchable modes: `set_flood(rate)` (a global token bucket; over it, 429 with `retry_after`),
`set_faults(rate, kinds, seed)` (500/502 answers, answers delayed past the client's timeout,
dropped connections), `latency` (slow answers), `block(chat_id)` (403 "bot was blocked by the
user") and `unknown_chats` (what a send to a chat nobody created gets). `stats` counts outcomes.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from aiohttp import web

from .html import EntityParseError, parse_html, strip_text, utf16_len

TEST_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

# Methods that put something in a chat: flood control and faults apply to these by default.
SEND_METHODS = frozenset({
    "sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage",
    "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
})
# Outputs the bot shows a user (sends and edits), for `wait_reply`-style helpers.
OUTPUT_METHODS = SEND_METHODS
# Telegram's default when allowed_updates is empty or was never given.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Parameters that python-telegram-bot sends as raw strings (everything else is JSON-encoded).
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "file_id", "inline_message_id",
    "secret_token", "ip_address", "language_code", "action", "business_connection_id",
    "message_effect_id", "emoji", "name", "description", "short_description", "title", "document",
    "photo", "thumbnail", "sticker", "video", "audio", "voice", "animation", "video_note",
    "certificate", "address", "foursquare_id", "phone_number", "first_name", "last_name",
    "question", "explanation", "payload", "currency", "start_parameter", "provider_token",
})

_CONFLICT_OTHER_POLL = ("Conflict: terminated by other getUpdates request; make sure that only one bot "
                        "instance is running")
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer: HTTP status = error_code, Telegram's description and parameters."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


class WaitTimeout(AssertionError):
    """A `wait_for*` helper gave up; the message says what was awaited and what did happen."""


# --- records tests inspect --------------------------------------------------------------------

@dataclass
class UploadedFile:
    field: str
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Call:
    """One request the bot made, with the answer it got."""

    seq: int
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float  # time.monotonic() when it arrived
    status: int | None = None
    response: dict | None = None
    fault: str | None = None  # "500", "502", "timeout", "drop", "flood" when one was injected
    abandoned: bool = False  # the client hung up before the answer (e.g. a long poll cancelled on stop)
    request: web.Request | None = field(default=None, repr=False, compare=False)

    @property
    def client_gone(self) -> bool:
        if self.request is None:
            return False
        transport = self.request.transport
        return transport is None or transport.is_closing()

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        return (self.response or {}).get("description")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    def __repr__(self) -> str:
        shown = {k: (v if not isinstance(v, str) or len(v) < 60 else v[:57] + "...") for k, v in self.params.items()}
        return f"<Call #{self.seq} {self.method} {shown} -> {self.status} {self.description or ''}>".rstrip()


@dataclass
class FileEntry:
    file_id: str
    file_unique_id: str
    content: bytes | None
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str | None = None

    @property
    def file_size(self) -> int | None:
        return len(self.content) if self.content is not None else None


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class SentMessage:
    """A message the bot sent (current state: edits update it, `history` keeps older texts)."""

    chat_id: int
    message_id: int
    method: str
    json: dict  # the Telegram Message object as the bot would see it now
    html: str | None  # the text or caption parameter exactly as sent
    parse_mode: str | None
    params: dict = field(repr=False, default_factory=dict)
    history: list[str] = field(default_factory=list)
    deleted: bool = False
    document: FileEntry | None = None
    photo: FileEntry | None = None
    seq: int = 0  # when it was last sent, edited or deleted (compare with `server.mark()`)
    sent_seq: int = 0  # when it was sent

    @property
    def text(self) -> str | None:
        """What the user reads: the text (or caption) with tags removed and entities decoded."""
        return self.json.get("text", self.json.get("caption"))

    @property
    def caption(self) -> str | None:
        return self.json.get("caption")

    @property
    def entities(self) -> list[dict]:
        return self.json.get("entities", self.json.get("caption_entities", []))

    @property
    def edited(self) -> bool:
        return "edit_date" in self.json

    @property
    def reply_markup(self) -> dict | None:
        return self.json.get("reply_markup")

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard as rows of `Button`s (empty when there is none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[Button(b.get("text", ""), b.get("callback_data"), b.get("url"), b) for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    @property
    def callback_data(self) -> list[str]:
        return [b.callback_data for row in self.buttons for b in row if b.callback_data is not None]

    def find_button(self, label_or_data: str) -> Button | None:
        """The button whose callback data or label is `label_or_data` (then a unique label substring)."""
        flat = [b for row in self.buttons for b in row]
        for b in flat:
            if b.callback_data == label_or_data:
                return b
        for b in flat:
            if b.text == label_or_data:
                return b
        needle = label_or_data.casefold()
        partial = [b for b in flat if needle in b.text.casefold()]
        return partial[0] if len(partial) == 1 else None


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str
    time: float
    answered: bool = False
    answer: dict | None = None


@dataclass
class Stats:
    calls: int = 0
    accepted_sends: int = 0
    flood_rejected: int = 0
    fault_errors: int = 0  # answered 500/502
    fault_timeouts: int = 0  # answered after the client's timeout
    fault_drops: int = 0  # connection closed without an answer
    blocked: int = 0  # 403 bot was blocked by the user
    bad_requests: int = 0  # any other 4xx

    @property
    def faults(self) -> int:
        return self.fault_errors + self.fault_timeouts + self.fault_drops

    def as_dict(self) -> dict[str, int]:
        return dict(asdict(self), faults=self.faults)


@dataclass
class Faults:
    """Injected faults: each call of `methods` fails with probability `rate` (seeded)."""

    rate: float
    kinds: tuple[str, ...] = ("500", "502", "timeout", "drop")
    delay: float = 6.0  # "timeout": seconds before answering (past python-telegram-bot's 5 s default)
    deliver_late: bool = True  # "timeout": the send still happens, only the answer is late
    methods: frozenset[str] = SEND_METHODS
    seed: int = 0
    random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - {"500", "502", "timeout", "drop"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if not 0 <= self.rate <= 1:
            raise ValueError("fault rate must be between 0 and 1")
        self.random = random.Random(self.seed)

    def pick(self, method: str) -> str | None:
        if method not in self.methods:
            return None
        if self.random.random() >= self.rate:
            return None
        return self.random.choice(self.kinds)


class TokenBucket:
    """`rate` sends per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("flood rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.tokens = self.burst
        self._clock = clock
        self._last = clock()

    def take(self) -> int | None:
        """Takes a token; returns None, or the whole seconds to wait when there is none."""
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass
class _Chat:
    json: dict
    known: bool = True  # created by a test (a user, group or channel), not on the fly
    next_message_id: int = 1
    messages: dict[int, dict] = field(default_factory=dict)

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


# --- parameter parsing ------------------------------------------------------------------------

def _decode_param(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _as_float(value: Any, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request("invalid number") from None


def _json_value(value: Any) -> Any:
    """A parameter that may arrive JSON-encoded (form) or as an object (JSON body)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
    return value


# --- the server -------------------------------------------------------------------------------

class FakeTelegramServer:
    """The fake Bot API. `await start()`, point the bot at `base_url`, `await stop()`."""

    def __init__(
        self,
        token: str = TEST_TOKEN,
        *,
        bot_username: str = "fake_test_bot",
        bot_name: str = "Fake Test Bot",
        max_long_poll: float = 1.0,
        unknown_chats: str = "accept",
        host: str = "127.0.0.1",
    ) -> None:
        if unknown_chats not in ("accept", "not_found", "forbidden"):
            raise ValueError("unknown_chats is one of accept, not_found, forbidden")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user = {
            "id": self.bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }
        # Long polls never wait longer than this, whatever the bot asks: tests stay fast.
        self.max_long_poll = max_long_poll
        # A send to a chat no test created: "accept" (create it), "not_found" (400 chat not found),
        # "forbidden" (403 bot can't initiate conversation with a user).
        self.unknown_chats = unknown_chats
        self.host = host

        self.calls: list[Call] = []
        self.stats = Stats()
        self.flood: TokenBucket | None = None
        self.flood_methods: frozenset[str] = SEND_METHODS
        self.faults: Faults | None = None
        self.latency = 0.0  # seconds added before every answer
        self.latency_methods: frozenset[str] | None = None  # None: all methods
        self.blocked: set[int] = set()
        self.webhook: dict | None = None
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.files: dict[str, FileEntry] = {}
        self.chats: dict[int, _Chat] = {}
        self.bot_messages: dict[tuple[int, int], SentMessage] = {}

        self._updates: list[dict] = []  # queued, not yet confirmed
        self._next_update_id = 100_000
        self._update_log: list[dict] = []  # every update ever queued
        self.delivered_update_ids: set[int] = set()
        self.confirmed_update_id = 0  # every update below this was confirmed by an offset
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self._poll_generation = 0
        self._seq = itertools.count(1)
        self._last_activity = time.monotonic()
        self._ids = itertools.count(1)
        self._changed: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> "FakeTelegramServer":
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        assert self._closing is not None
        self._closing.set()  # wakes long polls and injected delays
        self._notify()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> "FakeTelegramServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `TELEGRAM_API_BASE_URL` / `ApplicationBuilder.base_url` (the token is appended)."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        """For `TELEGRAM_API_FILE_URL` / `ApplicationBuilder.base_file_url`."""
        return f"{self.url}/file/bot"

    # --- modes ----------------------------------------------------------------------------------

    def set_flood(self, rate: float | None, burst: float | None = None,
                  methods: Iterable[str] = SEND_METHODS) -> None:
        """Allows `rate` sends per second overall (None: no limit); more get 429 retry_after."""
        self.flood = TokenBucket(rate, burst) if rate else None
        self.flood_methods = frozenset(methods)

    def set_faults(self, rate: float | None, kinds: Iterable[str] = ("500", "502", "timeout", "drop"), *,
                   seed: int = 0, delay: float = 6.0, deliver_late: bool = True,
                   methods: Iterable[str] = SEND_METHODS) -> None:
        """Fails a fraction `rate` of the calls to `methods` (None or 0: no faults)."""
        self.faults = Faults(rate, tuple(kinds), delay, deliver_late, frozenset(methods), seed) if rate else None

    def set_latency(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Delays every answer (or those of `methods`) by `seconds`."""
        self.latency = seconds
        self.latency_methods = frozenset(methods) if methods is not None else None

    def block(self, chat_id: int) -> None:
        """From now on, sends to `chat_id` get 403 "Forbidden: bot was blocked by the user"."""
        self.blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(int(chat_id))

    # --- chats, updates (used by tests.fakeapi.users) --------------------------------------------

    def add_chat(self, chat_json: dict) -> dict:
        """Registers a chat (user's private chat, group, channel); returns its JSON."""
        chat_id = int(chat_json["id"])
        if chat_id in self.chats:
            self.chats[chat_id].json.update(chat_json)
            self.chats[chat_id].known = True
        else:
            self.chats[chat_id] = _Chat(dict(chat_json))
        return self.chats[chat_id].json

    def new_id(self) -> int:
        return next(self._ids)

    def add_user_message(self, chat_id: int, fields: dict, *, sender: dict | None) -> dict:
        """Stores a message a user (or channel) wrote; returns it. Queue it with `push_update`."""
        chat = self.chats[int(chat_id)]
        message: dict[str, Any] = {"message_id": chat.allocate_id()}
        if sender is not None:
            message["from"] = dict(sender)
        message.update({"chat": dict(chat.json), "date": int(time.time())})
        message.update(fields)
        chat.messages[message["message_id"]] = message
        return message

    def find_message(self, chat_id: int, message_id: int) -> dict | None:
        chat = self.chats.get(int(chat_id))
        return chat.messages.get(int(message_id)) if chat else None

    def push_update(self, kind: str, payload: Any) -> dict:
        """Queues an update `{"update_id": n, kind: payload}` for getUpdates; returns it."""
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._updates.append(update)
        self._update_log.append(update)
        self._touch()
        return update

    def add_callback_query(self, user_json: dict, message: dict, data: str) -> dict:
        """Registers a button press on `message`; returns the callback_query object to queue."""
        query_id = str(self.bot_id * 1000 + self.new_id())
        chat_id = message.get("chat", {}).get("id")
        query = {
            "id": query_id,
            "from": dict(user_json),
            "message": copy.deepcopy(message),
            "chat_instance": str(int(hashlib.sha256(f"{chat_id}".encode()).hexdigest()[:12], 16)),
            "data": data,
        }
        self.callback_queries[query_id] = CallbackRecord(
            query_id, user_json["id"], chat_id, message.get("message_id"), data, time.monotonic())
        return query

    def register_file(self, content: bytes | None, *, kind: str = "document", file_name: str | None = None,
                      mime_type: str | None = None) -> FileEntry:
        """Stores a file as if uploaded to Telegram (by a user or the bot); getFile and downloads find it."""
        n = self.new_id()
        prefix = {"document": "BQAC", "photo": "AgAC", "sticker": "CAAC", "voice": "AwAC"}.get(kind, "BAAC")
        digest = hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photo":
            suffix = ".jpg"
        entry = FileEntry(
            file_id=f"{prefix}{digest[:40]}", file_unique_id=f"AgAD{digest[40:52]}", content=content,
            file_name=file_name, mime_type=mime_type, file_path=f"{kind}s/file_{n}{suffix}",
        )
        self.files[entry.file_id] = entry
        return entry

    # --- inspection -----------------------------------------------------------------------------

    def mark(self) -> int:
        """A point in time: pass it as `after=` to see only what happened since."""
        return next(self._seq)

    def calls_to(self, method: str, *, ok: bool | None = None, after: int = 0) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.seq > after and (ok is None or c.ok == ok)]

    def errors(self, *, after: int = 0) -> list[Call]:
        """Calls answered with an error that no test mode injected (bad HTML, unknown ids, ...)."""
        return [c for c in self.calls if c.seq > after and c.status not in (None, 200) and c.fault is None
                and c.status != 403 and not c.abandoned]

    def sent_messages(self, chat_id: int | None = None, *, include_deleted: bool = False,
                      after: int = 0) -> list[SentMessage]:
        """Messages the bot sent (to `chat_id`, or anywhere), oldest first, in their current state."""
        messages = [m for m in self.bot_messages.values()
                    if (chat_id is None or m.chat_id == int(chat_id)) and (include_deleted or not m.deleted)]
        messages = [m for m in messages if m.seq > after] if after else messages
        return sorted(messages, key=lambda m: m.sent_seq)

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot message in `chat_id` that was sent or edited last."""
        messages = self.sent_messages(chat_id)
        return max(messages, key=lambda m: m.seq) if messages else None

    def last_text(self, chat_id: int) -> str | None:
        message = self.last_message(chat_id)
        return message.text if message else None

    def outputs(self, chat_id: int | None = None, *, after: int = 0) -> list[SentMessage]:
        """Messages sent or edited after `after` (a `mark()`), in the order that happened."""
        return sorted((m for m in self.sent_messages(chat_id, include_deleted=True) if m.seq > after),
                      key=lambda m: m.seq)

    def documents(self, chat_id: int | None = None) -> list[SentMessage]:
        """Documents the bot sent; `.document.content` holds the bytes, `.document.file_name` the name."""
        return [m for m in self.sent_messages(chat_id) if m.document is not None]

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        return self.commands.get((self._scope_key(scope), language_code or ""), [])

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        return [q for q in self.callback_queries.values() if not q.answered]

    @property
    def pending_updates(self) -> list[dict]:
        return list(self._updates)

    def all_delivered(self) -> bool:
        """Every queued update was handed to the bot (and is not waiting for a poll)."""
        return all(u["update_id"] in self.delivered_update_ids for u in self._updates)

    # --- waiting --------------------------------------------------------------------------------

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._notify()

    async def _wait_changed(self, timeout: float) -> None:
        assert self._changed is not None, "the server is not started"
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), max(timeout, 0))
        except TimeoutError:
            pass

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str | None = None) -> Any:
        """Waits until `predicate()` is truthy and returns its value; fails the test after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(self._explain(what or getattr(predicate, "__name__", "condition"), timeout))
            await self._wait_changed(min(remaining, 0.1))

    async def wait_for_messages(self, chat_id: int, n: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Waits until the bot has sent at least `n` messages to `chat_id`; returns them all."""
        def enough() -> list[SentMessage] | None:
            messages = self.sent_messages(chat_id)
            return messages if len(messages) >= n else None
        return await self.wait_for(enough, timeout, f"{n} message(s) to chat {chat_id}")

    async def wait_for_output(self, chat_id: int, *, after: int, n: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Waits for `n` sends or edits in `chat_id` after the mark `after`; returns them in order."""
        def enough() -> list[SentMessage] | None:
            found = self.outputs(chat_id, after=after)
            return found[:n] if len(found) >= n else None
        return await self.wait_for(enough, timeout, f"{n} new message(s) or edit(s) in chat {chat_id}")

    async def wait_for_call(self, method: str, *, after: int = 0, timeout: float = 5.0,
                            where: Callable[[Call], bool] | None = None) -> Call:
        """Waits for a finished call of `method` (matching `where`) after the mark `after`."""
        def found() -> Call | None:
            for call in self.calls:
                if call.seq > after and call.method == method and call.status is not None and (where is None or where(call)):
                    return call
            return None
        return await self.wait_for(found, timeout, f"a call to {method}")

    async def wait_answered(self, query_id: str, timeout: float = 5.0) -> CallbackRecord:
        """Waits until the bot answered the callback query `query_id` (from `user.press`)."""
        record = self.callback_queries[query_id]
        await self.wait_for(lambda: record.answered, timeout, f"the bot to answer callback query {query_id}")
        return record

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Waits until every update was delivered and nothing but polling happened for `quiet` s."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if self.all_delivered() and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise WaitTimeout(self._explain(f"the bot to be idle for {quiet}s", timeout))
            await asyncio.sleep(min(0.05, max(deadline - now, 0)))

    def _explain(self, what: str, timeout: float) -> str:
        recent = "\n  ".join(repr(c) for c in [c for c in self.calls if c.method != "getUpdates"][-12:]) or "(none)"
        pending = [u["update_id"] for u in self._updates if u["update_id"] not in self.delivered_update_ids]
        polls = len(self.calls_to("getUpdates"))
        return (f"timed out after {timeout}s waiting for {what}.\n"
                f"Recent calls (besides {polls} getUpdates):\n  {recent}\n"
                f"Updates not yet delivered: {pending or 'none'}")

    # --- HTTP -----------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = {name: _decode_param(name, value) for name, value in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                params.update(body)
            else:
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        files[name] = UploadedFile(name, value.filename, value.content_type, value.file.read())
                    else:
                        params[name] = _decode_param(name, value)
        return params, files

    async def _sleep(self, seconds: float) -> None:
        """Sleeps, but wakes at once when the server stops (so shutdown never waits on a fault)."""
        if seconds <= 0:
            return
        assert self._closing is not None
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        path = request.match_info["path"]
        for entry in self.files.values():
            if entry.file_path == path and entry.content is not None:
                return web.Response(body=entry.content, content_type=entry.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        method = _METHOD_NAMES.get(raw_method.lower(), raw_method)
        call = Call(seq=0, method=method, params={}, files={}, time=time.monotonic(), request=request)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            try:
                call.params, call.files = await self._params(request)
            except ConnectionError:
                # The client went away mid-request (python-telegram-bot cancels its long poll on
                # stop): nobody is left to answer.
                return web.Response(status=499)
            call.seq = next(self._seq)
            self.calls.append(call)
            self.stats.calls += 1
            if self.latency and (self.latency_methods is None or method in self.latency_methods):
                await self._sleep(self.latency)
            fault = self.faults.pick(method) if self.faults else None
            if fault in ("500", "502"):
                call.fault = fault
                self.stats.fault_errors += 1
                raise ApiError(int(fault), "Internal Server Error" if fault == "500" else "Bad Gateway")
            if fault == "drop":
                call.fault = fault
                self.stats.fault_drops += 1
                call.status = 0
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            if self.flood is not None and method in self.flood_methods:
                retry_after = self.flood.take()
                if retry_after is not None:
                    call.fault = "flood"
                    self.stats.flood_rejected += 1
                    raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                                   {"retry_after": retry_after})
            handler = _HANDLERS.get(method)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if fault == "timeout":
                call.fault = fault
                self.stats.fault_timeouts += 1
                if self.faults is not None and self.faults.deliver_late:
                    result = await handler(self, call)
                    self._count_accepted(method)
                await self._sleep(self.faults.delay if self.faults else 0)
                raise ApiError(504, "Gateway Timeout")
            result = await handler(self, call)
            self._count_accepted(method)
            body: dict[str, Any] = {"ok": True, "result": result}
            call.status, call.response = 200, body
        except ApiError as exc:
            if exc.code == 403 and call.fault is None:
                self.stats.blocked += 1
            elif 400 <= exc.code < 500 and exc.code != 429 and call.fault is None:
                self.stats.bad_requests += 1
            body = exc.payload()
            call.status, call.response = exc.code, body
        finally:
            call.abandoned = call.client_gone and call.fault != "drop"
            call.request = None
            if call.seq:
                self._touch_call(call)
        return web.json_response(body, status=call.status or 500)

    def _touch_call(self, call: Call) -> None:
        if call.method == "getUpdates":
            self._notify()  # polling is not activity: wait_idle must not wait on it
        else:
            self._touch()

    def _count_accepted(self, method: str) -> None:
        if method in SEND_METHODS:
            self.stats.accepted_sends += 1

    # --- helpers for method handlers ------------------------------------------------------------

    def _chat_for_send(self, chat_id_raw: Any) -> _Chat:
        if chat_id_raw is None or chat_id_raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id_raw, str) and chat_id_raw.startswith("@"):
            for chat in self.chats.values():
                if chat.json.get("username", "").lower() == chat_id_raw[1:].lower():
                    return self._check_blocked(chat)
            raise bad_request("chat not found")
        chat_id = _as_int(chat_id_raw, "chat_id")
        chat = self.chats.get(chat_id)
        if chat is None:
            if self.unknown_chats == "not_found":
                raise bad_request("chat not found")
            if self.unknown_chats == "forbidden":
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if chat_id > 0:
                chat_json = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            elif str(chat_id).startswith("-100"):
                chat_json = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
            else:
                chat_json = {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}
            chat = self.chats[chat_id] = _Chat(chat_json, known=False)
        return self._check_blocked(chat)

    def _check_blocked(self, chat: _Chat) -> _Chat:
        if chat.json["id"] in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(self, text: Any, parse_mode: Any, entities: Any, *, caption: bool = False) -> tuple[str, list[dict]]:
        """Parses text or caption like Telegram; returns (plain text, entities) or raises 400."""
        if text is None:
            text = ""
        if not isinstance(text, str):
            text = str(text)
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, found = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("", "none"):
            plain = text
            found = [dict(e) for e in _json_value(entities)] if entities else []
        elif mode in ("markdown", "markdownv2"):
            plain, found = text, []  # not validated here: this project sends HTML
        else:
            raise bad_request("unsupported parse_mode")
        plain, found = strip_text(plain, found)
        if not plain and not caption:
            raise bad_request("message text is empty")
        limit = MAX_CAPTION if caption else MAX_TEXT
        if utf16_len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, found

    def _inline_markup(self, raw: Any) -> dict | None:
        """Validates reply_markup; returns the inline keyboard a Message echoes (or None)."""
        if raw is None or raw == "":
            return None
        markup = _json_value(raw)
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards, ForceReply, ReplyKeyboardRemove: not part of the Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("BUTTON_TEXT_INVALID" if isinstance(button, dict) else "can't parse inline keyboard button")
                actions = [k for k in ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
                                       "login_url", "web_app", "pay", "callback_game", "copy_text",
                                       "switch_inline_query_chosen_chat") if k in button]
                if not actions:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://", "tg://")):
                        raise bad_request("BUTTON_URL_INVALID")
        return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}

    def _reply_to(self, chat: _Chat, params: dict) -> dict | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if reply is not None:
            reply = _json_value(reply)
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        found = chat.messages.get(_as_int(message_id, "message_id"))
        if found is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return copy.deepcopy({k: v for k, v in found.items() if k != "reply_to_message"})

    def _store_bot_message(self, chat: _Chat, method: str, fields: dict, call: Call, *,
                           html: str | None = None, document: FileEntry | None = None,
                           photo: FileEntry | None = None) -> SentMessage:
        message: dict[str, Any] = {
            "message_id": chat.allocate_id(), "from": dict(self.bot_user), "chat": dict(chat.json),
            "date": int(time.time()),
        }
        reply_to = self._reply_to(chat, call.params)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(fields)
        chat.messages[message["message_id"]] = message
        record = SentMessage(
            chat_id=chat.json["id"], message_id=message["message_id"], method=method, json=message,
            html=html, parse_mode=call.params.get("parse_mode"), params=dict(call.params),
            document=document, photo=photo,
        )
        self.bot_messages[(record.chat_id, record.message_id)] = record
        record.seq = record.sent_seq = next(self._seq)
        return record

    def _bot_message(self, params: dict) -> tuple[_Chat, SentMessage]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake server")
        chat = self._chat_for_send(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"), "message_id")
        record = self.bot_messages.get((chat.json["id"], message_id))
        if record is None or record.deleted:
            if message_id in chat.messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return chat, record

    def _input_file(self, call: Call, name: str, kind: str) -> FileEntry:
        value = call.params.get(name)
        upload = call.files.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value[len("attach://"):])
        if upload is not None:
            return self.register_file(upload.content, kind=kind, file_name=upload.filename,
                                      mime_type=upload.content_type)
        if isinstance(value, str) and value:
            if value in self.files:
                return self.files[value]
            if value.lower().startswith(("http://", "https://")):
                name_part = value.rsplit("/", 1)[-1] or None
                return self.register_file(None, kind=kind, file_name=name_part)
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {name} in the request")

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = _json_value(scope) if scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True)


# --- method handlers --------------------------------------------------------------------------

Handler = Callable[[FakeTelegramServer, Call], Awaitable[Any]]
_HANDLERS: dict[str, Handler] = {}


def _method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn
    return register


@_method("getMe")
async def _get_me(server: FakeTelegramServer, call: Call) -> Any:
    return dict(server.bot_user)


@_method("getUpdates")
async def _get_updates(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    if server.webhook is not None:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    offset = p.get("offset")
    limit = min(max(int(_as_float(p.get("limit"), 100)), 1), 100)
    timeout = min(max(_as_float(p.get("timeout"), 0), 0), server.max_long_poll)
    allowed = p.get("allowed_updates")
    if allowed is not None:
        allowed = _json_value(allowed)
        server._allowed_updates = frozenset(allowed) if allowed else None
    if offset is not None:
        offset = _as_int(offset, "offset")
        if offset < 0:
            drop = len(server._updates) + offset
            server._updates = server._updates[max(drop, 0):]
        else:
            server._updates = [u for u in server._updates if u["update_id"] >= offset]
            server.confirmed_update_id = max(server.confirmed_update_id, offset)
    # A newer getUpdates ends an older one, as on Telegram.
    server._poll_generation += 1
    generation = server._poll_generation
    server._notify()
    deadline = time.monotonic() + timeout
    assert server._closing is not None
    while True:
        if call.client_gone:
            return []  # nobody to deliver to: the updates stay queued
        if generation != server._poll_generation:
            raise ApiError(409, _CONFLICT_OTHER_POLL)
        server._updates = [u for u in server._updates if _allowed(server, u)]
        batch = server._updates[:limit]
        if batch or server._closing.is_set() or time.monotonic() >= deadline:
            server.delivered_update_ids.update(u["update_id"] for u in batch)
            return copy.deepcopy(batch)
        await server._wait_changed(deadline - time.monotonic())


def _allowed(server: FakeTelegramServer, update: dict) -> bool:
    kind = next(k for k in update if k != "update_id")
    if server._allowed_updates is None:
        return kind not in DEFAULT_EXCLUDED_UPDATES
    return kind in server._allowed_updates


@_method("setWebhook")
async def _set_webhook(server: FakeTelegramServer, call: Call) -> Any:
    url = call.params.get("url") or ""
    if not url:
        server.webhook = None
        return True
    if not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    server.webhook = {k: v for k, v in call.params.items() if k != "certificate"}
    if call.params.get("drop_pending_updates"):
        server._updates.clear()
    return True


@_method("deleteWebhook")
async def _delete_webhook(server: FakeTelegramServer, call: Call) -> Any:
    server.webhook = None
    if call.params.get("drop_pending_updates"):
        server._updates.clear()
    return True


@_method("getWebhookInfo")
async def _get_webhook_info(server: FakeTelegramServer, call: Call) -> Any:
    info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(server._updates)}
    if server.webhook:
        info["url"] = server.webhook["url"]
        if "allowed_updates" in server.webhook:
            info["allowed_updates"] = _json_value(server.webhook["allowed_updates"])
    return info


@_method("setMyCommands")
async def _set_my_commands(server: FakeTelegramServer, call: Call) -> Any:
    commands = _json_value(call.params.get("commands"))
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be a list of at most 100 BotCommand")
    for command in commands:
        name = command.get("command", "")
        if not (1 <= len(name) <= 32) or not all(c.islower() or c.isdigit() or c == "_" for c in name) or not name.isascii():
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command.get("description", "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    scope = _json_value(call.params["scope"]) if call.params.get("scope") else None
    if scope and scope.get("type") in ("chat", "chat_administrators", "chat_member"):
        server._chat_for_send(scope.get("chat_id"))
    key = (server._scope_key(call.params.get("scope")), call.params.get("language_code") or "")
    server.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
    return True


@_method("getMyCommands")
async def _get_my_commands(server: FakeTelegramServer, call: Call) -> Any:
    return server.commands_for(call.params.get("scope"), call.params.get("language_code") or "")


@_method("deleteMyCommands")
async def _delete_my_commands(server: FakeTelegramServer, call: Call) -> Any:
    server.commands.pop((server._scope_key(call.params.get("scope")), call.params.get("language_code") or ""), None)
    return True


@_method("sendMessage")
async def _send_message(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    text, entities = server._format(p.get("text"), p.get("parse_mode"), p.get("entities"))
    fields: dict[str, Any] = {"text": text}
    if entities:
        fields["entities"] = entities
    markup = server._inline_markup(p.get("reply_markup"))
    if markup:
        fields["reply_markup"] = markup
    if p.get("link_preview_options"):
        fields["link_preview_options"] = _json_value(p["link_preview_options"])
    record = server._store_bot_message(chat, "sendMessage", fields, call, html=p.get("text"))
    return copy.deepcopy(record.json)


def _caption_fields(server: FakeTelegramServer, p: dict) -> dict[str, Any]:
    if p.get("caption") in (None, ""):
        return {}
    caption, entities = server._format(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True)
    fields: dict[str, Any] = {"caption": caption} if caption else {}
    if entities:
        fields["caption_entities"] = entities
    return fields


@_method("sendDocument")
async def _send_document(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    fields = _caption_fields(server, p)
    markup = server._inline_markup(p.get("reply_markup"))
    entry = server._input_file(call, "document", "document")
    if entry.content is not None and len(entry.content) == 0:
        raise bad_request("file must be non-empty")
    document = {"file_id": entry.file_id, "file_unique_id": entry.file_unique_id}
    for key in ("file_name", "mime_type", "file_size"):
        if getattr(entry, key) is not None:
            document[key] = getattr(entry, key)
    fields["document"] = document
    if markup:
        fields["reply_markup"] = markup
    record = server._store_bot_message(chat, "sendDocument", fields, call, html=p.get("caption"), document=entry)
    return copy.deepcopy(record.json)


def photo_sizes(entry: FileEntry) -> list[dict]:
    """Three PhotoSize objects for one stored photo, as Telegram returns them."""
    sizes = []
    for i, (w, h) in enumerate(((90, 67), (320, 240), (800, 600))):
        size = {"file_id": f"{entry.file_id}_{i}" if i < 2 else entry.file_id,
                "file_unique_id": f"{entry.file_unique_id}{i}" if i < 2 else entry.file_unique_id,
                "width": w, "height": h}
        if entry.file_size is not None:
            size["file_size"] = entry.file_size if i == 2 else max(entry.file_size // (3 - i) // 4, 1)
        sizes.append(size)
    return sizes


@_method("sendPhoto")
async def _send_photo(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    fields = _caption_fields(server, p)
    markup = server._inline_markup(p.get("reply_markup"))
    entry = server._input_file(call, "photo", "photo")
    fields["photo"] = photo_sizes(entry)
    if markup:
        fields["reply_markup"] = markup
    record = server._store_bot_message(chat, "sendPhoto", fields, call, html=p.get("caption"), photo=entry)
    return copy.deepcopy(record.json)


_COPYABLE = ("text", "entities", "caption", "caption_entities", "document", "photo", "sticker", "location",
             "voice", "video", "audio", "animation", "contact", "venue", "video_note")


def _source_message(server: FakeTelegramServer, p: dict, what: str) -> dict:
    source_chat = server.chats.get(_as_int(p.get("from_chat_id"), "from_chat_id"))
    if source_chat is None:
        raise bad_request("chat not found")
    message = source_chat.messages.get(_as_int(p.get("message_id"), "message_id"))
    if message is None:
        raise bad_request(f"message to {what} not found")
    return message


@_method("copyMessage")
async def _copy_message(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    source = _source_message(server, p, "copy")
    fields = {k: copy.deepcopy(v) for k, v in source.items() if k in _COPYABLE}
    if not fields:
        raise bad_request("message can't be copied")
    if "caption" in p:
        fields.pop("caption", None)
        fields.pop("caption_entities", None)
        fields.update(_caption_fields(server, p))
    markup = server._inline_markup(p.get("reply_markup"))
    if markup:
        fields["reply_markup"] = markup
    record = server._store_bot_message(chat, "copyMessage", fields, call, html=p.get("caption"))
    return {"message_id": record.message_id}


def forward_origin_of(server: FakeTelegramServer, message: dict) -> dict:
    """The forward_origin a forward of `message` carries (its own origin if it was a forward)."""
    if "forward_origin" in message:
        return copy.deepcopy(message["forward_origin"])
    chat = message.get("chat", {})
    if chat.get("type") == "channel":
        origin = {"type": "channel", "date": message["date"], "chat": dict(chat), "message_id": message["message_id"]}
        if message.get("author_signature"):
            origin["author_signature"] = message["author_signature"]
        return origin
    if message.get("sender_chat"):
        return {"type": "chat", "date": message["date"], "sender_chat": dict(message["sender_chat"])}
    return {"type": "user", "date": message["date"], "sender_user": dict(message.get("from", {}))}


@_method("forwardMessage")
async def _forward_message(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    source = _source_message(server, p, "forward")
    fields = {k: copy.deepcopy(v) for k, v in source.items() if k in _COPYABLE}
    fields["forward_origin"] = forward_origin_of(server, source)
    record = server._store_bot_message(chat, "forwardMessage", fields, call)
    return copy.deepcopy(record.json)


def _edited(server: FakeTelegramServer, record: Any, markup: Any) -> Any:
    """Gives an edited message its new keyboard, edit date and place in the order; returns it."""
    record.json.pop("reply_markup", None)
    if markup:
        record.json["reply_markup"] = markup
    record.json["edit_date"] = int(time.time())
    record.seq = next(server._seq)
    return copy.deepcopy(record.json)


@_method("editMessageText")
async def _edit_message_text(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    _, record = server._bot_message(p)
    if "text" not in record.json:
        raise bad_request("there is no text in the message to edit")
    text, entities = server._format(p.get("text"), p.get("parse_mode"), p.get("entities"))
    markup = server._inline_markup(p.get("reply_markup"))
    if text == record.json.get("text") and entities == record.json.get("entities", []) and markup == record.reply_markup:
        raise bad_request("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
    record.history.append(record.json["text"])
    record.json["text"] = text
    record.json.pop("entities", None)
    if entities:
        record.json["entities"] = entities
    record.html, record.parse_mode, record.params = p.get("text"), p.get("parse_mode"), dict(p)
    return _edited(server, record, markup)


@_method("editMessageCaption")
async def _edit_message_caption(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    _, record = server._bot_message(p)
    if "text" in record.json:
        raise bad_request("there is no caption in the message to edit")
    fields = _caption_fields(server, p)
    markup = server._inline_markup(p.get("reply_markup"))
    record.history.append(record.json.get("caption", ""))
    record.json.pop("caption", None)
    record.json.pop("caption_entities", None)
    record.json.update(fields)
    return _edited(server, record, markup)


@_method("editMessageReplyMarkup")
async def _edit_message_reply_markup(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    _, record = server._bot_message(p)
    markup = server._inline_markup(p.get("reply_markup"))
    if markup == record.reply_markup:
        raise bad_request("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
    return _edited(server, record, markup)


@_method("deleteMessage")
async def _delete_message(server: FakeTelegramServer, call: Call) -> Any:
    p = call.params
    chat = server._chat_for_send(p.get("chat_id"))
    message_id = _as_int(p.get("message_id"), "message_id")
    if chat.messages.pop(message_id, None) is None:
        raise bad_request("message to delete not found")
    record = server.bot_messages.get((chat.json["id"], message_id))
    if record is not None:
        record.deleted = True
        record.seq = next(server._seq)
    return True


@_method("answerCallbackQuery")
async def _answer_callback_query(server: FakeTelegramServer, call: Call) -> Any:
    query = server.callback_queries.get(str(call.params.get("callback_query_id", "")))
    if query is None or query.answered:
        raise bad_request(_QUERY_INVALID)
    text = call.params.get("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    query.answer = {k: v for k, v in call.params.items() if k != "callback_query_id"}
    return True


@_method("sendChatAction")
async def _send_chat_action(server: FakeTelegramServer, call: Call) -> Any:
    server._chat_for_send(call.params.get("chat_id"))
    if not call.params.get("action"):
        raise bad_request("wrong parameter action in request")
    return True


@_method("getFile")
async def _get_file(server: FakeTelegramServer, call: Call) -> Any:
    file_id = str(call.params.get("file_id") or "")
    entry = server.files.get(file_id)
    if entry is None:
        # Smaller photo sizes share their photo's entry.
        base = file_id.rsplit("_", 1)[0]
        entry = server.files.get(base)
    if entry is None:
        raise bad_request("invalid file_id")
    result: dict[str, Any] = {"file_id": file_id, "file_unique_id": entry.file_unique_id}
    if entry.file_size is not None:
        result["file_size"] = entry.file_size
    if entry.content is not None:
        result["file_path"] = entry.file_path
    return result


@_method("getChat")
async def _get_chat(server: FakeTelegramServer, call: Call) -> Any:
    chat = server._chat_for_send(call.params.get("chat_id"))
    return dict(chat.json, accent_color_id=0, max_reaction_count=11)


@_method("close")
async def _close(server: FakeTelegramServer, call: Call) -> Any:
    return True


@_method("logOut")
async def _log_out(server: FakeTelegramServer, call: Call) -> Any:
    return True


_METHOD_NAMES = {name.lower(): name for name in _HANDLERS}
