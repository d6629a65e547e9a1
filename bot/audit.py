"""Who may act as an admin, and the record of everything admins do.

One check guards every admin handler and every admin button: `admin_only`. It decides from the
update's sender (`update.effective_user.id`) and the settings, never from anything the update
carries as data, so a forged or replayed button from anyone else changes nothing. Admin commands
work in an admin's private chat with the bot; admin buttons and replies to alerts also work in
`ADMIN_CHAT_ID` (where the alerts are).

Denied users see what any user sees for something the bot does not offer: an admin command is
answered exactly as an unknown command, an admin button with a polite "not allowed", and anything
else (a reply to an alert by a non-admin member of the admin chat) with nothing.

`record(db, ...)` writes one audit row per admin action: who (the admin's id), what, which
target, when.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable

import sqlite_utils
from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes, filters

from bot.db import utc_now
from bot.services import services
from bot.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]

# Where a command counts as "unknown" (mirrors the questions feature's unknown-command handler).
_ANSWERED_AS_UNKNOWN = filters.COMMAND & (
    filters.ChatType.PRIVATE | (filters.Entity(MessageEntity.MENTION) & filters.ChatType.GROUPS)
)


# --- logic -----------------------------------------------------------------------------------

def may_act(settings: Settings, user_id: int | None, chat_id: int | None, chat_type: str | None,
            command: bool = False) -> bool:
    """Tells whether this user may act as an admin in this chat.

    Admins are the ids in ADMIN_IDS. Their commands work in their private chat with the bot
    (an export or a whole report never lands in a group); their buttons and replies also work
    in the admin chat, where the alerts are. Anyone else, or an admin in any other group, may not.
    """
    if not settings.is_admin(user_id) or chat_id is None:
        return False
    if chat_type == ChatType.PRIVATE:
        return chat_id == user_id
    return not command and settings.admin_chat_id is not None and chat_id == settings.admin_chat_id


def record(db: sqlite_utils.Database, admin_id: int, action: str, target: str | None = None,
           detail: str | None = None) -> int:
    """Writes one audit row and returns its id."""
    with db.atomic():
        cursor = db.execute(
            "insert into audit (admin_id, action, target, detail, created_at) values (?, ?, ?, ?, ?)",
            [admin_id, action, target, detail, utc_now()],
        )
    return cursor.lastrowid


def recent(db: sqlite_utils.Database, limit: int = 20) -> list[dict]:
    """Returns the latest audit rows, newest first."""
    return list(db.query("select * from audit order by id desc limit ?", [limit]))


# --- the guard -------------------------------------------------------------------------------

def authorised(update: Update, settings: Settings) -> bool:
    """Tells whether the update's sender may act as an admin where the update came from."""
    user = update.effective_user
    chat = update.effective_chat
    command = update.callback_query is None and filters.COMMAND.check_update(update)
    return may_act(settings, user.id if user else None, chat.id if chat else None, chat.type if chat else None,
                   command=bool(command))


async def deny(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers someone who is not allowed, as the bot answers anything it does not offer."""
    svc = services(context)
    query = update.callback_query
    if query is not None:
        lang = await svc.language_for(update)
        await query.answer(svc.renderer.text(lang, "admin/toast_not_allowed"))
        return
    if _ANSWERED_AS_UNKNOWN.check_update(update):
        from bot.questions import unknown_command  # the same answer as any unknown command

        await unknown_command(update, context)


def admin_only(handler: Handler) -> Handler:
    """Runs `handler` only for an admin in a chat where admins act; denies everyone else."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        if not authorised(update, services(context).settings):
            log.info("denied an admin action to a non-admin")
            await deny(update, context)
            return None
        return await handler(update, context)

    return guarded


async def audit(context: ContextTypes.DEFAULT_TYPE, update: Update, action: str, target: str | None = None,
                detail: str | None = None) -> None:
    """Records that the update's admin did `action` on `target`."""
    await services(context).store.run(record, update.effective_user.id, action, target, detail)
