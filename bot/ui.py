"""Sending `Reply` objects to Telegram: the thin layer between plain logic and the Bot API."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.replies import Button, Reply


def markup(buttons: tuple[tuple[Button, ...], ...] | list[list[Button]]) -> InlineKeyboardMarkup | None:
    """Returns the inline keyboard for rows of buttons (None when there are none)."""
    rows = [[InlineKeyboardButton(b.label, callback_data=b.data) if b.data is not None
             else InlineKeyboardButton(b.label, url=b.url) for b in row] for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


async def send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply, **kwargs) -> Message:
    """Sends `reply` to the chat the update came from."""
    return await context.bot.send_message(
        chat_id=update.effective_chat.id,
        text=reply.text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup(reply.buttons),
        link_preview_options=None,
        **kwargs,
    )


async def edit_or_send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Shows `reply` in place of the message whose button was pressed, or as a new message."""
    query = update.callback_query
    if query is not None and query.message is not None and getattr(query.message, "text", None):
        try:
            await query.edit_message_text(text=reply.text, parse_mode=ParseMode.HTML,
                                          reply_markup=markup(reply.buttons))
            return
        except BadRequest as exc:
            # Same text as before, or the message is too old to edit: send a new one instead.
            if "not modified" in str(exc).lower():
                return
    await send(update, context, reply)
