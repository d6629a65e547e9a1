"""Admin logic on an in-memory database: authorisation, compare-and-set, notes, audit, rendering."""

import json

import pytest

from bot.admin import (PAGE_SIZE, StatusConflict, add_note, alert_reply, find_report, get_report, notes_for,
                       queue_page, queue_reply, report_reply, set_status)
from bot.audit import may_act, recent, record
from bot.db import open_database
from bot.i18n import Renderer
from bot.settings import Settings
from bot.telegram_html import html_problems

ADMIN = 42
SETTINGS = Settings(admin_ids=frozenset({ADMIN, 43}), admin_chat_id=-100500)


def insert(db, n, **fields):
    row = {"reference": f"R-{n:04d}", "reporter_key": f"key{n}", "created_at": f"2026-11-{n % 28 + 1:02d}T09:00:00+00:00",
           "language": "en", "status": "new", "description": f"offer {n}"}
    row.update(fields)
    return db["reports"].insert(row).last_pk


@pytest.fixture
def db():
    return open_database(":memory:")


def test_only_admins_act_and_only_in_their_private_chat_or_the_admin_chat():
    assert may_act(SETTINGS, ADMIN, ADMIN, "private")
    assert may_act(SETTINGS, ADMIN, -100500, "supergroup")  # buttons and replies in the admin chat
    assert may_act(SETTINGS, ADMIN, ADMIN, "private", command=True)
    assert not may_act(SETTINGS, ADMIN, -100500, "supergroup", command=True)  # commands: private only
    assert not may_act(SETTINGS, ADMIN, -100777, "supergroup")  # some other group
    assert not may_act(SETTINGS, 99, 99, "private")
    assert not may_act(SETTINGS, 99, -100500, "supergroup")  # a non-admin member of the admin chat
    assert not may_act(SETTINGS, None, -100500, "supergroup")
    assert not may_act(Settings(), ADMIN, ADMIN, "private")  # no ADMIN_IDS: no admins


def test_status_changes_once_when_two_admins_press_together(db):
    report_id = insert(db, 1)
    set_status(db, report_id, "new", "in_review", ADMIN)
    with pytest.raises(StatusConflict):
        set_status(db, report_id, "new", "in_review", 43)
    assert get_report(db, report_id)["status"] == "in_review"
    assert [(r["admin_id"], r["action"], r["target"], r["detail"]) for r in recent(db)] == [
        (ADMIN, "status", str(report_id), "new->in_review")]


def test_status_moves_follow_the_workflow(db):
    report_id = insert(db, 1)
    with pytest.raises(ValueError):
        set_status(db, report_id, "new", "escalated", ADMIN)
    set_status(db, report_id, "new", "in_review", ADMIN)
    set_status(db, report_id, "in_review", "escalated", ADMIN)
    set_status(db, report_id, "escalated", "closed", ADMIN)
    set_status(db, report_id, "closed", "in_review", ADMIN)
    report = get_report(db, report_id)
    assert report["status"] == "in_review" and report["updated_at"]
    assert len(recent(db)) == 4


def test_a_failed_change_leaves_no_audit_row(db):
    report_id = insert(db, 1, status="closed")
    with pytest.raises(StatusConflict):
        set_status(db, report_id, "new", "in_review", ADMIN)
    assert recent(db) == []


def test_notes_are_kept_and_audited(db):
    report_id = insert(db, 1)
    add_note(db, report_id, ADMIN, "called the embassy")
    add_note(db, report_id, 43, "second")
    assert [n["text"] for n in notes_for(db, report_id)] == ["called the embassy", "second"]
    assert [r["action"] for r in recent(db)] == ["note", "note"]


def test_audit_rows_say_who_what_target_and_when(db):
    record(db, ADMIN, "export", None, "csv")
    (row,) = recent(db)
    assert row["admin_id"] == ADMIN and row["action"] == "export" and row["detail"] == "csv"
    assert row["created_at"].endswith("+00:00")


def test_find_report_by_reference_in_any_case(db):
    insert(db, 7)
    assert find_report(db, "r-0007")["reference"] == "R-0007"
    assert find_report(db, " R-0007 ")["reference"] == "R-0007"
    assert find_report(db, "R-9999") is None


def test_queue_is_new_first_then_in_review_escalated_and_closed_last_or_hidden(db):
    insert(db, 1, status="closed")
    insert(db, 2, status="escalated")
    insert(db, 3, status="in_review")
    insert(db, 4, status="new")
    rows, total = queue_page(db, 0)
    assert [r["status"] for r in rows] == ["new", "in_review", "escalated"] and total == 3
    rows, total = queue_page(db, 0, include_closed=True)
    assert [r["status"] for r in rows] == ["new", "in_review", "escalated", "closed"] and total == 4


def test_queue_pages(db):
    for n in range(1, 2 * PAGE_SIZE + 4):
        insert(db, n)
    renderer = Renderer()
    rows, total = queue_page(db, 1)
    assert len(rows) == PAGE_SIZE
    reply = queue_reply(renderer, "en", rows, total, 1, False)
    nav = [b.data for b in reply.buttons[-1]]
    assert nav == ["adm:pg:0", "adm:pg:2"]
    rows, total = queue_page(db, 2, include_closed=True)
    reply = queue_reply(renderer, "ar", rows, total, 2, True)
    assert [b.data for b in reply.buttons[-1]] == ["adm:pg:1:all"]
    assert html_problems(reply.text) == []


def _full_report(db, **fields):
    report_id = insert(db, 5, **fields)
    return get_report(db, report_id)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_reports_and_alerts_render_escaped_within_telegram_limits(db, lang):
    long_text = "<b>&" + "x" * 5000
    report = _full_report(
        db, id=123456789012, description=long_text, forwarded_text=long_text, channel="<i>", country="&",
        offers=json.dumps(["<money>"]),
        attachments=json.dumps([{"kind": "photo", "file_id": "F", "text": "<caption>"}] +
                               [{"kind": "forward", "text": long_text, "origin_type": "user", "origin": "<rec>"}] * 7),
        signs=json.dumps(["visa"]), contacts_found=json.dumps(["@x<"]), recruiter_contact="<a href='x'>",
        forward_origin_type="channel", forward_origin="<chan>", contact_ok=1, contact_chat_id=555000111,
        source="guided", about="self", updated_at="2026-11-30T10:00:00+00:00")
    notes = [{"created_at": "2026-11-23T10:00:00+00:00", "text": "<note>" + "n" * 400}] * 8
    renderer = Renderer()
    for reply in (report_reply(renderer, lang, report, notes), alert_reply(renderer, lang, report)):
        assert html_problems(reply.text) == [], reply.text[:200]
        assert "555000111" not in reply.text
        assert "&lt;b&gt;&amp;" in reply.text
        for row in reply.buttons:
            for button in row:
                assert len(button.data.encode()) <= 64
    full = report_reply(renderer, lang, report, []).text
    assert "&lt;caption&gt;" in full and "&lt;rec&gt;" in full and "/export" in full


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_every_admin_text_renders_as_telegram_html(lang):
    renderer = Renderer()
    counts = {"sent": 3, "blocked": 1, "failed": 0, "unknown": 2, "sending": 0, "remaining": 5}
    samples = {
        "admin/not_found": {"reference": "<R>"}, "admin/note_added": {"reference": "R-1"},
        "admin/export_usage": {"error": "since must be a date as YYYY-MM-DD, got '<x>'"},
        "admin/export_caption": {"count": 1234}, "admin/export_too_big": {"count": 10**6, "megabytes": 446},
        "admin/audit": {"rows": [{"created_at": "2026-11-23T10:00:00+00:00", "admin_id": 1, "action": "show", "target": "3"}]},
        "relay/to_reporter": {"reference": "R-1", "text": "<hi> & bye"},
        "relay/from_reporter": {"reference": "R-1", "text": "<hi> & bye"},
        "relay/ask_answer": {"reference": "R-1"}, "relay/answer_sent": {"reference": "R-1"},
        "relay/answer_failed": {"reference": "R-1"}, "relay/outcome_sent": {"reference": "R-1"},
        "relay/outcome_no_consent": {"reference": "R-1"}, "relay/outcome_unreachable": {"reference": "R-1"},
        "broadcast/message": {"text": "<b>stay safe</b> & well"},
        "broadcast/ask_en": {"counts": {"en": 1, "ar": 2}}, "broadcast/too_long": {"limit": 3500},
        "broadcast/preview": {"counts": {"en": 1, "ar": 2}, "same": True},
        "broadcast/started": {"id": 1}, "broadcast/dropped": {"id": 1},
        "broadcast/progress": {"id": 1, **counts}, "broadcast/done": {"id": 1, **counts},
    }
    for key, context in samples.items():
        text = renderer.html(lang, key, **context)
        assert html_problems(text) == [], (key, text)
    assert renderer.text(lang, "admin/toast_status_changed", status="x")
    assert len(renderer.text(lang, "admin/toast_status_conflict")) <= 200
