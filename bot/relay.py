"""Two-way relay between admins and a reporter who agreed to be contacted.

An admin writes `/reply REF text`, or replies to a message that stands for a report (the alert
in the admin chat, a /show message, a reporter's relayed answer). The reporter receives it in
their report's language, tagged with the reference, with a button to answer. Their answer (the
next text after tapping it, or a reply to the relayed message) reaches the admin chat
(`ADMIN_CHAT_ID`, else each admin's private chat), tagged the same way.

Neither side learns who the other is: the reporter sees the bot only; admins see the reference
only, never the chat id kept for contacting (`reports.contact_chat_id`).

`relay_messages` maps (chat id, message id) to a report for every message a reply can follow;
the same keys are kept in memory (loaded at start-up) so a message filter can tell, without a
database round trip, whether a reply belongs here or to the features after this one. A tap on
"answer" is remembered in memory only, for `ANSWER_WINDOW`: after a restart the reporter taps
again or replies to the message.

Button data: `relay:ans:<report id>` (answer; honoured only for the report's own reporter),
`relay:cancel`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlite_utils
from telegram import Bot, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.audit import admin_only, audit
from bot.db import utc_now
from bot.replies import Button, Reply
from bot.services import SERVICES_KEY, Services, services
from bot.ui import markup, send

log = logging.getLogger(__name__)

LINKS = "relay_links"
PENDING = "relay_pending"
ANSWER_WINDOW = 30 * 60  # seconds


# --- logic -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contact:
    report_id: int
    reference: str
    language: str
    reporter_key: str
    chat_id: int | None  # None: the reporter did not agree to be contacted


def _contact(row: dict) -> Contact:
    chat_id = row["contact_chat_id"] if row["contact_ok"] else None
    return Contact(row["id"], row["reference"], row["language"], row["reporter_key"], chat_id)


_CONTACT_SQL = "select id, reference, language, reporter_key, contact_ok, contact_chat_id from reports"


def contact_by_reference(db: sqlite_utils.Database, reference: str) -> Contact | None:
    """Returns how to reach the reporter of the report with this reference, or None."""
    reference = reference.strip()
    for candidate in dict.fromkeys((reference, reference.upper())):
        rows = list(db.query(f"{_CONTACT_SQL} where reference = ?", [candidate]))
        if rows:
            return _contact(rows[0])
    return None


def contact_by_id(db: sqlite_utils.Database, report_id: int) -> Contact | None:
    rows = list(db.query(f"{_CONTACT_SQL} where id = ?", [report_id]))
    return _contact(rows[0]) if rows else None


def add_link(db: sqlite_utils.Database, chat_id: int, message_id: int, report_id: int) -> None:
    """Remembers that a message stands for a report, so a reply to it follows the report."""
    with db.atomic():
        db.execute(
            "insert or replace into relay_messages (chat_id, message_id, report_id, created_at) "
            "values (?, ?, ?, ?)",
            [chat_id, message_id, report_id, utc_now()],
        )


def linked_report(db: sqlite_utils.Database, chat_id: int, message_id: int) -> int | None:
    """Returns the report a message stands for, or None."""
    rows = list(db.query("select report_id from relay_messages where chat_id = ? and message_id = ?",
                         [chat_id, message_id]))
    return rows[0]["report_id"] if rows else None


def all_links(db: sqlite_utils.Database) -> set[tuple[int, int]]:
    return {(row[0], row[1]) for row in db.execute("select chat_id, message_id from relay_messages")}


def admin_destinations(svc: Services) -> list[int]:
    """Where a reporter's answer goes: the admin chat, else each admin's private chat."""
    if svc.settings.admin_chat_id is not None:
        return [svc.settings.admin_chat_id]
    return sorted(svc.settings.admin_ids)


def split_reference(message_text: str) -> tuple[str, str]:
    """Splits `/command REF free text`, keeping the text's own line breaks."""
    parts = message_text.split(maxsplit=2)
    return (parts[1] if len(parts) > 1 else ""), (parts[2].strip() if len(parts) > 2 else "")


# --- shared state ----------------------------------------------------------------------------

def _links(svc: Services) -> set[tuple[int, int]]:
    return svc.memory.setdefault(LINKS, set())


def _pending(svc: Services) -> dict[str, tuple[int, float]]:
    return svc.memory.setdefault(PENDING, {})


async def remember_link(svc: Services, chat_id: int, message_id: int, report_id: int) -> None:
    """Links a sent message to its report, in memory and in the database.

    Memory first: a reply that arrives meanwhile already passes the filter, and its database
    lookup queues behind this write on the one database thread.
    """
    _links(svc).add((chat_id, message_id))
    await svc.store.run(add_link, chat_id, message_id, report_id)


def _awaiting_report(svc: Services, user_id: int) -> int | None:
    entry = _pending(svc).get(svc.user_key(user_id))
    if entry is None:
        return None
    report_id, until = entry
    if time.monotonic() > until:
        _pending(svc).pop(svc.user_key(user_id), None)
        return None
    return report_id


class _LinkedReply(filters.MessageFilter):
    """A reply to a message that stands for a report."""

    def __init__(self, svc: Services) -> None:
        super().__init__(name="relay.linked_reply")
        self.svc = svc

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return replied is not None and (message.chat_id, replied.message_id) in _links(self.svc)


class _AwaitingAnswer(filters.MessageFilter):
    """A private message from a reporter who tapped "answer" and has not written yet."""

    def __init__(self, svc: Services) -> None:
        super().__init__(name="relay.awaiting_answer")
        self.svc = svc

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and _awaiting_report(self.svc, user.id) is not None


# --- sending ---------------------------------------------------------------------------------

async def deliver_to_reporter(bot: Bot, svc: Services, contact: Contact, text: str) -> str:
    """Sends an admin's message to the reporter; returns "sent", "no_consent" or "unreachable"."""
    if contact.chat_id is None:
        return "no_consent"
    lang = contact.language
    reply = Reply(svc.renderer.html(lang, "relay/to_reporter", reference=contact.reference, text=text),
                  ((Button(svc.renderer.text(lang, "relay/button_answer"), data=f"relay:ans:{contact.report_id}"),),))
    try:
        message = await bot.send_message(chat_id=contact.chat_id, text=reply.text, parse_mode=ParseMode.HTML,
                                         reply_markup=markup(reply.buttons))
    except Forbidden:
        return "unreachable"
    await remember_link(svc, contact.chat_id, message.message_id, contact.report_id)
    return "sent"


async def deliver_to_admins(bot: Bot, svc: Services, contact: Contact, text: str) -> int:
    """Sends a reporter's answer to the admins; returns how many chats received it."""
    lang = svc.settings.default_language
    body = svc.renderer.html(lang, "relay/from_reporter", reference=contact.reference, text=text)
    delivered = 0
    for chat_id in admin_destinations(svc):
        try:
            message = await bot.send_message(chat_id=chat_id, text=body, parse_mode=ParseMode.HTML,
                                             protect_content=True)
        except TelegramError as exc:
            log.info("could not deliver a reporter's answer to one admin chat: %s", type(exc).__name__)
            continue
        await remember_link(svc, chat_id, message.message_id, contact.report_id)
        delivered += 1
    return delivered


async def _relay_from_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact | None,
                            reference: str, text: str) -> None:
    svc = services(context)
    lang = await svc.language_for(update)
    if contact is None:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/not_found", reference=reference)))
        return
    outcome = await deliver_to_reporter(context.bot, svc, contact, text)
    await audit(context, update, "reply", str(contact.report_id), outcome)
    await send(update, context, Reply(svc.renderer.html(lang, f"relay/outcome_{outcome}", reference=contact.reference)))


# --- handlers --------------------------------------------------------------------------------

@admin_only
async def reply_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends an admin's message to the reporter of a report."""
    svc = services(context)
    reference, text = split_reference(update.effective_message.text or "")
    if not reference or not text:
        lang = await svc.language_for(update)
        await send(update, context, Reply(svc.renderer.html(lang, "relay/reply_usage")))
        return
    contact = await svc.store.run(contact_by_reference, reference)
    await _relay_from_admin(update, context, contact, reference, text)


@admin_only
async def admin_linked_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends an admin's reply to a report's message on to its reporter."""
    svc = services(context)
    message = update.effective_message
    report_id = await svc.store.run(linked_report, message.chat_id, message.reply_to_message.message_id)
    contact = await svc.store.run(contact_by_id, report_id) if report_id is not None else None
    await _relay_from_admin(update, context, contact, "", message.text)


async def _reporter_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, report_id: int | None) -> None:
    svc = services(context)
    user = update.effective_user
    _pending(svc).pop(svc.user_key(user.id), None)
    contact = await svc.store.run(contact_by_id, report_id) if report_id is not None else None
    if contact is None or contact.reporter_key != svc.user_key(user.id):
        return
    delivered = await deliver_to_admins(context.bot, svc, contact, update.effective_message.text)
    key = "relay/answer_sent" if delivered else "relay/answer_failed"
    await send(update, context, Reply(svc.renderer.html(contact.language, key, reference=contact.reference)))


async def linked_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Routes a reply to a report's message: from admins to the reporter, or back."""
    svc = services(context)
    chat = update.effective_chat
    is_admin_side = chat.id == svc.settings.admin_chat_id or (
        chat.type == ChatType.PRIVATE and svc.settings.is_admin(chat.id))
    if is_admin_side or chat.type != ChatType.PRIVATE:
        await admin_linked_reply(update, context)
        return
    message = update.effective_message
    report_id = await svc.store.run(linked_report, message.chat_id, message.reply_to_message.message_id)
    await _reporter_answer(update, context, report_id)


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the reporter's answer to the admins."""
    svc = services(context)
    await _reporter_answer(update, context, _awaiting_report(svc, update.effective_user.id))


async def answer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks the reporter for their answer, if the report is theirs."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    contact = await svc.store.run(contact_by_id, int(query.data.split(":")[2]))
    user_key = svc.user_key(update.effective_user.id)
    if contact is None or contact.reporter_key != user_key or update.effective_chat.type != ChatType.PRIVATE:
        return
    _pending(svc)[user_key] = (contact.report_id, time.monotonic() + ANSWER_WINDOW)
    reply = Reply(svc.renderer.html(contact.language, "relay/ask_answer", reference=contact.reference),
                  ((Button(svc.renderer.text(contact.language, "relay/button_cancel"), data="relay:cancel"),),))
    await send(update, context, reply)


async def cancel_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forgets that the reporter was about to answer."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    if _pending(svc).pop(svc.user_key(update.effective_user.id), None) is None:
        return
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "relay/answer_cancelled")))


def register(application: Application) -> None:
    """Adds the relay handlers (called by the admin feature, first in routing)."""
    svc: Services = application.bot_data[SERVICES_KEY]
    new_text = filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED
    application.add_handlers([
        CommandHandler("reply", reply_command),
        MessageHandler(new_text & filters.REPLY & _LinkedReply(svc), linked_reply),
        MessageHandler(new_text & filters.ChatType.PRIVATE & _AwaitingAnswer(svc), answer_text),
        CallbackQueryHandler(answer_pressed, pattern=r"^relay:ans:\d{1,18}$"),
        CallbackQueryHandler(cancel_pressed, pattern=r"^relay:cancel$"),
    ])


async def on_startup(application: Application) -> None:
    """Loads the messages replies can follow."""
    svc: Services = application.bot_data[SERVICES_KEY]
    _links(svc).update(await svc.store.run(all_links))
