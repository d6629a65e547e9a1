"""Awareness broadcasts: /subscribe, /unsubscribe, and an admin's /broadcast.

Users opt in with /subscribe (offered once, after their first answer) and out with
/unsubscribe. An admin's /broadcast asks for the English text, then the Arabic one (or "the same
text for both"), shows each exactly as subscribers will see it, and asks for confirmation. Then a
JobQueue job sends in batches of `BATCH` a second (under Telegram's 30 messages a second),
reports progress to the admin, and removes subscribers who blocked the bot.

Delivery is at most once. Each batch is *claimed* (a `broadcast_deliveries` row with outcome
"sending", committed) before any of its messages is sent, then each row is settled ("sent",
"blocked", "failed"). A crash between claim and send leaves "sending" rows; on restart
(`on_startup` resumes every broadcast still "sending") they become "unknown" and are never
retried: the message may have gone out, and no one must get the same broadcast twice. The price
is that a crash can skip at most one batch (20 people); the alternative, sending first and then
recording, would send that batch twice. A send that Telegram refused without delivering (flood
control, a network error before the request went out) releases its claim so a later batch
retries it; a timeout does not, since a timed-out message may have been delivered.

Button data: `adm:bc:same`, `adm:bc:cancel` (while composing), `adm:bc:send:<id>`,
`adm:bc:drop:<id>` (confirm or discard a draft; compare-and-set, so two presses send once),
`sub:yes`, `sub:no` (the one-time offer to subscribe).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlite_utils
from telegram import Bot, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.audit import admin_only, audit, record
from bot.db import utc_now
from bot.replies import Button, Reply
from bot.services import SERVICES_KEY, Services, services
from bot.settings import LANGUAGES
from bot.ui import edit_or_send, send

log = logging.getLogger(__name__)

BATCH = 20  # messages per tick
TICK = 1.0  # seconds between batch starts
PROGRESS_EVERY = 10  # batches between progress updates
MAX_TEXT = 3500  # characters of an admin's text, leaving room for the template
COMPOSE = "broadcast_compose"
PROGRESS = "broadcast_progress"
OFFERED = "subscribe_offered"


# --- logic: subscribers ----------------------------------------------------------------------

def subscribe(db: sqlite_utils.Database, user_key: str, chat_id: int, language: str) -> bool:
    """Subscribes a user (or updates their language); returns True when newly subscribed."""
    with db.atomic():
        existed = db.execute("select 1 from subscribers where user_key = ?", [user_key]).fetchone() is not None
        db.execute(
            "insert into subscribers (user_key, chat_id, language, subscribed_at) values (?, ?, ?, ?) "
            "on conflict(user_key) do update set chat_id = excluded.chat_id, language = excluded.language",
            [user_key, chat_id, language, utc_now()],
        )
    return not existed


def unsubscribe(db: sqlite_utils.Database, user_key: str) -> bool:
    """Removes a subscriber; returns True when they were subscribed."""
    with db.atomic():
        return db.execute("delete from subscribers where user_key = ?", [user_key]).rowcount > 0


def is_subscribed(db: sqlite_utils.Database, user_key: str) -> bool:
    return db.execute("select 1 from subscribers where user_key = ?", [user_key]).fetchone() is not None


def claim_offer(db: sqlite_utils.Database, user_key: str) -> bool:
    """Marks that the user was offered /subscribe; True only the first time (and if not subscribed)."""
    now = utc_now()
    with db.atomic():
        changed = db.execute(
            "insert into users (user_key, subscribe_offered, created_at, updated_at) values (?, 1, ?, ?) "
            "on conflict(user_key) do update set subscribe_offered = 1, updated_at = excluded.updated_at "
            "where coalesce(users.subscribe_offered, 0) = 0",
            [user_key, now, now],
        ).rowcount
    return changed > 0 and not is_subscribed(db, user_key)


def audience(db: sqlite_utils.Database) -> dict[str, int]:
    """Counts subscribers by language."""
    counts = {lang: 0 for lang in LANGUAGES}
    for lang, n in db.execute("select language, count(*) from subscribers group by language"):
        counts[lang if lang in counts else LANGUAGES[0]] += n
    return counts


# --- logic: broadcasts -----------------------------------------------------------------------

def create_draft(db: sqlite_utils.Database, admin_id: int, admin_chat_id: int, text_en: str, text_ar: str) -> int:
    """Stores a broadcast awaiting confirmation; returns its id."""
    with db.atomic():
        return db.execute(
            "insert into broadcasts (admin_id, admin_chat_id, text_en, text_ar, status, created_at) "
            "values (?, ?, ?, ?, 'draft', ?)",
            [admin_id, admin_chat_id, text_en, text_ar, utc_now()],
        ).lastrowid


def get_broadcast(db: sqlite_utils.Database, broadcast_id: int) -> dict | None:
    rows = list(db.query("select * from broadcasts where id = ?", [broadcast_id]))
    return rows[0] if rows else None


def move(db: sqlite_utils.Database, broadcast_id: int, expected: str, new: str, admin_id: int | None = None) -> bool:
    """Moves a broadcast from `expected` to `new` status, once (compare-and-set); audited."""
    with db.atomic():
        finished = utc_now() if new in ("done", "cancelled") else None
        changed = db.execute(
            "update broadcasts set status = ?, finished_at = coalesce(?, finished_at) where id = ? and status = ?",
            [new, finished, broadcast_id, expected],
        ).rowcount == 1
        if changed and admin_id is not None:
            record(db, admin_id, f"broadcast_{new}", str(broadcast_id))
    return changed


def sending_broadcasts(db: sqlite_utils.Database) -> list[int]:
    return [row[0] for row in db.execute("select id from broadcasts where status = 'sending' order by id")]


def mark_interrupted(db: sqlite_utils.Database, broadcast_id: int) -> int:
    """Marks claims a crash left unsettled as "unknown" (maybe sent: never retried)."""
    with db.atomic():
        return db.execute(
            "update broadcast_deliveries set outcome = 'unknown', at = ? where broadcast_id = ? and outcome = 'sending'",
            [utc_now(), broadcast_id],
        ).rowcount


def claim_batch(db: sqlite_utils.Database, broadcast_id: int, size: int = BATCH) -> list[dict]:
    """Claims the next subscribers who have no delivery of this broadcast yet, and returns them.

    The claim is committed before anything is sent (see the module docstring).
    """
    with db.atomic():
        rows = list(db.query(
            "select user_key, chat_id, language from subscribers s where not exists "
            "(select 1 from broadcast_deliveries d where d.broadcast_id = ? and d.user_key = s.user_key) "
            "order by user_key limit ?",
            [broadcast_id, size],
        ))
        now = utc_now()
        db.conn.executemany(
            "insert into broadcast_deliveries (broadcast_id, user_key, outcome, at) values (?, ?, 'sending', ?)",
            [(broadcast_id, row["user_key"], now) for row in rows],
        )
    return rows


def settle(db: sqlite_utils.Database, broadcast_id: int, user_key: str, outcome: str) -> None:
    """Records how a claimed delivery ended; "retry" releases the claim, "blocked" unsubscribes."""
    with db.atomic():
        if outcome == "retry":
            db.execute("delete from broadcast_deliveries where broadcast_id = ? and user_key = ? and outcome = 'sending'",
                       [broadcast_id, user_key])
            return
        db.execute("update broadcast_deliveries set outcome = ?, at = ? where broadcast_id = ? and user_key = ?",
                   [outcome, utc_now(), broadcast_id, user_key])
        if outcome == "blocked":
            db.execute("delete from subscribers where user_key = ?", [user_key])


def progress(db: sqlite_utils.Database, broadcast_id: int) -> dict[str, int]:
    """Counts this broadcast's deliveries by outcome, and the subscribers still to reach."""
    counts = {"sent": 0, "blocked": 0, "failed": 0, "unknown": 0, "sending": 0}
    for outcome, n in db.execute(
            "select outcome, count(*) from broadcast_deliveries where broadcast_id = ? group by outcome", [broadcast_id]):
        counts[outcome] = counts.get(outcome, 0) + n
    counts["remaining"] = db.execute(
        "select count(*) from subscribers s where not exists (select 1 from broadcast_deliveries d "
        "where d.broadcast_id = ? and d.user_key = s.user_key)", [broadcast_id]).fetchone()[0]
    return counts


def text_for(broadcast: dict, language: str) -> str:
    return broadcast["text_ar"] if language == "ar" and broadcast["text_ar"] else broadcast["text_en"]


# --- sending ---------------------------------------------------------------------------------

async def _deliver(bot: Bot, svc: Services, broadcast: dict, subscriber: dict) -> str:
    lang = subscriber["language"] if subscriber["language"] in LANGUAGES else svc.settings.default_language
    text = svc.renderer.html(lang, "broadcast/message", text=text_for(broadcast, lang))
    try:
        # A timed-out send may have been delivered: not retried, so no one gets a broadcast twice.
        await bot.send_message(chat_id=subscriber["chat_id"], text=text, parse_mode=ParseMode.HTML,
                               rate_limit_args={"retry_timeouts": False})
    except Forbidden:
        return "blocked"
    except TimedOut:
        return "unknown"  # it may have been delivered
    except BadRequest as exc:
        # A chat that no longer exists will never receive anything: treat as blocked.
        return "blocked" if "chat not found" in str(exc).lower() else "failed"
    except (RetryAfter, NetworkError):
        return "retry"
    return "sent"


async def send_batch(bot: Bot, svc: Services, broadcast_id: int) -> bool:
    """Sends the next batch of a broadcast; returns False when nothing was left to send."""
    broadcast = await svc.store.run(get_broadcast, broadcast_id)
    if broadcast is None or broadcast["status"] != "sending":
        return False
    batch = await svc.store.run(claim_batch, broadcast_id, BATCH)
    if not batch:
        return False
    retries = 0
    for subscriber in batch:
        outcome = await _deliver(bot, svc, broadcast, subscriber)
        retries += outcome == "retry"
        await svc.store.run(settle, broadcast_id, subscriber["user_key"], outcome)
    if retries == len(batch):
        log.warning("a whole broadcast batch was refused; it will be retried")
    return True


async def _report_progress(bot: Bot, svc: Services, broadcast: dict, done: bool) -> None:
    counts = await svc.store.run(progress, broadcast["id"])
    lang = svc.settings.default_language
    text = svc.renderer.html(lang, "broadcast/done" if done else "broadcast/progress", id=broadcast["id"], **counts)
    messages: dict[int, int] = svc.memory.setdefault(PROGRESS, {})
    chat_id = broadcast["admin_chat_id"]
    try:
        if broadcast["id"] in messages and not done:
            await bot.edit_message_text(chat_id=chat_id, message_id=messages[broadcast["id"]], text=text,
                                        parse_mode=ParseMode.HTML)
            return
        message = await bot.send_message(chat_id=chat_id, text=text, parse_mode=ParseMode.HTML)
        messages[broadcast["id"]] = message.message_id
    except TelegramError as exc:
        log.info("could not report a broadcast's progress: %s", type(exc).__name__)
    if done:
        messages.pop(broadcast["id"], None)


async def broadcast_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends one batch of a broadcast and schedules the next, or finishes it."""
    svc = services(context)
    broadcast_id: int = context.job.data["id"]
    ticks: int = context.job.data.get("ticks", 0)
    started = time.monotonic()
    more = await send_batch(context.bot, svc, broadcast_id)
    broadcast = await svc.store.run(get_broadcast, broadcast_id)
    if broadcast is None:
        return
    if not more:
        if await svc.store.run(move, broadcast_id, "sending", "done"):
            await _report_progress(context.bot, svc, broadcast, done=True)
        return
    if ticks % PROGRESS_EVERY == 0:
        await _report_progress(context.bot, svc, broadcast, done=False)
    schedule(context.application, broadcast_id, delay=max(0.0, TICK - (time.monotonic() - started)), ticks=ticks + 1)


def schedule(application: Application, broadcast_id: int, delay: float = 0.0, ticks: int = 0) -> None:
    """Schedules the next batch of a broadcast (jobs live in memory; the state is in SQLite)."""
    application.job_queue.run_once(broadcast_job, when=delay, data={"id": broadcast_id, "ticks": ticks},
                                   name=f"broadcast:{broadcast_id}",
                                   # Run however late (e.g. scheduled before the job queue started).
                                   job_kwargs={"misfire_grace_time": None})


# --- handlers: subscribers -------------------------------------------------------------------

async def _subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply:
    svc = services(context)
    lang = await svc.language_for(update)
    new = await svc.store.run(subscribe, svc.user_key(update.effective_user.id), update.effective_chat.id, lang)
    return Reply(svc.renderer.html(lang, "broadcast/subscribed" if new else "broadcast/already_subscribed"))


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribes the user to awareness broadcasts."""
    await send(update, context, await _subscribe(update, context))


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unsubscribes the user from awareness broadcasts."""
    svc = services(context)
    lang = await svc.language_for(update)
    removed = await svc.store.run(unsubscribe, svc.user_key(update.effective_user.id))
    await send(update, context, Reply(svc.renderer.html(lang, "broadcast/unsubscribed" if removed
                                                        else "broadcast/not_subscribed")))


async def offer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribes the user, or declines, from the one-time offer."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    if query.data == "sub:yes":
        await edit_or_send(update, context, await _subscribe(update, context))
    else:
        lang = await svc.language_for(update)
        await edit_or_send(update, context, Reply(svc.renderer.html(lang, "broadcast/offer_declined")))


async def offer_subscription(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> None:
    """Offers /subscribe once, after a user's first answer (private chats only)."""
    svc = services(context)
    if update.effective_user is None or update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    key = svc.user_key(update.effective_user.id)
    offered: set[str] = svc.memory.setdefault(OFFERED, set())
    if key in offered:
        return
    offered.add(key)
    if not await svc.store.run(claim_offer, key):
        return
    reply = Reply(svc.renderer.html(lang, "broadcast/offer"),
                  ((Button(svc.renderer.text(lang, "broadcast/button_yes"), data="sub:yes"),
                    Button(svc.renderer.text(lang, "broadcast/button_no"), data="sub:no")),))
    await send(update, context, reply)


# --- handlers: composing a broadcast ---------------------------------------------------------

def _compose(svc: Services) -> dict[int, dict[str, Any]]:
    return svc.memory.setdefault(COMPOSE, {})


class _Composing(filters.MessageFilter):
    """A private text from an admin who is writing a broadcast."""

    def __init__(self, svc: Services) -> None:
        super().__init__(name="broadcast.composing")
        self.svc = svc

    def filter(self, message: Message) -> bool:
        return message.from_user is not None and message.from_user.id in _compose(self.svc)


def _cancel_button(svc: Services, lang: str) -> Button:
    return Button(svc.renderer.text(lang, "buttons/admin/bc_cancel"), data="adm:bc:cancel")


@admin_only
async def broadcast_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks the admin for the English text of a broadcast."""
    svc = services(context)
    lang = await svc.language_for(update)
    _compose(svc)[update.effective_user.id] = {"step": "en"}
    counts = await svc.store.run(audience)
    await send(update, context, Reply(svc.renderer.html(lang, "broadcast/ask_en", counts=counts),
                                      ((_cancel_button(svc, lang),),)))


@admin_only
async def compose_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes the English, then the Arabic text of a broadcast."""
    svc = services(context)
    lang = await svc.language_for(update)
    state = _compose(svc)[update.effective_user.id]
    text = (update.effective_message.text or "").strip()
    if not text or len(text) > MAX_TEXT:
        await send(update, context, Reply(svc.renderer.html(lang, "broadcast/too_long", limit=MAX_TEXT)))
        return
    if state["step"] == "en":
        state.update(step="ar", en=text)
        same = Button(svc.renderer.text(lang, "buttons/admin/bc_same"), data="adm:bc:same")
        await send(update, context, Reply(svc.renderer.html(lang, "broadcast/ask_ar"),
                                          ((same,), (_cancel_button(svc, lang),))))
        return
    await _preview(update, context, state["en"], text)


@admin_only
async def same_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Uses the English text for both languages and shows the preview."""
    svc = services(context)
    await update.callback_query.answer()
    state = _compose(svc).get(update.effective_user.id)
    if state is None or "en" not in state:
        return
    await _preview(update, context, state["en"], state["en"])


@admin_only
async def compose_cancel_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops writing a broadcast."""
    svc = services(context)
    await update.callback_query.answer()
    if _compose(svc).pop(update.effective_user.id, None) is not None:
        lang = await svc.language_for(update)
        await send(update, context, Reply(svc.renderer.html(lang, "broadcast/cancelled")))


async def _preview(update: Update, context: ContextTypes.DEFAULT_TYPE, text_en: str, text_ar: str) -> None:
    svc = services(context)
    lang = await svc.language_for(update)
    _compose(svc).pop(update.effective_user.id, None)
    broadcast_id = await svc.store.run(create_draft, update.effective_user.id, update.effective_chat.id,
                                       text_en, text_ar)
    await audit(context, update, "broadcast_draft", str(broadcast_id))
    for code, text in (("en", text_en), ("ar", text_ar)):
        await send(update, context, Reply(svc.renderer.html(code, "broadcast/message", text=text)))
    counts = await svc.store.run(audience)
    buttons = ((Button(svc.renderer.text(lang, "buttons/admin/bc_send"), data=f"adm:bc:send:{broadcast_id}"),
                Button(svc.renderer.text(lang, "buttons/admin/bc_drop"), data=f"adm:bc:drop:{broadcast_id}")),)
    await send(update, context, Reply(svc.renderer.html(lang, "broadcast/preview", counts=counts,
                                                        same=text_en == text_ar), buttons))


@admin_only
async def confirm_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts sending a confirmed broadcast, or discards it."""
    svc = services(context)
    query = update.callback_query
    _, _, action, raw_id = query.data.split(":")
    broadcast_id = int(raw_id)
    lang = await svc.language_for(update)
    new = "sending" if action == "send" else "cancelled"
    if not await svc.store.run(move, broadcast_id, "draft", new, update.effective_user.id):
        await query.answer(svc.renderer.text(lang, "admin/toast_bc_already"), show_alert=True)
        return
    await query.answer()
    await edit_or_send(update, context, Reply(svc.renderer.html(lang, f"broadcast/{'started' if new == 'sending' else 'dropped'}",
                                                                id=broadcast_id)))
    if new == "sending":
        schedule(context.application, broadcast_id)


def register(application: Application) -> None:
    """Adds the subscription and broadcast handlers (called by the admin feature)."""
    svc: Services = application.bot_data[SERVICES_KEY]
    private = filters.ChatType.PRIVATE
    application.add_handlers([
        CommandHandler("subscribe", subscribe_command, filters=private),
        CommandHandler("unsubscribe", unsubscribe_command, filters=private),
        CallbackQueryHandler(offer_pressed, pattern=r"^sub:(yes|no)$"),
        CommandHandler("broadcast", broadcast_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED & private & _Composing(svc),
                       compose_text),
        CallbackQueryHandler(same_pressed, pattern=r"^adm:bc:same$"),
        CallbackQueryHandler(compose_cancel_pressed, pattern=r"^adm:bc:cancel$"),
        CallbackQueryHandler(confirm_pressed, pattern=r"^adm:bc:(send|drop):\d{1,18}$"),
    ])


async def on_startup(application: Application) -> None:
    """Resumes the broadcasts a restart interrupted, without sending anyone one twice."""
    svc: Services = application.bot_data[SERVICES_KEY]
    for broadcast_id in await svc.store.run(sending_broadcasts):
        unknown = await svc.store.run(mark_interrupted, broadcast_id)
        log.info("resuming broadcast %d (%d deliveries left unknown by the interruption)", broadcast_id, unknown)
        if application.job_queue is None:
            log.warning("no job queue: broadcast %d cannot resume", broadcast_id)
            continue
        schedule(application, broadcast_id)
