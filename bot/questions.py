"""Questions and answers: /start, /help, /sources, /language, the topic menu and free text.

The logic (`answer_topic`, `answer_question`, `welcome`, ...) is plain functions that return a
`Reply`; the CLI's `ask` and the tests call them directly. Handlers below are thin.
"""

from __future__ import annotations

import re

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import broadcast
from bot.i18n import Renderer
from bot.knowledge import Knowledge
from bot.matching import Matcher
from bot.replies import Button, Reply
from bot.services import services
from bot.settings import LANGUAGES
from bot.textnorm import normalize
from bot.ui import edit_or_send, send

TOPIC_PREFIX = "topic:"
_GREETINGS = {
    normalize(g)
    for g in (
        "hi", "hello", "hey", "hiya", "good morning", "good evening", "salam", "salaam", "assalamu alaikum",
        "start", "menu", "مرحبا", "مرحبتين", "مرحباً", "اهلا", "أهلا", "اهلين", "هلا", "هلو", "هاي",
        "السلام عليكم", "سلام عليكم", "سلام", "صباح الخير", "مساء الخير", "القائمة", "ابدأ",
    )
}
_GREETING_TAIL = re.compile(r"^(?:\s*(?:و?رحمه الله|و?بركاته|يا شباب|يا جماعه|there|bot|please|pls))*$")


# --- logic -----------------------------------------------------------------------------------

def is_greeting(text: str) -> bool:
    """Tells whether `text` is only a greeting ("hi", "مرحبا", "السلام عليكم ورحمة الله")."""
    words = normalize(text)
    if not words:
        return False
    for greeting in sorted(_GREETINGS, key=len, reverse=True):
        if words == greeting or (words.startswith(greeting + " ") and _GREETING_TAIL.match(words[len(greeting):])):
            return True
    return False


def topic_button(renderer: Renderer, lang: str, topic_id: str) -> Button:
    return Button(renderer.text(lang, f"buttons/topics/{topic_id}"), data=f"{TOPIC_PREFIX}{topic_id}")


def next_step_buttons(renderer: Renderer, lang: str) -> tuple[tuple[Button, ...], ...]:
    """The buttons under every answer: report an offer, check an offer, back to the topics."""
    return (
        (Button(renderer.text(lang, "buttons/report"), data="report:start"),
         Button(renderer.text(lang, "buttons/check"), data="check:start")),
        (Button(renderer.text(lang, "buttons/menu"), data="menu:topics"),),
    )


def topic_menu(knowledge: Knowledge, renderer: Renderer, lang: str, *, everything: bool = False) -> tuple[tuple[Button, ...], ...]:
    """Topic buttons two to a row: the main ones, or all of them."""
    topics = [t.id for t in knowledge.topics.values() if everything or t.menu]
    buttons = [topic_button(renderer, lang, topic_id) for topic_id in topics]
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    language = Button(renderer.text(lang, "buttons/language"), data="lang:menu")
    if everything:
        rows.append((language,))
    else:
        rows.append((Button(renderer.text(lang, "buttons/more_topics"), data="menu:all"), language))
    rows.append((Button(renderer.text(lang, "buttons/report"), data="report:start"),
                 Button(renderer.text(lang, "buttons/check"), data="check:start")))
    return tuple(rows)


def welcome(knowledge: Knowledge, renderer: Renderer, lang: str) -> Reply:
    return Reply(renderer.html(lang, "questions/welcome"), topic_menu(knowledge, renderer, lang))


def answer_topic(knowledge: Knowledge, renderer: Renderer, topic_id: str, lang: str) -> Reply:
    """The answer for a topic, with its sources and what the user can do next."""
    topic = knowledge.topics[topic_id]
    text = renderer.html(
        lang, f"answers/{topic_id}",
        facts=knowledge.fact_values,
        sources=[doc.title.get(lang) or doc.title.get("en", doc.id) for doc in knowledge.documents_for(topic.facts)],
    )
    return Reply(text, next_step_buttons(renderer, lang))


def answer_question(knowledge: Knowledge, renderer: Renderer, matcher: Matcher, text: str, lang: str) -> Reply:
    """The reply to a free-text question: the matched topic's answer, or an honest fallback."""
    if is_greeting(text):
        return welcome(knowledge, renderer, lang)
    match = matcher.match(text, lang)
    if match.topic_id is not None:
        return answer_topic(knowledge, renderer, match.topic_id, lang)
    rows = [(topic_button(renderer, lang, topic_id),) for topic_id in match.nearest[:3]]
    rows.append((Button(renderer.text(lang, "buttons/menu"), data="menu:topics"),
                 Button(renderer.text(lang, "buttons/report"), data="report:start")))
    key = "questions/fallback_nearest" if match.nearest else "questions/fallback"
    return Reply(renderer.html(lang, key), tuple(rows))


def sources_reply(knowledge: Knowledge, renderer: Renderer, lang: str) -> Reply:
    documents = [{"id": doc.id, "title": doc.title.get(lang) or doc.title.get("en", doc.id)}
                 for doc in knowledge.documents.values()]
    return Reply(renderer.html(lang, "questions/sources", documents=documents), next_step_buttons(renderer, lang))


def language_reply(renderer: Renderer, lang: str) -> Reply:
    buttons = tuple((Button(renderer.text(code, "buttons/language_name"), data=f"lang:set:{code}"),)
                    for code in LANGUAGES)
    return Reply(renderer.html(lang, "questions/language"), buttons)


# --- handlers --------------------------------------------------------------------------------

def _in_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the user with the topic menu, or opens the topic a deep link names."""
    svc = services(context)
    lang = await svc.language_for(update)
    payload = context.args[0] if context.args else ""
    if payload.startswith("topic_") and payload[len("topic_"):] in svc.knowledge.topics:
        await send(update, context, answer_topic(svc.knowledge, svc.renderer, payload[len("topic_"):], lang))
        return
    await send(update, context, welcome(svc.knowledge, svc.renderer, lang))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains what the bot does and lists its commands."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "questions/help"),
                                      topic_menu(svc.knowledge, svc.renderer, lang)))


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the source documents and what each says."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, sources_reply(svc.knowledge, svc.renderer, lang))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offers the languages as buttons."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, language_reply(svc.renderer, lang))


async def language_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offers the languages as buttons, from the menu."""
    svc = services(context)
    await update.callback_query.answer()
    lang = await svc.language_for(update)
    await send(update, context, language_reply(svc.renderer, lang))


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores the chosen language and shows the menu in it."""
    svc = services(context)
    query = update.callback_query
    code = query.data.rsplit(":", 1)[-1]
    if code not in LANGUAGES:
        await query.answer()
        return
    await svc.choose_language(svc.user_key(update.effective_user.id), code)
    await query.answer(svc.renderer.text(code, "buttons/language_saved"))
    await edit_or_send(update, context, Reply(svc.renderer.html(code, "questions/language_saved"),
                                              topic_menu(svc.knowledge, svc.renderer, code)))


async def topic_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the topic whose button was pressed."""
    svc = services(context)
    query = update.callback_query
    topic_id = query.data[len(TOPIC_PREFIX):]
    await query.answer()
    if topic_id not in svc.knowledge.topics:
        return
    lang = await svc.language_for(update)
    await send(update, context, answer_topic(svc.knowledge, svc.renderer, topic_id, lang))
    await broadcast.offer_subscription(update, context, lang)


async def menu_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the topic menu (the main topics, or all of them)."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    lang = await svc.language_for(update)
    everything = query.data == "menu:all"
    reply = Reply(svc.renderer.html(lang, "questions/menu"),
                  topic_menu(svc.knowledge, svc.renderer, lang, everything=everything))
    await edit_or_send(update, context, reply) if everything else await send(update, context, reply)


def mentions(text: str, bot_username: str | None) -> bool:
    """Tells whether `text` mentions the bot by its @username."""
    return bool(bot_username) and f"@{bot_username.lower()}" in text.lower()


def _strip_mention(text: str, bot_username: str | None) -> str:
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)
    return text.strip()


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a question typed in free text (in groups, only when the bot is mentioned)."""
    svc = services(context)
    message = update.effective_message
    text = message.text or ""
    if not _in_private(update):
        if not mentions(text, context.bot.username):
            return
        text = _strip_mention(text, context.bot.username)
    lang = await svc.language_for(update, text)
    if not text:
        await send(update, context, welcome(svc.knowledge, svc.renderer, lang))
        return
    reply = answer_question(svc.knowledge, svc.renderer, svc.matcher, text, lang)
    await send(update, context, reply)
    await broadcast.offer_subscription(update, context, lang)


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Says there is nothing in progress to cancel, and shows the menu."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "questions/nothing_to_cancel"),
                                      topic_menu(svc.knowledge, svc.renderer, lang)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Says the command is unknown and points to /help."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "common/unknown_command")))


async def unsupported_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers stickers, locations, voice notes and the like with what the bot understands."""
    svc = services(context)
    lang = await svc.language_for(update)
    await send(update, context, Reply(svc.renderer.html(lang, "common/unsupported"),
                                      next_step_buttons(svc.renderer, lang)))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a button this bot no longer knows (old message, garbage data) without acting."""
    await update.callback_query.answer()


def register(application: Application) -> None:
    """Adds the question-answering handlers (last in the routing order)."""
    private = filters.ChatType.PRIVATE
    mentioned = filters.Entity(MessageEntity.MENTION) & filters.ChatType.GROUPS
    application.add_handlers([
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("sources", sources_command),
        CommandHandler("language", language_command),
        CommandHandler("cancel", nothing_to_cancel),
        CallbackQueryHandler(language_chosen, pattern=r"^lang:set:[a-z]{2}$"),
        CallbackQueryHandler(language_pressed, pattern=r"^lang:menu$"),
        CallbackQueryHandler(topic_pressed, pattern=rf"^{TOPIC_PREFIX}[a-z_]+$"),
        CallbackQueryHandler(menu_pressed, pattern=r"^menu:(topics|all)$"),
        MessageHandler(filters.COMMAND & (private | mentioned), unknown_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND & (private | mentioned) & ~filters.UpdateType.EDITED,
                       free_text),
        MessageHandler(private & ~filters.UpdateType.EDITED & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                       unsupported_message),
        CallbackQueryHandler(stale_button),
    ])
