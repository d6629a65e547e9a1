"""Is this offer safe? Checks forwarded, pasted and /check'ed offers for warning signs.

Ways in (private chats unless said otherwise):
- a forwarded message (its text or caption), before anything else would take it;
- `/check TEXT`, or `/check` and then the offer as the next message (also the `check:start`
  button); in groups, `/check` in reply to a message, or `/check TEXT`;
- a photo with a caption;
- a pasted text that reads like an offer (`bot.signs.looks_like_offer`): the bot asks "Check this
  offer?" with Yes/No buttons; No answers it as a question.

The answer lists the signs found (most serious first, each with its reason and source), a careful
verdict, the contacts found, and buttons: report it (`check:report:<id>`, opened by the report
conversation), ask a question (`menu:topics`), dismiss (`check:dismiss:<id>`).

Nothing is written to the database: the check is kept in memory only (`bot.signs.remember_check`)
for an hour so that "report it" can pre-fill the report; the waiting state lives in
`context.user_data` (never persisted), and a pasted text waiting for Yes/No in memory for 15
minutes at most (`bot.signs.hold_pasted`).
"""

from __future__ import annotations

import time

from telegram import (Message, MessageEntity, MessageOriginChannel, MessageOriginChat, MessageOriginHiddenUser,
                      MessageOriginUser, Update)
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import reports
from bot.i18n import Renderer
from bot.knowledge import Knowledge
from bot.questions import answer_question
from bot.replies import Button, Reply
from bot.services import services
from bot.signs import (CheckResult, check_offer, could_be_offer, default_catalogue, forget_check, hold_pasted,
                       looks_like_offer, remember_check, take_pasted)
from bot.ui import edit_or_send, send

WAITING_KEY = "offers.waiting"  # user_data: when /check started waiting for the offer (monotonic)
WAIT_SECONDS = 15 * 60
TOKEN = r"[A-Za-z0-9_-]{4,16}"
MAX_MESSAGE = 4096


# --- logic -----------------------------------------------------------------------------------

def check_reply(knowledge: Knowledge, renderer: Renderer, result: CheckResult, lang: str, check_id: str) -> Reply:
    """The answer to a check: signs with reasons and sources, verdict, contacts, next steps.

    Kept under Telegram's 4,096 characters by shortening the contact list first, then the list
    of signs (the most serious stay).
    """
    sources: dict[str, int] = {}
    lines = []
    for sign in result.signs:
        refs = sorted(sources.setdefault(doc.id, len(sources) + 1) for doc in knowledge.documents_for(sign.facts))
        lines.append({"label": sign.label.get(lang) or sign.label.get("en", sign.id),
                      "reason": sign.reason.get(lang) or sign.reason.get("en", ""), "refs": refs})
    titles = [{"n": n, "title": knowledge.documents[doc_id].title.get(lang) or knowledge.documents[doc_id].title.get("en", doc_id)}
              for doc_id, n in sources.items()]
    contacts = list(result.contacts)
    shown_signs, shown_contacts = len(lines), len(contacts)
    while True:
        text = renderer.html(
            lang, "offers/result", verdict=result.verdict, count=len(lines),
            signs=lines[:shown_signs], more_signs=len(lines) - shown_signs,
            contacts=contacts[:shown_contacts], more_contacts=len(contacts) - shown_contacts,
            sources=titles,
        )
        if len(text) <= MAX_MESSAGE or (shown_signs <= 1 and shown_contacts == 0):
            break
        if shown_contacts > 0:
            shown_contacts = max(0, shown_contacts - max(1, (len(text) - MAX_MESSAGE) // 40 + 1))
        else:
            shown_signs -= 1
    buttons = (
        (Button(renderer.text(lang, "buttons/offers/report"), data=f"check:report:{check_id}"),),
        (Button(renderer.text(lang, "buttons/offers/ask"), data="menu:topics"),
         Button(renderer.text(lang, "buttons/offers/dismiss"), data=f"check:dismiss:{check_id}")),
    )
    return Reply(text[:MAX_MESSAGE], buttons)


def no_text_reply(renderer: Renderer, lang: str, check_id: str) -> Reply:
    """The answer to a forwarded message without text: nothing to check, but it can be reported."""
    return Reply(renderer.html(lang, "offers/no_text"), (
        (Button(renderer.text(lang, "buttons/offers/report"), data=f"check:report:{check_id}"),),
        (Button(renderer.text(lang, "buttons/offers/ask"), data="menu:topics"),
         Button(renderer.text(lang, "buttons/offers/dismiss"), data=f"check:dismiss:{check_id}")),
    ))


def confirm_reply(renderer: Renderer, lang: str, token: str) -> Reply:
    """Asks whether a pasted text is an offer to check."""
    return Reply(renderer.html(lang, "offers/confirm"), ((
        Button(renderer.text(lang, "buttons/offers/yes"), data=f"check:yes:{token}"),
        Button(renderer.text(lang, "buttons/offers/no"), data=f"check:no:{token}"),
    ),))


def message_text(message: Message) -> str:
    """The text of a message, or its caption."""
    return message.text or message.caption or ""


def hidden_links(message: Message) -> list[str]:
    """Links a message carries behind its words (text links), which its text does not show."""
    entities = list(message.entities or ()) + list(message.caption_entities or ())
    return [entity.url for entity in entities if entity.type == MessageEntity.TEXT_LINK and entity.url]


def origin_of(message: Message) -> tuple[str | None, str | None]:
    """Returns where a forwarded message came from (type and description), as reports keep it.

    A user forwarding their own words gets no origin: the report must not carry their id.
    """
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        if message.from_user is not None and user.id == message.from_user.id:
            return None, None
        return "user", reports.describe_origin("user", name=user.full_name, username=user.username, ident=user.id)
    if isinstance(origin, MessageOriginHiddenUser):
        return "hidden_user", reports.describe_origin("hidden_user", name=origin.sender_user_name)
    if isinstance(origin, MessageOriginChat):
        chat = origin.sender_chat
        return "chat", reports.describe_origin("chat", name=chat.title, username=chat.username,
                                               signature=origin.author_signature)
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        return "channel", reports.describe_origin("channel", name=chat.title, username=chat.username,
                                                  message_id=origin.message_id, signature=origin.author_signature)
    return None, None


def replied_origin(message: Message, checker_id: int | None) -> tuple[str | None, str | None]:
    """Returns who wrote a message someone answered with /check (a forward's origin, or its author)."""
    if message.forward_origin is not None:
        return origin_of(message)
    if message.sender_chat is not None:
        chat = message.sender_chat
        kind = "channel" if chat.type == ChatType.CHANNEL else "chat"
        return kind, reports.describe_origin(kind, name=chat.title, username=chat.username)
    user = message.from_user
    if user is not None and user.id != checker_id and not user.is_bot:
        return "user", reports.describe_origin("user", name=user.full_name, username=user.username, ident=user.id)
    return None, None


# --- handlers ----------------------------------------------------------------------------------

def _stop_waiting(context: ContextTypes.DEFAULT_TYPE) -> None:
    context.user_data.pop(WAITING_KEY, None)


async def _check(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, *,
                 origin: tuple[str | None, str | None] = (None, None), links: list[str] | None = None,
                 edit: bool = False) -> None:
    """Checks `text`, keeps the check in memory for "report it", and shows the answer."""
    svc = services(context)
    _stop_waiting(context)
    lang = await svc.language_for_quoted(update, text)
    result = check_offer(default_catalogue(), text, links or ())
    check_id = remember_check(
        svc.memory, user_key=svc.user_key(update.effective_user.id), text=text, signs=result.sign_ids,
        contacts=list(result.contacts), forward_origin_type=origin[0], forward_origin=origin[1], language=lang,
    )
    if text.strip():
        reply = check_reply(svc.knowledge, svc.renderer, result, lang, check_id)
    else:
        reply = no_text_reply(svc.renderer, lang, check_id)
    await (edit_or_send(update, context, reply) if edit else send(update, context, reply))


async def forwarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Checks a forwarded message (its text or caption) and offers to report it."""
    message = update.effective_message
    await _check(update, context, message_text(message), origin=origin_of(message), links=hidden_links(message))


async def check_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Checks the text after /check or the message it answers, or waits for the offer."""
    svc = services(context)
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    text = parts[1].strip() if len(parts) > 1 else ""
    replied = message.reply_to_message
    if not text and replied is not None and message_text(replied).strip():
        await _check(update, context, message_text(replied), links=hidden_links(replied),
                     origin=replied_origin(replied, update.effective_user.id))
        return
    if text:
        await _check(update, context, text, links=hidden_links(message))
        return
    lang = await svc.language_for(update)
    if update.effective_chat.type != ChatType.PRIVATE:
        await send(update, context, Reply(svc.renderer.html(lang, "offers/group_hint")))
        return
    context.user_data[WAITING_KEY] = time.monotonic()
    await send(update, context, Reply(svc.renderer.html(lang, "offers/ask_text")))


async def start_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks for the offer to check and waits for it."""
    svc = services(context)
    await update.callback_query.answer()
    lang = await svc.language_for(update)
    context.user_data[WAITING_KEY] = time.monotonic()
    await send(update, context, Reply(svc.renderer.html(lang, "offers/ask_text")))


async def waited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Checks the offer sent after /check, or asks for text when it has none."""
    message = update.effective_message
    text = message_text(message)
    if text.strip():
        await _check(update, context, text, links=hidden_links(message))
        return
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "offers/need_text")))


async def cancel_waiting(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops waiting for an offer."""
    svc = services(context)
    _stop_waiting(context)
    await send(update, context, Reply(svc.renderer.html(await svc.language_for(update), "offers/cancelled")))


async def captioned_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Checks a photo's caption."""
    message = update.effective_message
    await _check(update, context, message.caption or "", links=hidden_links(message))


async def pasted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks whether a pasted text that reads like an offer should be checked."""
    svc = services(context)
    message = update.effective_message
    token = hold_pasted(svc.memory, svc.user_key(update.effective_user.id), message.text, hidden_links(message))
    lang = await svc.language_for_quoted(update, message.text)
    await send(update, context, confirm_reply(svc.renderer, lang, token))


async def paste_answered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Checks the pasted text (Yes) or answers it as a question (No)."""
    svc = services(context)
    query = update.callback_query
    _, answer, token = query.data.split(":", 2)
    pending = take_pasted(svc.memory, svc.user_key(update.effective_user.id), token)
    await query.answer()
    if pending is None:
        lang = await svc.language_for(update)
        await edit_or_send(update, context, Reply(svc.renderer.html(lang, "offers/expired")))
        return
    if answer == "yes":
        await _check(update, context, pending["text"], links=pending["links"], edit=True)
        return
    lang = await svc.language_for(update, pending["text"])
    await edit_or_send(update, context, answer_question(svc.knowledge, svc.renderer, svc.matcher, pending["text"], lang))


async def dismiss_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forgets the check and closes its message."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    check_id = query.data.split(":", 2)[2] if query.data.count(":") == 2 else None
    if check_id:
        forget_check(svc.memory, check_id, svc.user_key(update.effective_user.id))
    lang = await svc.language_for(update)
    await edit_or_send(update, context, Reply(svc.renderer.html(lang, "offers/dismissed")))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a check button this bot can no longer act on."""
    svc = services(context)
    await update.callback_query.answer()
    await send(update, context, Reply(svc.renderer.html(await svc.language_for(update), "offers/expired")))


# --- filters ---------------------------------------------------------------------------------

class _Waiting(filters.UpdateFilter):
    """The user sent /check (or pressed its button) and the offer has not come yet."""

    def __init__(self, application: Application) -> None:
        super().__init__(name="offers.Waiting")
        self._application = application

    def filter(self, update: Update) -> bool:
        user = update.effective_user
        # `application.user_data` is a read-only view: .get() creates no entry for the user.
        data = self._application.user_data.get(user.id) if user is not None else None
        started = data.get(WAITING_KEY) if data else None
        return started is not None and time.monotonic() - started < WAIT_SECONDS


class _ReadsLikeOffer(filters.MessageFilter):
    """A pasted text that reads like an offer rather than a question."""

    def __init__(self) -> None:
        super().__init__(name="offers.ReadsLikeOffer")

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        if len(text.strip()) < 20:
            return False
        links = hidden_links(message)
        if not links and not could_be_offer(text):
            return False
        result = check_offer(default_catalogue(), text, links)
        return looks_like_offer(text, len(result.signs), len(result.contacts))


def register(application: Application) -> None:
    """Adds the offer-check handlers (after the report conversation, before questions)."""
    private = filters.ChatType.PRIVATE
    fresh = ~filters.UpdateType.EDITED & ~filters.StatusUpdate.ALL
    waiting = _Waiting(application)
    application.add_handlers([
        CommandHandler("check", check_command, filters=~filters.UpdateType.EDITED),
        CommandHandler("cancel", cancel_waiting, filters=private & waiting),
        CallbackQueryHandler(start_pressed, pattern=r"^check:start$"),
        CallbackQueryHandler(paste_answered, pattern=rf"^check:(yes|no):{TOKEN}$"),
        CallbackQueryHandler(dismiss_pressed, pattern=rf"^check:dismiss(:{TOKEN})?$"),
        # check:report:<id> belongs to the report conversation; anything else (or a stale id it
        # did not take) is answered here.
        CallbackQueryHandler(stale_button, pattern=r"^check:"),
        MessageHandler(private & fresh & filters.FORWARDED, forwarded),
        MessageHandler(private & fresh & waiting & ~filters.COMMAND, waited),
        MessageHandler(private & fresh & filters.PHOTO & filters.CAPTION, captioned_photo),
        MessageHandler(private & fresh & filters.TEXT & ~filters.COMMAND & _ReadsLikeOffer(), pasted),
    ])
