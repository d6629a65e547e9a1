"""`build_application(settings)`: the one factory for the bot, used by `run`, `chat` and tests.

Importing this module does no I/O; the database opens in `post_init` and closes in
`post_shutdown`.

Handlers all sit in group 0, where the first that matches an update takes it, so the order of
`FEATURES` is the routing order: admin commands and relayed replies first, then the report
conversation (which owns the user's messages while a report is in progress), then offer checks
(forwards, /check, pasted offers), and questions last (free text, menus, unknown commands).
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

from bot import admin, offers, questions, report_flow
from bot.db import Store
from bot.i18n import Renderer
from bot.knowledge import default_knowledge
from bot.concurrency import PerUserUpdateProcessor
from bot.ratelimit import RetryingRateLimiter
from bot.polling import SkipUnreadableUpdates
from bot.pseudonym import Pseudonymizer, load_or_create_secret
from bot.services import SERVICES_KEY, Services, services
from bot.settings import Settings

log = logging.getLogger(__name__)

# Connections for sending (not polling): see `build_application`.
SEND_CONNECTIONS = 16

# Routing order (see the module docstring).
FEATURES = (admin, report_flow, offers, questions)

# The commands every user sees in Telegram's menu, in this order.
PUBLIC_COMMANDS = ("start", "help", "report", "check", "myreports", "language", "sources",
                   "subscribe", "unsubscribe", "forget", "cancel")


def build_services(settings: Settings) -> Services:
    """Builds the services without touching the database (it opens in `post_init`)."""
    from bot.matching import Matcher

    knowledge = default_knowledge()
    renderer = Renderer(default_language=settings.default_language)
    return Services(
        settings=settings,
        store=Store(settings.database_path),
        renderer=renderer,
        knowledge=knowledge,
        pseudonyms=Pseudonymizer(load_or_create_secret(settings)),
        matcher=Matcher.from_knowledge(knowledge),
    )


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
) -> Application:
    """Builds the bot's Application: handlers, rate limiter, update processor, services.

    `request`/`get_updates_request` replace the HTTP layer (the offline `chat` uses a local one);
    `token` overrides the configured token (offline use needs none).
    """
    builder = (
        ApplicationBuilder()
        .token(token or settings.token.reveal())
        .concurrent_updates(PerUserUpdateProcessor())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
    if settings.api_file_url:
        builder = builder.base_file_url(settings.api_file_url)
    if rate_limit:
        builder = builder.rate_limiter(RetryingRateLimiter(max_retries=settings.send_max_retries,
                                                             network_retries=settings.send_max_retries))
    if request is not None:
        builder = builder.request(request)
    else:
        # Sends are paced near 30 a second, so a few connections carry them all; httpcore's cost
        # per request grows with every open connection, which python-telegram-bot's 256 invite.
        builder = builder.connection_pool_size(SEND_CONNECTIONS).pool_timeout(10.0)
    # Updates python-telegram-bot can't read are skipped instead of stalling polling (see bot.polling).
    builder = builder.get_updates_request(get_updates_request or request or SkipUnreadableUpdates(connection_pool_size=1))
    application = builder.build()
    application.bot_data[SERVICES_KEY] = build_services(settings)
    for feature in FEATURES:
        feature.register(application)
    application.add_error_handler(on_error)
    return application


async def _post_init(application: Application) -> None:
    svc: Services = application.bot_data[SERVICES_KEY]
    await svc.store.open()
    for feature in FEATURES:
        startup = getattr(feature, "on_startup", None)
        if startup is not None:
            await startup(application)
    await set_commands(application)


async def _post_shutdown(application: Application) -> None:
    svc: Services = application.bot_data[SERVICES_KEY]
    await svc.store.close()


async def set_commands(application: Application) -> None:
    """Sets the command menu in every language (Telegram picks by the user's app language)."""
    svc: Services = application.bot_data[SERVICES_KEY]
    # The default menu (no language code) serves every app language we have no texts for.
    for lang, code in [(svc.settings.default_language, None)] + [(lang, lang) for lang in svc.renderer.languages]:
        commands = [BotCommand(name, svc.renderer.text(lang, f"commands/{name}")) for name in PUBLIC_COMMANDS]
        try:
            await application.bot.set_my_commands(commands=commands, scope=BotCommandScopeDefault(),
                                                  language_code=code)
        except TelegramError as exc:
            log.warning("could not set the command menu for %s: %s", lang, type(exc).__name__)
    admin_commands = getattr(admin, "ADMIN_COMMANDS", ())
    if admin_commands:
        lang = svc.settings.default_language
        commands = [BotCommand(name, svc.renderer.text(lang, f"commands/{name}"))
                    for name in PUBLIC_COMMANDS + tuple(admin_commands)]
        for admin_id in sorted(svc.settings.admin_ids):
            try:
                await application.bot.set_my_commands(commands=commands, scope=BotCommandScopeChat(admin_id))
            except TelegramError as exc:
                # An admin who never opened the bot has no chat yet.
                log.info("could not set the admin command menu for one admin: %s", type(exc).__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the error once and answers the user politely.

    The record names the error and its traceback, never the update (ids, names, texts). A
    channel post or a chat without a person gets no apology; a blocked user can't get one.
    """
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user blocked the bot; nothing to answer")
        return
    log.error("error while handling an update: %s", type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    try:
        svc = services(context)
        lang = await svc.language_for(update)
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                pass  # answered before the error: the button has stopped spinning anyway
        await context.bot.send_message(chat_id=update.effective_chat.id,
                                       text=svc.renderer.html(lang, "common/error"), parse_mode="HTML")
    except Exception as exc:  # noqa: BLE001 - the error handler must never raise
        log.warning("could not tell the user about an error: %s", type(exc).__name__)
