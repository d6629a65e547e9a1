"""The /report conversation, /myreports and /forget (thin handlers; the logic is in `bot.reports`).

Draft durability
----------------
The `drafts` table is the source of truth for a report in progress; the ConversationHandler's
in-memory state is only a fast path. Every step handler loads the user's draft (by pseudonym),
applies the answer with a plain function, writes the draft (new step + answers) through the
store, and only then replies. So a restart, a crash or a lost reply never loses an answer.

PTB's conversation persistence is not used: it keys conversations by raw (chat id, user id),
which we refuse to store, and it flushes on a timer. Instead, a small in-memory index
`svc.memory["report_drafts"]` = {user_key: step} mirrors the `drafts` table (loaded at start-up,
updated after every draft write), and the conversation's last entry point, `DraftResume`,
matches any private update of a user who has a draft but no in-memory state (after a restart,
or after an error cut a step short): it hands the update to the handler that the draft's step
would have used, and the conversation carries on from there. Step handlers also check that the
stored step is the one they serve, and re-ask the stored step otherwise, so memory can never
lead the database astray. Each draft remembers the last update ids it applied, so an update
Telegram delivers twice (polling after a restart) is not applied twice: toggles don't flip back,
evidence isn't added twice; a submit is made idempotent by the draft id (`reports.submit_report`).

Buttons of the report's own messages edit that message (the review is finally replaced by the
confirmation, so the report's text leaves the screen); entry buttons under other features'
messages (an answer, a checked offer) leave those messages alone and send a new one.

A draft untouched for `DRAFT_TTL_HOURS` expires when the user next writes: they are told, and it
is deleted (we keep no chat id to tell them sooner). Start-up silently deletes drafts older still
(`reports.STALE_DRAFT_GRACE` past the TTL).

Button data (ASCII, at most 64 bytes, checked here against the stored step):
`report:start` (open a report), `report:quick`, `report:chan:<channel>`, `report:offer:<offer>`,
`report:country:<ISO code>`, `report:next:<step>` (skip, or Done), `report:about:<self|other>`,
`report:contact:<yes|no>`, `report:edit:<step|details>`, `report:submit:<draft id>`,
`report:cancel`, `report:forget:<yes|no>`; and the entry `check:report:<check id>` from a checked
offer (`bot.offers`).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import reports
from bot.alerts import send_new_report_alert
from bot.db import checkpoint
from bot.offers import origin_of
from bot.reports import (
    ABOUT,
    CHANNEL,
    CONTACT,
    COUNTRY,
    DESCRIPTION,
    EVIDENCE,
    OFFERS,
    QUICK,
    RECRUITER,
    REVIEW,
    Draft,
)
from bot.replies import Button, Reply
from bot.services import SERVICES_KEY, Services, services
from bot.settings import LANGUAGES
from bot.ui import edit_or_send, send

log = logging.getLogger(__name__)

END = ConversationHandler.END
DRAFTS_KEY = "report_drafts"  # svc.memory[DRAFTS_KEY]: {user_key: step} for every stored draft
APPLIED_KEPT = 30  # update ids a draft remembers having applied

PRIVATE = filters.ChatType.PRIVATE
NOT_EDITED = ~filters.UpdateType.EDITED
TYPED = PRIVATE & NOT_EDITED & filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED
EVIDENCE_MESSAGE = PRIVATE & NOT_EDITED & (
    filters.PHOTO | filters.Document.ALL | filters.VIDEO | filters.AUDIO | filters.VOICE | filters.VIDEO_NOTE
    | filters.ANIMATION | filters.FORWARDED)


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    return "(" + "|".join(values) + ")"


SKIPPABLE_NAMES = [reports.STEP_NAMES[s] for s in (CHANNEL, OFFERS, COUNTRY, RECRUITER, DESCRIPTION, EVIDENCE, ABOUT)]
EDIT_NAMES = [reports.STEP_NAMES[s] for s in reports.EDITABLE] + ["details"]
CHECK_REPORT = "check:report:"


# --- small helpers -------------------------------------------------------------------------------

def _drafts(svc: Services) -> dict[str, int]:
    return svc.memory.setdefault(DRAFTS_KEY, {})


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def _arg(update: Update) -> str:
    """Returns the last part of the pressed button's data (`report:chan:whatsapp` → `whatsapp`)."""
    return update.callback_query.data.rsplit(":", 1)[-1]


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except TelegramError:
            pass  # an old query can't be answered any more; nothing is lost


def _ours(update: Update) -> bool:
    """Tells whether the pressed button belongs to a report message (not a menu, answer or check)."""
    data = update.callback_query.data if update.callback_query is not None else None
    return bool(data) and data.startswith("report:") and data != "report:start"


async def _show(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Shows `reply` in place of the report message whose button was pressed, else as a new message.

    Other features' messages (an answer, a checked offer) are left as they are.
    """
    if _ours(update):
        await edit_or_send(update, context, reply)
    else:
        await send(update, context, reply)


def _button(svc: Services, lang: str, key: str, data: str, **ctx: Any) -> Button:
    return Button(svc.renderer.text(lang, f"buttons/report/{key}", **ctx), data=data)


def _rows(buttons: list[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row)]


def _country_name(svc: Services, lang: str, country: str | None) -> str | None:
    if not country:
        return None
    return svc.renderer.text(lang, "buttons/report/country", code=country)


# --- replies -------------------------------------------------------------------------------------

def step_reply(svc: Services, draft: Draft, *notices: str, intro: bool = False) -> Reply:
    """The question for the draft's step and its buttons, after any notices (rendered HTML)."""
    lang, data, state = draft.language, draft.data, draft.state
    html = functools.partial(svc.renderer.html, lang)
    cancel = _button(svc, lang, "cancel", "report:cancel")

    def skip(label: str = "skip") -> Button:
        return _button(svc, lang, label, f"report:next:{reports.STEP_NAMES[state]}")

    rows: list[tuple[Button, ...]]
    if state == CHANNEL:
        quick = data["source"] == "guided" and not data["description"] and not data["editing"]
        text = html("report/ask_channel", intro=intro, quick=quick)
        rows = _rows([_button(svc, lang, "channel", f"report:chan:{c}", id=c) for c in reports.CHANNELS], 2)
        if quick:
            rows.append((_button(svc, lang, "quick", "report:quick"),))
        rows.append((skip(), cancel))
    elif state == OFFERS:
        text = html("report/ask_offers")
        rows = _rows([_button(svc, lang, "offer", f"report:offer:{o}", id=o, selected=o in data["offers"])
                      for o in reports.OFFERS_IDS], 2)
        rows.append((skip("done"), cancel))
    elif state == COUNTRY:
        text = html("report/ask_country")
        rows = _rows([_button(svc, lang, "country", f"report:country:{c}", code=c) for c in reports.COUNTRY_BUTTONS], 3)
        rows.append((skip(), cancel))
    elif state == RECRUITER:
        text = html("report/ask_recruiter", limit=reports.MAX_RECRUITER, contacts=data["contacts_found"][:5])
        rows = [(skip(), cancel)]
    elif state == DESCRIPTION:
        skippable = reports.can_skip(state, data)
        text = html("report/ask_description", limit=reports.MAX_DESCRIPTION, skippable=skippable)
        rows = [(skip(), cancel) if skippable else (cancel,)]
    elif state == QUICK:
        text = html("report/ask_quick", limit=reports.MAX_DESCRIPTION)
        rows = [(cancel,)]
    elif state == EVIDENCE:
        count = len(data["attachments"])
        text = html("report/ask_evidence", count=count, limit=reports.MAX_ATTACHMENTS)
        rows = [(skip("done" if count else "skip"), cancel)]
    elif state == ABOUT:
        text = html("report/ask_about")
        rows = [tuple(_button(svc, lang, "about", f"report:about:{a}", value=a) for a in reports.ABOUT_VALUES),
                (skip(), cancel)]
    elif state == CONTACT:
        text = html("report/ask_contact")
        rows = [(_button(svc, lang, "contact_yes", "report:contact:yes"),),
                (_button(svc, lang, "contact_no", "report:contact:no"),), (cancel,)]
    else:
        return review_reply(svc, draft, *notices)
    return Reply("\n\n".join([*notices, text]), tuple(rows))


def review_reply(svc: Services, draft: Draft, *notices: str) -> Reply:
    """The whole report as it will be sent, with edit, submit and cancel buttons."""
    lang, data = draft.language, draft.data
    label = functools.partial(svc.renderer.text, lang)
    quick = data["source"] == "quick"
    text = svc.renderer.html(
        lang, "report/review",
        quick=quick,
        channel=label("buttons/report/channel", id=data["channel"]) if data["channel"] else None,
        offers=[label("buttons/report/offer", id=o, selected=False) for o in data["offers"]],
        country=_country_name(svc, lang, data["country"]),
        recruiter=data["recruiter_contact"],
        description=reports.preview(data["description"], 1500),
        forwarded_text=reports.preview(data["forwarded_text"], 600),
        forward_origin=data["forward_origin"],
        attachments=len(data["attachments"]),
        about=data["about"],
        contact_ok=data["contact_ok"],
    )
    if quick:
        edits = [_button(svc, lang, "edit", "report:edit:description", step="description"),
                 _button(svc, lang, "add_details", "report:edit:details")]
    else:
        edits = [_button(svc, lang, "edit", f"report:edit:{reports.STEP_NAMES[s]}", step=reports.STEP_NAMES[s])
                 for s in reports.EDITABLE]
    rows = _rows(edits, 2)
    rows.append((_button(svc, lang, "submit", f"report:submit:{draft.draft_id}"),))
    rows.append((_button(svc, lang, "cancel", "report:cancel"),))
    return Reply("\n\n".join([*notices, text]), tuple(rows))


# --- steps ---------------------------------------------------------------------------------------

@dataclass
class Turn:
    """One update's work on a draft: the services, the user's pseudonym and their draft."""

    svc: Services
    user_key: str
    draft: Draft
    update_id: int

    @property
    def lang(self) -> str:
        return self.draft.language

    async def save(self, state: int, data: dict[str, Any]) -> Draft:
        """Writes the draft's new step and answers (before any reply) and mirrors the step in memory."""
        data = dict(data, applied=(data.get("applied", []) + [self.update_id])[-APPLIED_KEPT:])
        self.draft = await self.svc.store.run(reports.save_draft, self.draft, state, data)
        _drafts(self.svc)[self.user_key] = state
        return self.draft


StepHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, Turn], Awaitable[int]]


async def _load(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Turn | None:
    """Returns the user's draft in progress, or tells them it is gone or expired (then None)."""
    svc = services(context)
    key = svc.user_key(update.effective_user.id)
    draft = await svc.store.run(reports.get_draft, key)
    if draft is None:
        _drafts(svc).pop(key, None)
        lang = await svc.language_for(update)
        await send(update, context, Reply(svc.renderer.html(lang, "report/gone")))
        return None
    if draft.is_expired(svc.settings.draft_ttl_hours):
        await svc.store.run(reports.delete_draft, key)
        _drafts(svc).pop(key, None)
        await send(update, context, Reply(svc.renderer.html(draft.language, "report/expired",
                                                            hours=svc.settings.draft_ttl_hours)))
        return None
    return Turn(svc, key, draft, update.update_id)


def step(*states: int) -> Callable[[StepHandler], Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[int]]]:
    """Wraps a step handler with what every step does.

    Loads the draft (or says it is gone or expired), checks its stored step is one of `states`
    (any, if none given) else asks the stored step again, ignores an update already applied,
    turns a rejected answer (too long, too many, unknown) into a notice above the same question,
    and answers the button.
    """

    def decorate(fn: StepHandler) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[int]]:
        @functools.wraps(fn)
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            try:
                turn = await _load(update, context)
                if turn is None:
                    return END
                svc, draft = turn.svc, turn.draft
                if update.update_id in draft.data.get("applied", []):
                    return draft.state  # delivered again (polling after a restart): answered already
                if states and draft.state not in states:
                    await _show(update, context, step_reply(svc, draft, svc.renderer.html(turn.lang, "report/reminder")))
                    return draft.state
                try:
                    return await fn(update, context, turn)
                except reports.TooLong as exc:
                    notice = svc.renderer.html(turn.lang, "report/too_long", limit=exc.limit, length=exc.length)
                except reports.TooManyAttachments as exc:
                    notice = svc.renderer.html(turn.lang, "report/too_many", limit=exc.limit)
                except reports.UnknownChoice:
                    notice = svc.renderer.html(turn.lang, "report/reminder")
                except reports.DraftMissing:
                    _drafts(svc).pop(turn.user_key, None)
                    await send(update, context, Reply(svc.renderer.html(turn.lang, "report/gone")))
                    return END
                await _show(update, context, step_reply(svc, turn.draft, notice))
                return turn.draft.state
            finally:
                await _answer(update)

        return handler

    return decorate


async def _advance(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn, data: dict[str, Any]) -> int:
    """Stores `data`, moves the draft to its next step and asks it."""
    state, data = reports.next_step(turn.draft.state, data)
    draft = await turn.save(state, data)
    await _show(update, context, step_reply(turn.svc, draft))
    return state


@step(CHANNEL)
async def channel_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores how the person was approached and asks what was offered."""
    return await _advance(update, context, turn, reports.set_channel(turn.draft.data, _arg(update)))


@step(CHANNEL)
async def quick_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Switches to the quick report and asks for the description."""
    if turn.draft.data["source"] != "guided":
        raise reports.UnknownChoice("quick")
    draft = await turn.save(QUICK, dict(turn.draft.data, source="quick"))
    await _show(update, context, step_reply(turn.svc, draft))
    return QUICK


@step(OFFERS)
async def offer_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Ticks or unticks what was offered and shows the choices again."""
    draft = await turn.save(OFFERS, reports.toggle_offer(turn.draft.data, _arg(update)))
    await _show(update, context, step_reply(turn.svc, draft))
    return OFFERS


@step(COUNTRY)
async def country_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores the country pressed and asks who the recruiter was."""
    return await _advance(update, context, turn, reports.set_country(turn.draft.data, _arg(update)))


@step(COUNTRY)
async def country_typed(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores the country typed and asks who the recruiter was."""
    data = reports.set_country(turn.draft.data, update.effective_message.text, typed=True)
    return await _advance(update, context, turn, data)


@step(RECRUITER)
async def recruiter_typed(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores the recruiter's handle, phone, link or agency and asks what happened."""
    return await _advance(update, context, turn, reports.set_recruiter(turn.draft.data, update.effective_message.text))


@step(DESCRIPTION, QUICK)
async def description_typed(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores the description in the reporter's own words and asks the next step."""
    return await _advance(update, context, turn,
                          reports.set_description(turn.draft.data, update.effective_message.text))


def evidence_from(message: Message) -> dict[str, Any]:
    """Returns the evidence a message carries: its file id and kind, text or caption, forwarded origin."""
    origin_type, origin = origin_of(message)
    file_id, kind = None, "forward" if origin_type else "text"
    for name in ("photo", "animation", "video", "video_note", "audio", "voice", "document"):
        media = getattr(message, name)
        if media:
            kind, file_id = name, (media[-1] if name == "photo" else media).file_id
            break
    return reports.attachment(kind, file_id=file_id, text=message.text or message.caption,
                              origin_type=origin_type, origin=origin)


@step()
async def evidence_added(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Adds a forwarded message, photo, document or pasted text as evidence and says how many there are."""
    data = reports.add_attachment(turn.draft.data, evidence_from(update.effective_message))
    state = turn.draft.state
    draft = await turn.save(state, data)
    notice = turn.svc.renderer.html(turn.lang, "report/evidence_added", count=len(data["attachments"]),
                                    limit=reports.MAX_ATTACHMENTS, step=reports.STEP_NAMES[state])
    await _show(update, context, step_reply(turn.svc, draft, notice))
    return state


@step(ABOUT)
async def about_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores whom it happened to and asks about being contacted."""
    return await _advance(update, context, turn, reports.set_about(turn.draft.data, _arg(update)))


@step(CONTACT)
async def contact_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Stores whether the team may write back and shows the review."""
    return await _advance(update, context, turn, reports.set_contact(turn.draft.data, _arg(update) == "yes"))


@step(CHANNEL, OFFERS, COUNTRY, RECRUITER, DESCRIPTION, EVIDENCE, ABOUT)
async def next_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Skips the current step (or closes it, for Done) and asks the next one."""
    if _arg(update) != reports.STEP_NAMES[turn.draft.state] or not reports.can_skip(turn.draft.state, turn.draft.data):
        raise reports.UnknownChoice(_arg(update))
    return await _advance(update, context, turn, turn.draft.data)


@step(REVIEW)
async def edit_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Reopens one step of the report from the review."""
    state, data = reports.edit_step(_arg(update), turn.draft.data)
    draft = await turn.save(state, data)
    await _show(update, context, step_reply(turn.svc, draft))
    return state


@step()
async def reminder(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Reminds the user of the report in progress and asks its current step again."""
    raise reports.UnknownChoice("not an answer to this step")


async def submit_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Stores the report (once, committed), confirms it with its reference, and alerts the team."""
    svc = services(context)
    key = svc.user_key(update.effective_user.id)
    draft_id = _arg(update)
    try:
        draft = await svc.store.run(reports.get_draft, key)
        lang = draft.language if draft is not None else await svc.language_for(update)
        if draft is not None and draft.draft_id == draft_id:
            if draft.is_expired(svc.settings.draft_ttl_hours):
                await _load(update, context)  # tells them and deletes it
                return END
            if draft.state != REVIEW:
                await _show(update, context, step_reply(svc, draft, svc.renderer.html(lang, "report/reminder")))
                return draft.state
        try:
            done = await svc.store.run(reports.submit_report, key, draft_id, contact_chat_id=update.effective_chat.id,
                                       rate_per_hour=svc.settings.report_rate_per_hour)
        except reports.RateLimited as exc:
            notice = svc.renderer.html(lang, "report/rate_limited", limit=exc.limit, minutes=exc.wait_minutes, kept=True)
            await _show(update, context, review_reply(svc, draft, notice))
            return REVIEW
        except reports.IncompleteReport:
            state, data = DESCRIPTION, dict(draft.data, editing=True)
            draft = await svc.store.run(reports.save_draft, draft, state, data)
            _drafts(svc)[key] = state
            await _show(update, context, step_reply(svc, draft, svc.renderer.html(lang, "report/incomplete")))
            return state
        except reports.DraftMissing:
            if draft is not None:  # a review button of an older draft: ask the current step again
                await _show(update, context, step_reply(svc, draft, svc.renderer.html(lang, "report/reminder")))
                return draft.state
            _drafts(svc).pop(key, None)
            await send(update, context, Reply(svc.renderer.html(lang, "report/gone")))
            return END
        _drafts(svc).pop(key, None)
        confirmation = Reply(svc.renderer.html(lang, "report/submitted", reference=done.reference,
                                               contact_ok=done.contact_ok))
        try:
            # The review is replaced by the confirmation, so the report's text leaves the screen; a
            # submit seen again (double tap, redelivery) confirms in a new message.
            await (_show if done.created else send)(update, context, confirmation)
        finally:
            if done.created:
                log.info("report %d stored", done.report_id)
                # In the background: the admin group's own rate limit (20 a minute) must not hold
                # the reporter's handler, and a busy minute must not hold everyone else's.
                context.application.create_task(_alert(context, svc, done.report_id), update=update)
        return END
    finally:
        await _answer(update)


async def _alert(context: ContextTypes.DEFAULT_TYPE, svc: Services, report_id: int) -> None:
    try:
        await send_new_report_alert(context.bot, svc, report_id)
    except Exception as exc:  # noqa: BLE001 - the report is stored; a failed alert must not reach the reporter
        log.warning("the alert for report %d failed: %s", report_id, type(exc).__name__)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Deletes the report in progress and says so."""
    svc = services(context)
    key = svc.user_key(update.effective_user.id)
    draft = await svc.store.run(reports.get_draft, key)
    await svc.store.run(reports.delete_draft, key)
    _drafts(svc).pop(key, None)
    lang = draft.language if draft is not None else await svc.language_for(update)
    await _answer(update)
    await _show(update, context, Reply(svc.renderer.html(lang, "report/cancelled")))
    return END


# --- entry points --------------------------------------------------------------------------------

async def _begin(update: Update, context: ContextTypes.DEFAULT_TYPE, *, description: str = "",
                 prefill: dict[str, Any] | None = None, lang: str | None = None, notice: str | None = None) -> int:
    """Starts a draft (or continues the one in progress) and asks its first step."""
    svc = services(context)
    await _answer(update)
    lang = lang or await svc.language_for(update, description or None)
    if not _private(update):
        await _private_only(update, context, svc, lang)
        return END
    key = svc.user_key(update.effective_user.id)
    existing = await svc.store.run(reports.get_draft, key)
    if existing is not None and not existing.is_expired(svc.settings.draft_ttl_hours):
        _drafts(svc)[key] = existing.state
        await _show(update, context, step_reply(svc, existing, svc.renderer.html(existing.language, "report/resumed")))
        return existing.state
    wait = await svc.store.run(reports.rate_limit_wait, key, svc.settings.report_rate_per_hour)
    if wait:
        await _show(update, context, Reply(svc.renderer.html(lang, "report/rate_limited", kept=False,
                                                             limit=svc.settings.report_rate_per_hour, minutes=wait)))
        return END
    data = prefill or reports.empty_data(lang)
    if description:
        try:
            data = reports.set_description(data, description)
        except reports.TooLong as exc:
            await _show(update, context, Reply(svc.renderer.html(lang, "report/too_long", limit=exc.limit,
                                                                 length=exc.length)))
            return END
    data["applied"] = [update.update_id]
    draft = await svc.store.run(reports.start_draft, key, CHANNEL, data)
    _drafts(svc)[key] = CHANNEL
    await _show(update, context, step_reply(svc, draft, *([notice] if notice else []), intro=True))
    return CHANNEL


async def report_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Opens a report; text after /report becomes its description."""
    parts = (update.effective_message.text or "").split(None, 1)
    return await _begin(update, context, description=parts[1].strip() if len(parts) > 1 else "")


async def report_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Opens a report from the menu button or the `?start=report` deep link."""
    return await _begin(update, context)


def _checked_offer(svc: Services, update: Update) -> dict[str, Any] | None:
    """Returns the checked offer the button names, if it is still in memory and the presser's own."""
    check = svc.memory.get("offer_checks", {}).get(update.callback_query.data[len(CHECK_REPORT):])
    if not isinstance(check, dict) or check.get("user_key") != svc.user_key(update.effective_user.id):
        return None
    return check


async def checked_offer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Opens a report prefilled with the offer the user just had checked."""
    svc = services(context)
    if _private(update):
        existing = await svc.store.run(reports.get_draft, svc.user_key(update.effective_user.id))
        if existing is not None and not existing.is_expired(svc.settings.draft_ttl_hours):
            return await checked_offer_added(update, context)
    check = _checked_offer(svc, update)
    if check is None:
        lang = await svc.language_for(update)
        return await _begin(update, context, lang=lang, notice=svc.renderer.html(lang, "report/check_expired"))
    lang = check.get("language") if check.get("language") in LANGUAGES else await svc.language_for(update)
    return await _begin(update, context, prefill=reports.prefill_from_check(lang, check), lang=lang)


@step()
async def checked_offer_added(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> int:
    """Adds the offer the user just had checked to their report in progress."""
    check = _checked_offer(turn.svc, update)
    if check is None:
        notice = turn.svc.renderer.html(turn.lang, "report/check_expired_in_progress")
        await _show(update, context, step_reply(turn.svc, turn.draft, notice))
        return turn.draft.state
    data = reports.add_checked_offer(turn.draft.data, reports.prefill_from_check(turn.lang, check))
    draft = await turn.save(turn.draft.state, data)
    await _show(update, context, step_reply(turn.svc, draft, turn.svc.renderer.html(turn.lang, "report/offer_added")))
    return draft.state


async def _private_only(update: Update, context: ContextTypes.DEFAULT_TYPE, svc: Services, lang: str) -> None:
    username = context.bot.username
    buttons = ((Button(svc.renderer.text(lang, "buttons/report/open_private"),
                       url=f"https://t.me/{username}?start=report"),),) if username else ()
    await send(update, context, Reply(svc.renderer.html(lang, "report/private_only"), buttons))


async def private_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Points a user who wrote /report, /myreports or /forget in a group to a private chat."""
    svc = services(context)
    await _private_only(update, context, svc, await svc.language_for(update))


class DraftResume(BaseHandler[Update, ContextTypes.DEFAULT_TYPE, object]):
    """Entry point for a user whose draft is stored but whose conversation is not in memory.

    It matches the update the way the draft's stored step would (that step's handlers, then the
    fallbacks) and runs that handler; the conversation then continues in memory.
    """

    def __init__(self, svc: Services) -> None:
        super().__init__(self._unused)
        self.svc = svc
        self.conversation: ConversationHandler | None = None

    @staticmethod
    async def _unused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("DraftResume delegates to the step's own handler")

    def check_update(self, update: object) -> tuple[BaseHandler, object] | None:
        drafts = _drafts(self.svc)
        if (not drafts or self.conversation is None or not isinstance(update, Update)
                or update.effective_user is None or not _private(update)):
            return None
        state = drafts.get(self.svc.user_key(update.effective_user.id))
        if state is None:
            return None
        for handler in [*self.conversation.states.get(state, []), *self.conversation.fallbacks]:
            check = handler.check_update(update)
            if check is not None and check is not False:
                return handler, check
        return None

    async def handle_update(self, update: Update, application: Application, check_result: Any,
                            context: ContextTypes.DEFAULT_TYPE) -> object:
        handler, check = check_result
        return await handler.handle_update(update, application, check, context)


# --- /myreports and /forget ----------------------------------------------------------------------

async def myreports_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the user's own reports: reference, date and status."""
    svc = services(context)
    lang = await svc.language_for(update)
    rows = await svc.store.run(reports.reports_for, svc.user_key(update.effective_user.id))
    items = [{"reference": r["reference"], "date": r["created_at"][:10], "status": r["status"]} for r in rows]
    await send(update, context, Reply(svc.renderer.html(lang, "report/myreports", reports=items)))


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains what /forget erases and asks to confirm."""
    svc = services(context)
    lang = await svc.language_for(update)
    buttons = ((_button(svc, lang, "forget_yes", "report:forget:yes"),),
               (_button(svc, lang, "forget_no", "report:forget:no"),))
    await send(update, context, Reply(svc.renderer.html(lang, "report/forget_confirm"), buttons))


async def forget_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """Erases everything kept about the user, if confirmed, and says what went."""
    svc = services(context)
    lang = await svc.language_for(update)
    await _answer(update)
    if _arg(update) != "yes":
        await _show(update, context, Reply(svc.renderer.html(lang, "report/forget_kept")))
        return None
    key = svc.user_key(update.effective_user.id)
    counts = await svc.store.run(reports.forget_user, key)
    await svc.store.run(checkpoint)
    svc.forget_language(key)
    _drafts(svc).pop(key, None)
    checks = svc.memory.get("offer_checks", {})
    for check_id in [k for k, v in checks.items() if isinstance(v, dict) and v.get("user_key") == key]:
        checks.pop(check_id, None)
    svc.memory.get("offer_pending", {}).pop(key, None)
    log.info("a user erased their data (%d rows)", sum(counts.values()))
    await _show(update, context, Reply(svc.renderer.html(
        lang, "report/forget_done",
        reports=counts.get("reports", 0),
        drafts=counts.get("drafts", 0),
        settings=counts.get("users", 0),
        subscriptions=counts.get("subscribers", 0),
        other=sum(n for t, n in counts.items() if t not in ("reports", "drafts", "users", "subscribers")),
    )))
    return END


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a report button pressed when no report is in progress."""
    svc = services(context)
    await _answer(update)
    await send(update, context, Reply(svc.renderer.html(await svc.language_for(update), "report/gone")))


# --- wiring --------------------------------------------------------------------------------------

def build_conversation(svc: Services) -> ConversationHandler:
    """Builds the /report ConversationHandler (states are `bot.reports` step numbers)."""
    typed = TYPED
    skip = CallbackQueryHandler(next_pressed, pattern=rf"^report:next:{_one_of(SKIPPABLE_NAMES)}$")
    submit = CallbackQueryHandler(submit_pressed, pattern=rf"^report:submit:{reports.DRAFT_ID_PATTERN}$")
    evidence = MessageHandler(EVIDENCE_MESSAGE, evidence_added)
    resume = DraftResume(svc)
    # per_message=False on purpose: one conversation spans the user's typed answers and the
    # buttons of several messages; every button handler checks the step stored in the database.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
        conversation = ConversationHandler(
            name="report",
            entry_points=[
                CommandHandler("report", report_command, filters=PRIVATE),
                CommandHandler("start", report_pressed, filters=PRIVATE & filters.Regex(r"^/start report$")),
                CallbackQueryHandler(report_pressed, pattern=r"^report:start$"),
                CallbackQueryHandler(checked_offer_pressed, pattern=rf"^{CHECK_REPORT}[A-Za-z0-9_-]{{1,48}}$"),
                resume,
            ],
            states={
                CHANNEL: [CallbackQueryHandler(channel_chosen, pattern=rf"^report:chan:{_one_of(reports.CHANNELS)}$"),
                          CallbackQueryHandler(quick_chosen, pattern=r"^report:quick$"), skip],
                OFFERS: [CallbackQueryHandler(offer_toggled, pattern=rf"^report:offer:{_one_of(reports.OFFERS_IDS)}$"),
                         skip],
                COUNTRY: [CallbackQueryHandler(country_chosen,
                                               pattern=rf"^report:country:{_one_of(reports.COUNTRY_BUTTONS)}$"),
                          MessageHandler(typed, country_typed), skip],
                RECRUITER: [MessageHandler(typed, recruiter_typed), skip],
                DESCRIPTION: [MessageHandler(typed, description_typed), skip],
                QUICK: [MessageHandler(typed, description_typed)],
                EVIDENCE: [MessageHandler(EVIDENCE_MESSAGE | typed, evidence_added), skip],
                ABOUT: [CallbackQueryHandler(about_chosen, pattern=r"^report:about:(self|other)$"), skip],
                CONTACT: [CallbackQueryHandler(contact_chosen, pattern=r"^report:contact:(yes|no)$")],
                REVIEW: [CallbackQueryHandler(edit_pressed, pattern=rf"^report:edit:{_one_of(EDIT_NAMES)}$"), submit],
            },
            fallbacks=[
                CommandHandler("cancel", cancel, filters=PRIVATE),
                CallbackQueryHandler(cancel, pattern=r"^report:cancel$"),
                CommandHandler("forget", forget_command, filters=PRIVATE),
                CallbackQueryHandler(forget_pressed, pattern=r"^report:forget:(yes|no)$"),
                CommandHandler("myreports", myreports_command, filters=PRIVATE),
                submit,
                evidence,
                CallbackQueryHandler(checked_offer_added, pattern=rf"^{CHECK_REPORT}[A-Za-z0-9_-]{{1,48}}$"),
                # Anything else while a report is in progress: remind, and ask the step again.
                MessageHandler(PRIVATE & NOT_EDITED & ~filters.StatusUpdate.ALL, reminder),
                CallbackQueryHandler(reminder, pattern=r"^(report|check):"),
            ],
        )
    resume.conversation = conversation
    return conversation


def register(application: Application) -> None:
    """Adds the report conversation, then /myreports, /forget and the group answers."""
    svc: Services = application.bot_data[SERVICES_KEY]
    # ConversationHandler logs conversation keys, which are raw Telegram ids, at DEBUG.
    logging.getLogger("telegram.ext.ConversationHandler").setLevel(logging.INFO)
    groups = filters.ChatType.GROUPS
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
        application.add_handlers([
            build_conversation(svc),
            CommandHandler("myreports", myreports_command, filters=PRIVATE),
            CommandHandler("forget", forget_command, filters=PRIVATE),
            CommandHandler(["report", "myreports", "forget"], private_only, filters=groups),
            CallbackQueryHandler(forget_pressed, pattern=r"^report:forget:(yes|no)$"),
            # A submit redelivered after the draft became a report: confirm it again, store nothing.
            CallbackQueryHandler(submit_pressed, pattern=rf"^report:submit:{reports.DRAFT_ID_PATTERN}$"),
            CallbackQueryHandler(stale_button, pattern=r"^report:"),
        ])


async def on_startup(application: Application) -> None:
    """Deletes long-abandoned drafts and loads who has a report in progress."""
    svc: Services = application.bot_data[SERVICES_KEY]
    purged = await svc.store.run(reports.purge_stale_drafts, svc.settings.draft_ttl_hours)
    svc.memory[DRAFTS_KEY] = await svc.store.run(reports.draft_states)
    log.info("reports: %d drafts in progress, %d abandoned ones deleted", len(svc.memory[DRAFTS_KEY]), purged)
