"""Reports: drafts in progress, submitting, the reporter's own list, and erasing a user.

Plain functions on a `sqlite_utils.Database` (no `telegram` import): the handlers in
`bot.report_flow` call them through the one writer thread (`await svc.store.run(fn, ...)`), the
tests call them directly on `open_database(":memory:")`, other features may call the readers
(`get_report`, `find_report`, `reports_for`).

A draft is one row in `drafts` per user (keyed by pseudonym), holding the step the user is at and
their answers so far as JSON; it is written before the bot asks the next question, so it survives
a restart. Submitting turns it into a row of `reports` and deletes it in one transaction; the
draft's `draft_id` is UNIQUE in `reports`, so submitting the same draft twice (a redelivered
update) returns the report already stored instead of making a second one.

Step numbers are stored in `drafts.state`: never renumber them, only add.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlite_utils

from bot.db import utc_now

# --- steps (the ConversationHandler's states; stored in drafts.state) --------------------------
CHANNEL, OFFERS, COUNTRY, RECRUITER, DESCRIPTION, EVIDENCE, ABOUT, CONTACT, REVIEW, QUICK = range(1, 11)

STEP_NAMES = {CHANNEL: "channel", OFFERS: "offers", COUNTRY: "country", RECRUITER: "recruiter",
              DESCRIPTION: "description", EVIDENCE: "evidence", ABOUT: "about", CONTACT: "contact",
              REVIEW: "review", QUICK: "quick"}
STEPS_BY_NAME = {name: step for step, name in STEP_NAMES.items()}
GUIDED = (CHANNEL, OFFERS, COUNTRY, RECRUITER, DESCRIPTION, EVIDENCE, ABOUT, CONTACT)
# Steps a review's edit button can reopen.
EDITABLE = (CHANNEL, OFFERS, COUNTRY, RECRUITER, DESCRIPTION, EVIDENCE, ABOUT, CONTACT)

# --- choices (ASCII ids, stored as they are; see db.py) -----------------------------------------
CHANNELS = ("telegram", "whatsapp", "facebook_instagram", "tiktok", "website", "agency", "in_person",
            "phone", "other")
OFFERS_IDS = ("money", "citizenship", "land", "job_visa", "study", "other")
SOURCES = ("guided", "quick", "forward", "check")
ABOUT_VALUES = ("self", "other")
ORIGIN_TYPES = ("user", "hidden_user", "chat", "channel")
ATTACHMENT_KINDS = ("photo", "document", "video", "audio", "voice", "video_note", "animation", "forward", "text")
# Countries offered as buttons (ISO 3166-1 alpha-2); any other country is typed.
COUNTRY_BUTTONS = ("JO", "IQ", "SY", "EG", "LB", "YE")
# Names a typed country is recognised by (normalised: lower case, no "the"), so stats group them.
_COUNTRY_NAMES = {
    "JO": ("jordan", "الأردن", "الاردن", "اردن", "عمان"),
    "IQ": ("iraq", "العراق", "عراق"),
    "SY": ("syria", "سوريا", "سورية", "سوريه"),
    "EG": ("egypt", "مصر"),
    "LB": ("lebanon", "لبنان"),
    "YE": ("yemen", "اليمن", "يمن"),
    "PS": ("palestine", "فلسطين"),
    "SD": ("sudan", "السودان"),
    "LY": ("libya", "ليبيا"),
    "SA": ("saudi arabia", "السعودية", "المملكة العربية السعودية"),
    "MA": ("morocco", "المغرب"),
    "DZ": ("algeria", "الجزائر"),
    "TN": ("tunisia", "تونس"),
}
_COUNTRY_LOOKUP = {name: code for code, names in _COUNTRY_NAMES.items() for name in names}

# --- limits, said plainly to the user when reached ----------------------------------------------
MAX_DESCRIPTION = 3000
MAX_RECRUITER = 200
MAX_COUNTRY = 100
MAX_FORWARDED_TEXT = 4096  # a Telegram message is at most 4,096 characters
MAX_ATTACHMENTS = 10
# Drafts older than the TTL are announced as expired when the user next writes; past this grace
# they are deleted at start-up without a word (nobody can be told: no chat ids are kept).
STALE_DRAFT_GRACE = timedelta(days=7)

# References: unambiguous letters and digits (no 0/O, 1/I/L, U), 8 random symbols: 30^8 ≈ 6.6e11.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE = re.compile(rf"^R-[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")
DRAFT_ID_PATTERN = r"[A-Za-z0-9_-]{16}"


class ReportError(ValueError):
    """Base of the errors a step or a submit reports back to the user."""


class TooLong(ReportError):
    def __init__(self, limit: int, length: int) -> None:
        super().__init__(f"{length} characters, over the limit of {limit}")
        self.limit = limit
        self.length = length


class TooManyAttachments(ReportError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} attachments")
        self.limit = limit


class UnknownChoice(ReportError):
    """A button's value is not one this step offers (stale or forged button data)."""


class DraftMissing(ReportError):
    """No draft (or not this draft) is in progress for the user."""


class IncompleteReport(ReportError):
    """The report says nothing yet: no description, forwarded text or attachment."""


class RateLimited(ReportError):
    def __init__(self, limit: int, wait_minutes: int) -> None:
        super().__init__(f"over {limit} reports an hour; wait {wait_minutes} min")
        self.limit = limit
        self.wait_minutes = wait_minutes


# --- drafts --------------------------------------------------------------------------------------

def empty_data(language: str, source: str = "guided") -> dict[str, Any]:
    """Returns the answers of a new draft: nothing given yet."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    return {
        "language": language, "source": source, "channel": None, "offers": [], "country": None,
        "recruiter_contact": None, "description": "", "forwarded_text": None,
        "forward_origin_type": None, "forward_origin": None, "attachments": [], "signs": [],
        "contacts_found": [], "about": None, "contact_ok": False, "editing": False,
    }


@dataclass(frozen=True)
class Draft:
    user_key: str
    draft_id: str
    state: int
    data: dict[str, Any]
    created_at: str
    updated_at: str

    @property
    def language(self) -> str:
        return self.data["language"]

    def is_expired(self, ttl_hours: int, now: datetime | None = None) -> bool:
        """Tells whether the draft was last touched more than `ttl_hours` ago."""
        now = now or datetime.now(timezone.utc)
        return datetime.fromisoformat(self.updated_at) < now - timedelta(hours=ttl_hours)


def _iso(now: datetime | None) -> str:
    """Formats `now` (default: the current time) the way every timestamp is stored."""
    return now.astimezone(timezone.utc).replace(microsecond=0).isoformat() if now else utc_now()


def _draft(row: dict[str, Any]) -> Draft:
    return Draft(row["user_key"], row["draft_id"], int(row["state"]), json.loads(row["data"]),
                 row["created_at"], row["updated_at"])


def get_draft(db: sqlite_utils.Database, user_key: str) -> Draft | None:
    """Returns the user's draft in progress, if any (expired or not: see `Draft.is_expired`)."""
    rows = list(db.query("select * from drafts where user_key = ?", [user_key]))
    return _draft(rows[0]) if rows else None


def start_draft(db: sqlite_utils.Database, user_key: str, state: int, data: dict[str, Any],
                now: datetime | None = None) -> Draft:
    """Starts a new draft for the user at `state` with `data`, replacing any older one."""
    if state not in STEP_NAMES:
        raise ValueError(f"unknown step {state!r}")
    stamp = _iso(now)
    draft = Draft(user_key, secrets.token_urlsafe(12), state, data, stamp, stamp)
    with db.atomic():
        db.execute("delete from drafts where user_key = ?", [user_key])
        db.execute("insert into drafts (user_key, draft_id, state, data, created_at, updated_at) "
                   "values (?, ?, ?, ?, ?, ?)",
                   [user_key, draft.draft_id, state, json.dumps(data, ensure_ascii=False), stamp, stamp])
    return draft


def save_draft(db: sqlite_utils.Database, draft: Draft, state: int, data: dict[str, Any],
               now: datetime | None = None) -> Draft:
    """Stores the draft's new step and answers; raises `DraftMissing` if it was deleted meanwhile."""
    if state not in STEP_NAMES:
        raise ValueError(f"unknown step {state!r}")
    stamp = _iso(now)
    cursor = db.execute("update drafts set state = ?, data = ?, updated_at = ? where user_key = ? and draft_id = ?",
                        [state, json.dumps(data, ensure_ascii=False), stamp, draft.user_key, draft.draft_id])
    if cursor.rowcount != 1:
        raise DraftMissing("the draft is no longer in progress")
    return Draft(draft.user_key, draft.draft_id, state, data, draft.created_at, stamp)


def delete_draft(db: sqlite_utils.Database, user_key: str) -> int:
    """Deletes the user's draft; returns how many rows went (0 or 1)."""
    return db.execute("delete from drafts where user_key = ?", [user_key]).rowcount


def draft_states(db: sqlite_utils.Database) -> dict[str, int]:
    """Returns {user_key: step} for every draft, to know at start-up who has a report in progress."""
    return {row["user_key"]: int(row["state"]) for row in db.query("select user_key, state from drafts")}


def purge_stale_drafts(db: sqlite_utils.Database, ttl_hours: int, now: datetime | None = None) -> int:
    """Deletes drafts untouched for longer than the TTL plus the grace period; returns how many."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(hours=ttl_hours) - STALE_DRAFT_GRACE
    return db.execute("delete from drafts where updated_at < ?", [_iso(cutoff)]).rowcount


# --- answering a step: pure functions from data to new data --------------------------------------

def _text(value: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise TooLong(limit, len(value))
    return value


def set_channel(data: dict[str, Any], channel: str) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise UnknownChoice(channel)
    return dict(data, channel=channel)


def toggle_offer(data: dict[str, Any], offer: str) -> dict[str, Any]:
    """Adds the offer if it wasn't chosen, removes it if it was (kept in OFFERS_IDS order)."""
    if offer not in OFFERS_IDS:
        raise UnknownChoice(offer)
    chosen = set(data["offers"]) ^ {offer}
    return dict(data, offers=[o for o in OFFERS_IDS if o in chosen])


def country_from_text(text: str) -> str:
    """Returns the ISO code of a country typed by name (English or Arabic), else the text itself."""
    value = _text(text, MAX_COUNTRY)
    key = re.sub(r"^the\s+", "", " ".join(value.lower().split()))
    return _COUNTRY_LOOKUP.get(key, value)


def set_country(data: dict[str, Any], country: str, *, typed: bool = False) -> dict[str, Any]:
    """Stores a country button's code, or a typed country (recognised names become codes)."""
    if typed:
        value = country_from_text(country)
        if not value:
            raise UnknownChoice("empty")
        return dict(data, country=value)
    if country not in COUNTRY_BUTTONS:
        raise UnknownChoice(country)
    return dict(data, country=country)


def set_recruiter(data: dict[str, Any], text: str) -> dict[str, Any]:
    value = _text(text, MAX_RECRUITER)
    if not value:
        raise UnknownChoice("empty")
    return dict(data, recruiter_contact=value)


def set_description(data: dict[str, Any], text: str) -> dict[str, Any]:
    value = _text(text, MAX_DESCRIPTION)
    if not value:
        raise UnknownChoice("empty")
    return dict(data, description=value)


def set_about(data: dict[str, Any], about: str) -> dict[str, Any]:
    if about not in ABOUT_VALUES:
        raise UnknownChoice(about)
    return dict(data, about=about)


def set_contact(data: dict[str, Any], agreed: bool) -> dict[str, Any]:
    return dict(data, contact_ok=bool(agreed))


def attachment(kind: str, *, file_id: str | None = None, text: str | None = None,
               origin_type: str | None = None, origin: str | None = None) -> dict[str, Any]:
    """Builds one piece of evidence: its kind, file id, text or caption, and forwarded origin."""
    if kind not in ATTACHMENT_KINDS:
        raise UnknownChoice(kind)
    if origin_type is not None and origin_type not in ORIGIN_TYPES:
        raise UnknownChoice(origin_type)
    item: dict[str, Any] = {"kind": kind}
    if file_id:
        item["file_id"] = file_id
    if text:
        item["text"] = text[:MAX_FORWARDED_TEXT]
    if origin_type:
        item["origin_type"] = origin_type
        item["origin"] = (origin or "")[:MAX_RECRUITER]
    if "file_id" not in item and "text" not in item:
        raise UnknownChoice("empty attachment")
    return item


def add_attachment(data: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Adds evidence, up to MAX_ATTACHMENTS; the first forwarded message also sets the report's origin."""
    if len(data["attachments"]) >= MAX_ATTACHMENTS:
        raise TooManyAttachments(MAX_ATTACHMENTS)
    new = dict(data, attachments=data["attachments"] + [item])
    if item.get("origin_type") and not data.get("forward_origin_type"):
        new.update(forward_origin_type=item["origin_type"], forward_origin=item.get("origin"),
                   forwarded_text=item.get("text"))
    return new


def prefill_from_check(language: str, check: dict[str, Any]) -> dict[str, Any]:
    """Returns a draft's data prefilled from a checked offer (its text, origin, signs, contacts)."""
    origin_type = check.get("forward_origin_type")
    if origin_type not in ORIGIN_TYPES:
        origin_type = None
    data = empty_data(language, "forward" if origin_type else "check")
    text = str(check.get("text") or "").strip()
    data.update(
        forwarded_text=text[:MAX_FORWARDED_TEXT] or None,
        forward_origin_type=origin_type,
        forward_origin=(str(check.get("forward_origin") or "")[:MAX_RECRUITER] or None) if origin_type else None,
        signs=[str(s) for s in check.get("signs") or [] if isinstance(s, str)],
        contacts_found=[str(c)[:MAX_RECRUITER] for c in check.get("contacts") or [] if isinstance(c, str)],
    )
    return data


def add_checked_offer(data: dict[str, Any], offer: dict[str, Any]) -> dict[str, Any]:
    """Adds a checked offer (data from `prefill_from_check`) to a report already in progress.

    It becomes the report's forwarded message if it has none yet, else one more piece of
    evidence; its warning signs and contacts join the report's.
    """
    if not offer.get("forwarded_text"):
        raise UnknownChoice("empty offer")
    if not data.get("forwarded_text") and not data.get("forward_origin_type"):
        new = dict(data, forwarded_text=offer["forwarded_text"], forward_origin_type=offer["forward_origin_type"],
                   forward_origin=offer["forward_origin"])
    else:
        new = add_attachment(data, attachment("forward" if offer["forward_origin_type"] else "text",
                                              text=offer["forwarded_text"], origin_type=offer["forward_origin_type"],
                                              origin=offer["forward_origin"]))
    new["signs"] = list(dict.fromkeys(data["signs"] + offer["signs"]))
    new["contacts_found"] = list(dict.fromkeys(data["contacts_found"] + offer["contacts_found"]))
    return new


def has_content(data: dict[str, Any]) -> bool:
    """Tells whether the report says something: a description, forwarded text or evidence."""
    return bool(data.get("description") or data.get("forwarded_text") or data.get("attachments"))


def can_skip(state: int, data: dict[str, Any]) -> bool:
    """Tells whether the step may be skipped (or closed with Done).

    Every guided step may, but the description only when a forwarded text or evidence already
    says something; the contact question is answered yes or no; the quick path is its description.
    """
    if state == DESCRIPTION:
        return bool(data.get("forwarded_text") or data.get("attachments"))
    return state in (CHANNEL, OFFERS, COUNTRY, RECRUITER, EVIDENCE, ABOUT)


def next_step(state: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Returns the step after `state` and the data to store with it.

    After an edit, back to the review; after the quick description, the review; in the guided
    order, the description is passed over when the user gave it already (`/report <text>`).
    """
    if data.get("editing") or state in (QUICK, CONTACT, REVIEW):
        return REVIEW, dict(data, editing=False)
    position = GUIDED.index(state) + 1
    while position < len(GUIDED) and GUIDED[position] == DESCRIPTION and data.get("description"):
        position += 1
    return (GUIDED[position] if position < len(GUIDED) else REVIEW), data


def edit_step(step_name: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Returns the step a review's edit button opens, and the data marking the edit.

    `details` turns a quick report into a guided one, asked from the first step.
    """
    if step_name == "details":
        return CHANNEL, dict(data, source="guided" if data["source"] == "quick" else data["source"], editing=False)
    step = STEPS_BY_NAME.get(step_name)
    if step not in EDITABLE:
        raise UnknownChoice(step_name)
    return step, dict(data, editing=True)


def preview(text: str | None, limit: int) -> str:
    """Shortens `text` to `limit` characters for display, marking the cut."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- forwarded messages --------------------------------------------------------------------------

def describe_origin(origin_type: str, *, name: str | None = None, username: str | None = None,
                    ident: int | None = None, message_id: int | None = None, signature: str | None = None) -> str:
    """Returns a readable line for a forwarded message's origin (the recruiter, never the reporter).

    user: "@handle · Full Name · id 123"; hidden_user: the name shown; chat/channel: title,
    @handle, the author's signature and, for a public channel, the message's t.me link.
    """
    if origin_type not in ORIGIN_TYPES:
        raise UnknownChoice(origin_type)
    parts = []
    if username:
        parts.append(f"@{username}")
    if name:
        parts.append(name)
    if signature:
        parts.append(signature)
    if ident is not None and origin_type == "user":
        parts.append(f"id {ident}")
    if origin_type == "channel" and username and message_id:
        parts.append(f"https://t.me/{username}/{message_id}")
    return " · ".join(parts)[:MAX_RECRUITER] or origin_type


# --- references ---------------------------------------------------------------------------------

def new_reference() -> str:
    """Returns a fresh reference like R-7KQ4-M2XD: random, short, easy to read aloud."""
    symbols = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"R-{symbols[:4]}-{symbols[4:]}"


def normalize_reference(text: str) -> str | None:
    """Returns the reference a user or admin typed ("r 7kq4m2xd", "R-7KQ4-M2XD"), or None."""
    symbols = re.sub(r"[\s\-_]", "", (text or "").upper())
    if symbols.startswith("R"):
        symbols = symbols[1:]
    candidate = f"R-{symbols[:4]}-{symbols[4:]}"
    return candidate if len(symbols) == 8 and _REFERENCE.match(candidate) else None


def is_reference(text: str) -> bool:
    return bool(_REFERENCE.match(text or ""))


# --- submitting ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submitted:
    report_id: int
    reference: str
    created: bool  # False: this draft had been submitted already (a redelivered update)
    contact_ok: bool


def rate_limit_wait(db: sqlite_utils.Database, user_key: str, per_hour: int, now: datetime | None = None) -> int:
    """Returns the minutes the user must wait before another report (0: they may report now)."""
    now = now or datetime.now(timezone.utc)
    since = _iso(now - timedelta(hours=1))
    rows = list(db.query("select created_at from reports where reporter_key = ? and created_at > ? "
                         "order by created_at", [user_key, since]))
    if len(rows) < per_hour:
        return 0
    # The oldest report that must leave the hour's window for one more to fit.
    frees_at = datetime.fromisoformat(rows[len(rows) - per_hour]["created_at"]) + timedelta(hours=1)
    return max(1, math.ceil((frees_at - now).total_seconds() / 60))


def report_row(draft: Draft, reference: str, contact_chat_id: int | None, now: str) -> dict[str, Any]:
    """Returns the `reports` row for a draft (the chat id only if the reporter agreed to contact)."""
    data = draft.data
    agreed = bool(data.get("contact_ok")) and contact_chat_id is not None
    return {
        "reference": reference,
        "draft_id": draft.draft_id,
        "reporter_key": draft.user_key,
        "created_at": now,
        "updated_at": now,
        "status": "new",
        "language": data["language"],
        "source": data["source"],
        "about": data.get("about"),
        "channel": data.get("channel"),
        "offers": json.dumps(data.get("offers") or []),
        "country": data.get("country"),
        "recruiter_contact": data.get("recruiter_contact"),
        "description": data.get("description") or "",
        "forward_origin_type": data.get("forward_origin_type"),
        "forward_origin": data.get("forward_origin"),
        "forwarded_text": data.get("forwarded_text"),
        "attachments": json.dumps(data.get("attachments") or [], ensure_ascii=False),
        "signs": json.dumps(data.get("signs") or []),
        "contacts_found": json.dumps(data.get("contacts_found") or [], ensure_ascii=False),
        "contact_ok": 1 if agreed else 0,
        "contact_chat_id": int(contact_chat_id) if agreed else None,
    }


def submit_report(db: sqlite_utils.Database, user_key: str, draft_id: str, *, contact_chat_id: int | None,
                  rate_per_hour: int, now: datetime | None = None) -> Submitted:
    """Turns the user's draft into a stored report, once, and deletes the draft; commits before returning.

    A second submit of the same draft returns the report already stored (`created=False`).
    Raises `DraftMissing` (no such draft for this user), `IncompleteReport`, `RateLimited`.
    `contact_chat_id` is kept only when the draft says the reporter agreed to be contacted.
    """
    with db.atomic():
        done = list(db.query("select id, reference, reporter_key, contact_ok from reports where draft_id = ?",
                             [draft_id]))
        if done:
            if done[0]["reporter_key"] != user_key:
                raise DraftMissing("not this user's draft")
            return Submitted(done[0]["id"], done[0]["reference"], created=False, contact_ok=bool(done[0]["contact_ok"]))
        draft = get_draft(db, user_key)
        if draft is None or draft.draft_id != draft_id:
            raise DraftMissing("the draft is no longer in progress")
        if not has_content(draft.data):
            raise IncompleteReport("nothing to report yet")
        wait = rate_limit_wait(db, user_key, rate_per_hour, now)
        if wait:
            raise RateLimited(rate_per_hour, wait)
        stamp = _iso(now)
        for _ in range(10):
            reference = new_reference()
            row = report_row(draft, reference, contact_chat_id, stamp)
            try:
                with db.atomic():
                    report_id = db["reports"].insert(row).last_pk
                break
            except sqlite3.IntegrityError:
                if not list(db.query("select 1 from reports where reference = ?", [reference])):
                    raise
        else:  # pragma: no cover - ten collisions in a row
            raise RuntimeError("could not draw an unused reference")
        db.execute("delete from drafts where user_key = ?", [user_key])
    return Submitted(int(report_id), reference, created=True, contact_ok=bool(row["contact_ok"]))


# --- reading -------------------------------------------------------------------------------------

_JSON_LISTS = ("offers", "attachments", "signs", "contacts_found")


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    for name in _JSON_LISTS:
        try:
            row[name] = json.loads(row.get(name) or "[]")
        except ValueError:
            row[name] = []
    return row


def get_report(db: sqlite_utils.Database, report_id: int) -> dict[str, Any] | None:
    """Returns the report with this id, its JSON lists decoded, or None."""
    rows = list(db.query("select * from reports where id = ?", [report_id]))
    return _decoded(rows[0]) if rows else None


def find_report(db: sqlite_utils.Database, reference: str) -> dict[str, Any] | None:
    """Returns the report with this reference (typed loosely: "r-7kq4 m2xd" works), or None."""
    normal = normalize_reference(reference)
    if normal is None:
        return None
    rows = list(db.query("select * from reports where reference = ?", [normal]))
    return _decoded(rows[0]) if rows else None


def reports_for(db: sqlite_utils.Database, user_key: str, limit: int = 30) -> list[dict[str, Any]]:
    """Returns the user's own reports, newest first: reference, created_at, status."""
    return list(db.query("select reference, created_at, status from reports where reporter_key = ? "
                         "order by created_at desc, id desc limit ?", [user_key, limit]))


def count_reports_for(db: sqlite_utils.Database, user_key: str) -> int:
    return db.execute("select count(*) from reports where reporter_key = ?", [user_key]).fetchone()[0]


# --- erasing -------------------------------------------------------------------------------------

USER_COLUMNS = ("user_key", "reporter_key")


def forget_user(db: sqlite_utils.Database, user_key: str) -> dict[str, int]:
    """Erases every row kept about the user, in one transaction; returns {table: rows deleted}.

    Rows of any table whose `user_key` or `reporter_key` is theirs (reports, drafts, users,
    subscribers, broadcast_deliveries, and tables added later the same way), and rows of any
    table that point at their reports by `report_id` (report_notes, relay_messages, ...).
    `secure_delete` is on, so erased rows are zeroed; call `bot.db.checkpoint` afterwards so they
    linger in the WAL file no longer.
    """
    counts: dict[str, int] = {}
    with db.atomic():
        report_ids = [row["id"] for row in db.query("select id from reports where reporter_key = ?", [user_key])]
        tables = [name for name in db.table_names() if not name.startswith("sqlite_")]
        columns = {name: set(db[name].columns_dict) for name in tables}
        if report_ids:
            marks = ",".join("?" * len(report_ids))
            for name in tables:
                if name != "reports" and "report_id" in columns[name]:
                    counts[name] = db.execute(f"delete from [{name}] where report_id in ({marks})", report_ids).rowcount
        for name in tables:
            for column in USER_COLUMNS:
                if column in columns[name]:
                    deleted = db.execute(f"delete from [{name}] where [{column}] = ?", [user_key]).rowcount
                    counts[name] = counts.get(name, 0) + deleted
    return {name: n for name, n in counts.items() if n}
