"""The admin side: triage (/reports, /show, /note, status buttons), /export, /stats, /audit.

Every admin handler and admin button passes the one guard, `bot.audit.admin_only`; every admin
action is written to the audit table. Admins never see a reporter's Telegram identity: reports
show the pseudonym only, and the chat id kept for contacting a consenting reporter is used only
by the relay (`bot.relay`).

This module also registers the relay and broadcast features (their handlers must come before the
report conversation and the questions), so `register` here is the admin side's one entry point.

Button data (ASCII, at most 64 bytes; the guard decides who may press them, never the data):
- `adm:pg:<page>[:all]`             a page of the queue (`all` includes closed reports)
- `adm:show:<report id>`            the whole report, attachments re-sent
- `adm:st:<report id>:<from>:<to>:<view>`  change status, compare-and-set (`from`, `to`: one-letter
  status codes n r e c; `view`: a = alert, s = /show) so two admins pressing at once change it once
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import sqlite_utils
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import broadcast, relay
from bot.audit import admin_only, audit, record
from bot.db import utc_now
from bot.export import ExportError, export_file, file_name, parse_arguments, write_export
from bot.i18n import Renderer
from bot.replies import Button, Reply
from bot.services import services
from bot.stats import compute_stats, label
from bot.ui import markup, send

log = logging.getLogger(__name__)

# The admin command menu (app.set_commands adds these for each admin).
ADMIN_COMMANDS = ("reports", "show", "note", "reply", "export", "stats", "broadcast", "audit")

STATUSES = ("new", "in_review", "escalated", "closed")
CODES = {"new": "n", "in_review": "r", "escalated": "e", "closed": "c"}
BY_CODE = {code: status for status, code in CODES.items()}
# Allowed moves: new → in_review → escalated or closed; a report can also be closed straight
# away (spam) and a closed one reopened for review.
TRANSITIONS = {
    "new": ("in_review", "closed"),
    "in_review": ("escalated", "closed"),
    "escalated": ("closed",),
    "closed": ("in_review",),
}
PAGE_SIZE = 10
# Limits that keep a whole report within Telegram's 4,096 characters; the export has it all.
MAX_TEXT = 1200
ALERT_TEXT = 600
MAX_NOTES = 5
MAX_EVIDENCE = 5
EXCERPT = 60
MAX_UPLOAD = 50 * 2**20  # the Bot API's limit for files a bot sends
FIT = 4000  # Telegram takes 4,096; a margin for what the estimate may miss


# --- logic: reports --------------------------------------------------------------------------

def _decode(report: dict) -> dict:
    report = dict(report)
    for name in ("offers", "attachments", "signs", "contacts_found"):
        try:
            value = json.loads(report.get(name) or "[]")
        except ValueError:
            value = []
        report[name] = value if isinstance(value, list) else []
    return report


def get_report(db: sqlite_utils.Database, report_id: int) -> dict | None:
    """Returns the report with this id (lists decoded), or None."""
    rows = list(db.query("select * from reports where id = ?", [report_id]))
    return _decode(rows[0]) if rows else None


def find_report(db: sqlite_utils.Database, reference: str) -> dict | None:
    """Returns the report with this reference (as typed, or upper-cased), or None."""
    reference = reference.strip()
    for candidate in dict.fromkeys((reference, reference.upper())):
        rows = list(db.query("select * from reports where reference = ?", [candidate]))
        if rows:
            return _decode(rows[0])
    return None


def queue_page(db: sqlite_utils.Database, page: int, include_closed: bool = False) -> tuple[list[dict], int]:
    """Returns one page of the queue (new first, then in review, escalated, closed) and the total."""
    where = "" if include_closed else "where status != 'closed'"
    total = db.execute(f"select count(*) from reports {where}").fetchone()[0]
    order = ("case status when 'new' then 0 when 'in_review' then 1 when 'escalated' then 2 "
             "when 'closed' then 3 else 4 end")
    rows = db.query(
        f"select id, reference, status, created_at, channel, description from reports {where} "
        f"order by {order}, created_at, id limit ? offset ?",
        [PAGE_SIZE, max(page, 0) * PAGE_SIZE],
    )
    return list(rows), total


class StatusConflict(Exception):
    """The report's status was changed by someone else first."""


def set_status(db: sqlite_utils.Database, report_id: int, expected: str, new: str, admin_id: int) -> None:
    """Moves a report from `expected` to `new` status, once: compare-and-set, audited.

    Raises StatusConflict when the report is no longer in `expected` (another admin was first),
    ValueError when the move is not allowed.
    """
    if new not in TRANSITIONS.get(expected, ()):
        raise ValueError(f"a report cannot move from {expected!r} to {new!r}")
    with db.atomic():
        changed = db.execute(
            "update reports set status = ?, updated_at = ? where id = ? and status = ?",
            [new, utc_now(), report_id, expected],
        ).rowcount
        if changed != 1:
            raise StatusConflict(report_id)
        record(db, admin_id, "status", str(report_id), f"{expected}->{new}")


def add_note(db: sqlite_utils.Database, report_id: int, admin_id: int, text: str) -> int:
    """Adds an internal note to a report (audited) and returns its id."""
    with db.atomic():
        note_id = db.execute(
            "insert into report_notes (report_id, admin_id, text, created_at) values (?, ?, ?, ?)",
            [report_id, admin_id, text, utc_now()],
        ).lastrowid
        record(db, admin_id, "note", str(report_id), str(note_id))
    return note_id


def notes_for(db: sqlite_utils.Database, report_id: int) -> list[dict]:
    """Returns a report's notes, oldest first."""
    return list(db.query("select * from report_notes where report_id = ? order by id", [report_id]))


# --- logic: rendering ------------------------------------------------------------------------

def status_name(renderer: Renderer, lang: str, status: str) -> str:
    return renderer.text(lang, f"buttons/admin/status_{status}") if status in STATUSES else status


def status_buttons(renderer: Renderer, lang: str, report: dict, view: str) -> tuple[Button, ...]:
    """The buttons that move a report on from its current status."""
    current = report["status"]
    buttons = []
    for new in TRANSITIONS.get(current, ()):
        label = renderer.text(lang, "buttons/admin/reopen" if current == "closed" else f"buttons/admin/to_{new}")
        buttons.append(Button(label, data=f"adm:st:{report['id']}:{CODES[current]}:{CODES[new]}:{view}"))
    return tuple(buttons)


def _short(text: str | None, limit: int) -> tuple[str, bool]:
    text = text or ""
    return (text, False) if len(text) <= limit else (text[:limit].rstrip() + "…", True)


_TAG = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Telegram's length of an HTML message: UTF-16 code units of the text without tags."""
    return len(html.unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2


def report_context(renderer: Renderer, lang: str, report: dict, limit: int = MAX_TEXT) -> dict[str, Any]:
    description, cut1 = _short(report.get("description"), limit)
    forwarded, cut2 = _short(report.get("forwarded_text"), limit)
    small = max(limit // 4, 40)
    shown = dict(report)
    for name in ("recruiter_contact", "forward_origin", "country", "channel", "source", "about"):
        shown[name], cut = _short(report.get(name), small)
        cut1 = cut1 or cut
    for name in ("offers", "signs", "contacts_found"):
        shown[name] = [_short(str(item), small)[0] for item in report.get(name) or []][:20]
    for name in ("channel", "country", "about"):
        shown[name] = label(renderer, lang, name, shown[name])
    shown["offers"] = [label(renderer, lang, "offer", offer) for offer in shown["offers"]]
    attachments = [a for a in report.get("attachments") or [] if isinstance(a, dict)]
    evidence = [{"kind": a.get("kind", ""), "origin": _short(a.get("origin"), small)[0],
                 "text": _short(a.get("text"), limit // 3)[0]} for a in attachments if a.get("text")]
    return {
        "r": shown,
        "files": [a for a in attachments if a.get("file_id")],
        "evidence": evidence[:MAX_EVIDENCE],
        "hidden_evidence": max(0, len(evidence) - MAX_EVIDENCE),
        "status_name": status_name(renderer, lang, report["status"]),
        "description": description,
        "forwarded_text": forwarded,
        "shortened": cut1 or cut2,
        "reporter": (report.get("reporter_key") or "")[:12],
        "can_reply": bool(report.get("contact_ok")) and report.get("contact_chat_id") is not None,
    }


def _fitting(render: Callable[[int], str]) -> str:
    """Renders with ever shorter user texts until the message fits in one Telegram message."""
    for limit in (MAX_TEXT, 600, 250, 80):
        text = render(limit)
        if visible_length(text) <= FIT:
            return text
    return text


def report_reply(renderer: Renderer, lang: str, report: dict, notes: list[dict]) -> Reply:
    """The whole report for /show, with its notes and status buttons."""
    def render(limit: int) -> str:
        shown = [{"created_at": n["created_at"], "text": _short(n["text"], limit // 4)[0]} for n in notes[-MAX_NOTES:]]
        return renderer.html(lang, "admin/report", notes=shown, hidden_notes=max(0, len(notes) - MAX_NOTES),
                             **report_context(renderer, lang, report, limit))

    return Reply(_fitting(render), (status_buttons(renderer, lang, report, "s"),))


def alert_reply(renderer: Renderer, lang: str, report: dict) -> Reply:
    """The alert for a new report in the admin chat: a summary and what admins can do."""
    text = _fitting(lambda limit: renderer.html(lang, "admin/alert", **report_context(renderer, lang, report,
                                                                                     min(limit, ALERT_TEXT))))
    rows = (
        (Button(renderer.text(lang, "buttons/admin/show"), data=f"adm:show:{report['id']}"),),
        status_buttons(renderer, lang, report, "a"),
    )
    return Reply(text, rows)


def queue_reply(renderer: Renderer, lang: str, rows: list[dict], total: int, page: int, include_closed: bool) -> Reply:
    """One page of the queue, a button per report, and ◀ ▶ between pages."""
    pages = max(1, -(-total // PAGE_SIZE))
    items = [{"reference": r["reference"], "status": status_name(renderer, lang, r["status"]),
              "date": (r["created_at"] or "")[:10], "channel": label(renderer, lang, "channel", r["channel"]) or "",
              "excerpt": _short(" ".join((r["description"] or "").split()), EXCERPT)[0]} for r in rows]
    key = "admin/queue" if total else "admin/queue_empty"
    text = renderer.html(lang, key, items=items, total=total, page=page + 1, pages=pages, all=include_closed)
    suffix = ":all" if include_closed else ""
    report_buttons = [Button(r["reference"], data=f"adm:show:{r['id']}") for r in rows]
    button_rows = [tuple(report_buttons[i:i + 2]) for i in range(0, len(report_buttons), 2)]
    nav = []
    if page > 0:
        nav.append(Button("◀", data=f"adm:pg:{page - 1}{suffix}"))
    if page + 1 < pages:
        nav.append(Button("▶", data=f"adm:pg:{page + 1}{suffix}"))
    if nav:
        button_rows.append(tuple(nav))
    return Reply(text, tuple(button_rows))


# --- handlers --------------------------------------------------------------------------------

async def _admin_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await services(context).language_for(update)


@admin_only
async def reports_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the first page of the report queue."""
    svc = services(context)
    lang = await _admin_language(update, context)
    include_closed = bool(context.args) and context.args[0].lower() == "all"
    rows, total = await svc.store.run(queue_page, 0, include_closed)
    await audit(context, update, "reports", None, "all" if include_closed else None)
    await send(update, context, queue_reply(svc.renderer, lang, rows, total, 0, include_closed))


@admin_only
async def page_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows another page of the report queue."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    parts = query.data.split(":")
    page = int(parts[2])
    include_closed = len(parts) > 3
    lang = await _admin_language(update, context)
    rows, total = await svc.store.run(queue_page, page, include_closed)
    reply = queue_reply(svc.renderer, lang, rows, total, page, include_closed)
    try:
        await query.edit_message_text(text=reply.text, parse_mode=ParseMode.HTML, reply_markup=markup(reply.buttons))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _show(update: Update, context: ContextTypes.DEFAULT_TYPE, report: dict, lang: str) -> None:
    svc = services(context)
    notes = await svc.store.run(notes_for, report["id"])
    chat_id = update.effective_chat.id
    message = await send(update, context, report_reply(svc.renderer, lang, report, notes), protect_content=True)
    await relay.remember_link(svc, chat_id, message.message_id, report["id"])
    await audit(context, update, "show", str(report["id"]))
    for attachment in report["attachments"]:
        if not isinstance(attachment, dict) or not attachment.get("file_id"):
            continue
        try:
            await _send_attachment(context, chat_id, attachment, message.message_id)
        except BadRequest as exc:
            log.info("could not re-send an attachment: %s", type(exc).__name__)
            await context.bot.send_message(chat_id=chat_id, text=svc.renderer.html(lang, "admin/attachment_failed"),
                                           parse_mode=ParseMode.HTML)


async def _send_attachment(context: ContextTypes.DEFAULT_TYPE, chat_id: int, attachment: dict, reply_to: int) -> None:
    kind, file_id = attachment.get("kind"), attachment["file_id"]
    common = {"chat_id": chat_id, "protect_content": True, "reply_to_message_id": reply_to}
    if kind == "photo":
        await context.bot.send_photo(photo=file_id, **common)
    elif kind == "video":
        await context.bot.send_video(video=file_id, **common)
    elif kind == "voice":
        await context.bot.send_voice(voice=file_id, **common)
    elif kind == "audio":
        await context.bot.send_audio(audio=file_id, **common)
    elif kind == "animation":
        await context.bot.send_animation(animation=file_id, **common)
    elif kind == "video_note":
        await context.bot.send_video_note(video_note=file_id, **common)
    else:
        await context.bot.send_document(document=file_id, **common)


@admin_only
async def show_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows a whole report by its reference, with its attachments and notes."""
    svc = services(context)
    lang = await _admin_language(update, context)
    if not context.args:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/show_usage")))
        return
    report = await svc.store.run(find_report, context.args[0])
    if report is None:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/not_found", reference=context.args[0])))
        return
    await _show(update, context, report, lang)


@admin_only
async def show_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the whole report whose button was pressed."""
    svc = services(context)
    query = update.callback_query
    await query.answer()
    report = await svc.store.run(get_report, int(query.data.split(":")[2]))
    if report is not None:
        await _show(update, context, report, await _admin_language(update, context))


@admin_only
async def status_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Moves a report to the status pressed, unless another admin changed it first."""
    svc = services(context)
    query = update.callback_query
    _, _, report_id, old, new, view = query.data.split(":")
    lang = await _admin_language(update, context) if view == "s" else svc.settings.default_language
    try:
        await svc.store.run(set_status, int(report_id), BY_CODE[old], BY_CODE[new], update.effective_user.id)
    except (StatusConflict, ValueError):
        # Another admin was first; their press already updated the shared alert.
        await query.answer(svc.renderer.text(lang, "admin/toast_status_conflict"), show_alert=True)
        return
    await query.answer(svc.renderer.text(lang, "admin/toast_status_changed",
                                         status=status_name(svc.renderer, lang, BY_CODE[new])))
    report = await svc.store.run(get_report, int(report_id))
    if report is None:
        return
    if view == "s":
        reply = report_reply(svc.renderer, lang, report, await svc.store.run(notes_for, report["id"]))
    else:
        reply = alert_reply(svc.renderer, lang, report)
    try:
        await query.edit_message_text(text=reply.text, parse_mode=ParseMode.HTML, reply_markup=markup(reply.buttons))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


@admin_only
async def note_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Adds an internal note to a report."""
    svc = services(context)
    lang = await _admin_language(update, context)
    reference, text = relay.split_reference(update.effective_message.text or "")
    if not reference or not text:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/note_usage")))
        return
    report = await svc.store.run(find_report, reference)
    if report is None:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/not_found", reference=reference)))
        return
    await svc.store.run(add_note, report["id"], update.effective_user.id, text)
    await send(update, context, Reply(svc.renderer.html(lang, "admin/note_added", reference=report["reference"])))



@admin_only
async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the reports as a CSV or JSON file that cannot be forwarded."""
    svc = services(context)
    lang = await _admin_language(update, context)
    try:
        fmt, since, status = parse_arguments(context.args or [])
    except ExportError as exc:
        await send(update, context, Reply(svc.renderer.html(lang, "admin/export_usage", error=str(exc))))
        return
    name = file_name(fmt, datetime.now(timezone.utc).date(), since, status)
    fd, tmp = tempfile.mkstemp(prefix="export-", suffix=f".{fmt}")
    os.close(fd)
    try:
        count = await _export_to(svc, Path(tmp), fmt, since, status)
        await audit(context, update, "export", None, f"{fmt} since={since} status={status} rows={count}")
        size = Path(tmp).stat().st_size
        if size > MAX_UPLOAD:
            await send(update, context, Reply(svc.renderer.html(lang, "admin/export_too_big", count=count,
                                                                megabytes=size // 2**20)))
            return
        with open(tmp, "rb") as document:
            await context.bot.send_document(
                chat_id=update.effective_chat.id, document=document, filename=name, protect_content=True,
                caption=svc.renderer.html(lang, "admin/export_caption", count=count), parse_mode=ParseMode.HTML,
            )
    finally:
        Path(tmp).unlink(missing_ok=True)


async def _export_to(svc: Any, dest: Path, fmt: str, since: str | None, status: str | None) -> int:
    # A database file is read through its own read-only connection on a worker thread, so a big
    # export never holds up the writer; an in-memory one (tests) only has the writer's.
    if str(svc.settings.database_path) != ":memory:" and Path(svc.settings.database_path).exists():
        return await asyncio.to_thread(export_file, svc.settings.database_path, dest, fmt, since, status)

    def write(db: sqlite_utils.Database) -> int:
        with open(dest, "wb") as out:
            return write_export(db, out, fmt, since=since, status=status)

    return await svc.store.run(write)


@admin_only
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows report counts by status, channel, offer, country and week."""
    svc = services(context)
    lang = await _admin_language(update, context)
    stats = await svc.store.run(compute_stats)
    await audit(context, update, "stats")
    names = {s: status_name(svc.renderer, lang, s) for s in STATUSES}
    await send(update, context, Reply(svc.renderer.html(
        lang, "admin/stats", stats=stats, status_names=names,
        name_of=lambda kind, value: label(svc.renderer, lang, kind, value))))


@admin_only
async def audit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the latest admin actions."""
    from bot.audit import recent

    svc = services(context)
    lang = await _admin_language(update, context)
    rows = await svc.store.run(recent, 20)
    await audit(context, update, "audit")
    await send(update, context, Reply(svc.renderer.html(lang, "admin/audit", rows=rows)))


@admin_only
async def stale_admin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers an admin button this bot no longer knows, without acting."""
    await update.callback_query.answer()


def register(application: Application) -> None:
    """Adds the admin, relay and broadcast handlers (first in the routing order)."""
    application.add_handlers([
        CommandHandler("reports", reports_command),
        CommandHandler("show", show_command),
        CommandHandler("note", note_command),
        CommandHandler("export", export_command),
        CommandHandler("stats", stats_command),
        CommandHandler("audit", audit_command),
        CallbackQueryHandler(page_pressed, pattern=r"^adm:pg:\d{1,6}(:all)?$"),
        CallbackQueryHandler(show_pressed, pattern=r"^adm:show:\d{1,18}$"),
        CallbackQueryHandler(status_pressed, pattern=r"^adm:st:\d{1,18}:[nrec]:[nrec]:[as]$"),
    ])
    relay.register(application)
    broadcast.register(application)
    application.add_handler(CallbackQueryHandler(stale_admin_button, pattern=r"^adm:"))


async def on_startup(application: Application) -> None:
    """Loads the relay links and resumes broadcasts a restart interrupted."""
    await relay.on_startup(application)
    await broadcast.on_startup(application)
