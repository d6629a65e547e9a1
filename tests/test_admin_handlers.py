"""Admin handlers through the real Application and the fake Bot API: triage, export, stats, denial."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.db import utc_now
from bot.export import export_file
from fakeapi.users import FakeGroup, FakeUser

ADMIN = 5_100_001
ADMIN2 = 5_100_002


def insert_report(db, n: int, **fields) -> int:
    row = {
        "reference": f"R-{n:04d}", "reporter_key": f"pseudonym{n:04d}", "created_at": f"2026-11-{1 + n % 28:02d}T09:00:00+00:00",
        "language": "en", "status": "new", "description": f"Offer number {n}", "channel": "telegram",
        "offers": json.dumps(["money"]), "country": "Jordan", "contact_ok": 0,
    }
    row.update(fields)
    with db.atomic():
        return db["reports"].insert(row).last_pk


async def add_report(bot, n: int = 1, **fields) -> int:
    return await bot.services.store.run(insert_report, n, **fields)


async def rows(bot, sql: str, params=()):
    return await bot.services.store.run(lambda db: [dict(r) for r in db.query(sql, list(params))])


def unknown_text(bot, lang="en") -> str:
    return bot.services.renderer.html(lang, "common/unknown_command")


@pytest.fixture
def admin_group(fake_api):
    return FakeGroup(fake_api, "Admins")


@pytest.fixture
async def bot(start_bot, admin_group):
    return await start_bot(admin_ids={ADMIN, ADMIN2}, admin_chat_id=admin_group.id)


@pytest.fixture
def admin(fake_api):
    return FakeUser(fake_api, "Admin One", id=ADMIN, username="admin_one")


@pytest.fixture
def admin2(fake_api):
    return FakeUser(fake_api, "Admin Two", id=ADMIN2)


@pytest.fixture
def stranger(fake_api):
    return FakeUser(fake_api, "Stranger", username="stranger")


async def test_admin_commands_are_in_the_admins_menu(bot, fake_api):
    commands = [c["command"] for c in fake_api.commands_for({"type": "chat", "chat_id": ADMIN})]
    for name in ("reports", "show", "note", "reply", "export", "stats", "broadcast", "audit"):
        assert name in commands
    public = [c["command"] for c in fake_api.commands_for({"type": "default"})]
    assert "export" not in public


ADMIN_COMMANDS = ["/reports", "/reports all", "/show R-0001", "/note R-0001 hello", "/export", "/export json",
                  "/stats", "/reply R-0001 hi", "/broadcast", "/audit"]


async def test_a_non_admin_is_answered_as_for_an_unknown_command(bot, fake_api, stranger, admin_group):
    report_id = await add_report(bot, 1, contact_ok=1, contact_chat_id=stranger.id)
    before = await rows(bot, "select * from reports")
    mark = fake_api.mark()
    for command in ADMIN_COMMANDS:
        await stranger.command(command)
        reply = await stranger.wait_reply()
        assert reply.html == unknown_text(bot), command
        assert not reply.buttons
    await fake_api.wait_idle()
    assert fake_api.documents() == []
    assert fake_api.calls_to("sendDocument") == [] and fake_api.calls_to("sendPhoto") == []
    assert {m.chat_id for m in fake_api.outputs(after=mark)} == {stranger.id}
    assert await rows(bot, "select * from reports") == before
    assert await rows(bot, "select * from audit") == []
    assert await rows(bot, "select * from report_notes") == []
    assert await rows(bot, "select * from broadcasts") == []
    assert report_id


async def test_forged_admin_buttons_change_nothing(bot, fake_api, stranger, admin_group):
    report_id = await add_report(bot, 1)
    await bot.services.store.run(lambda db: db.execute(
        "insert into broadcasts (admin_id, admin_chat_id, text_en, text_ar, status, created_at) "
        "values (?, ?, 'x', 'x', 'draft', ?)", [ADMIN, ADMIN, utc_now()]) and db.conn.commit())
    await stranger.command("/start")
    await stranger.wait_reply()
    not_allowed = bot.services.renderer.text("en", "admin/toast_not_allowed")
    mark = fake_api.mark()
    for data in (f"adm:st:{report_id}:n:r:a", f"adm:st:{report_id}:n:c:s", f"adm:show:{report_id}", "adm:pg:0",
                 "adm:pg:1:all", "adm:bc:send:1", "adm:bc:drop:1", "adm:bc:same", "adm:bc:cancel", "adm:unknown"):
        query_id = await stranger.press_data(data)
        await fake_api.wait_for(lambda: fake_api.callback_queries[query_id].answered)
        assert fake_api.callback_queries[query_id].answer.get("text") == not_allowed, data
    await fake_api.wait_idle()
    assert fake_api.outputs(after=mark) == []
    assert (await rows(bot, "select status from reports"))[0]["status"] == "new"
    assert (await rows(bot, "select status from broadcasts"))[0]["status"] == "draft"
    assert await rows(bot, "select * from audit") == []


async def test_admin_commands_work_only_in_private_chats(bot, fake_api, admin, admin_group):
    group = FakeGroup(fake_api, "Somewhere else")
    await add_report(bot, 1)
    for chat in (group, admin_group):
        await admin.command("/export", chat=chat)
        await admin.command("/show R-0001", chat=chat)
        await admin.assert_no_reply(chat=chat)
    assert fake_api.documents() == []
    assert await rows(bot, "select * from audit") == []


async def test_export_sends_a_protected_file_identical_to_the_cli(bot, fake_api, admin):
    for n in range(1, 4):
        await add_report(bot, n, description=f"=HYPERLINK(\"x\") عرض {n}", contact_ok=1, contact_chat_id=4242 + n)
    tmp_before = set(Path(tempfile.gettempdir()).glob("export-*"))
    for fmt in ("csv", "json"):
        await admin.command(f"/export {fmt}")
        message = await admin.wait_reply()
        assert message.document is not None
        today = datetime.now(timezone.utc).date().isoformat()
        assert message.document.file_name == f"reports-{today}.{fmt}"
        call = fake_api.calls_to("sendDocument")[-1]
        assert call.params.get("protect_content") is True
        cli = Path(bot.settings.database_path).parent / f"cli.{fmt}"
        env = dict(os.environ, DATABASE_PATH=str(bot.settings.database_path), PSEUDONYM_SECRET="x",
                   PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "export", "--format", fmt, "--output", str(cli)],
                       env=env, check=True, capture_output=True, cwd=cli.parent)
        assert message.document.content == cli.read_bytes()
        export_file(bot.settings.database_path, cli, fmt)
        assert message.document.content == cli.read_bytes()
        assert b"4243" not in message.document.content
    # The temporary file is removed once sent.
    await fake_api.wait_for(lambda: set(Path(tempfile.gettempdir()).glob("export-*")) == tmp_before)
    audit = await rows(bot, "select admin_id, action from audit")
    assert audit == [{"admin_id": ADMIN, "action": "export"}] * 2


async def test_export_with_filters_and_a_bad_option(bot, fake_api, admin):
    await add_report(bot, 1, status="closed")
    await add_report(bot, 2)
    await admin.command("/export json status closed since 2026-01-01")
    message = await admin.wait_reply()
    assert [r["reference"] for r in json.loads(message.document.content)] == ["R-0001"]
    assert message.document.file_name.endswith("-closed-since-2026-01-01.json")
    await admin.command("/export since tomorrow")
    reply = await admin.wait_reply()
    assert reply.document is None and "since" in reply.text


async def test_show_sends_the_report_its_notes_and_attachments_protected(bot, fake_api, admin):
    attachments = [{"kind": "photo", "file_id": "PHOTO-1"}, {"kind": "document", "file_id": "DOC-1"}]
    photo = fake_api.register_file(b"\xff\xd8\xff", kind="photo", mime_type="image/jpeg")
    doc = fake_api.register_file(b"%PDF", kind="document", file_name="x.pdf", mime_type="application/pdf")
    attachments = [{"kind": "photo", "file_id": photo.file_id}, {"kind": "document", "file_id": doc.file_id}]
    await add_report(bot, 7, description="<b>not bold</b> & more", recruiter_contact="@recruiter",
                     attachments=json.dumps(attachments), reporter_key="abcdef0123456789abcdef", language="ar")
    await admin.command("/note R-0007 called the <embassy>")
    assert "R-0007" in (await admin.wait_reply()).text
    await admin.command("/show r-0007")
    shown = await admin.wait_replies(3)
    report = shown[0]
    assert "<b>not bold</b> &amp; more" not in report.text and "<b>not bold</b> & more" in report.text
    assert "called the <embassy>" in report.text
    assert "abcdef012345" in report.text
    assert report.params.get("protect_content") is True
    assert [m.method for m in shown[1:]] == ["sendPhoto", "sendDocument"]
    assert all(m.params.get("protect_content") is True for m in shown)
    assert any("Take for review" in label for label in report.button_texts)
    actions = [r["action"] for r in await rows(bot, "select action from audit order by id")]
    assert actions == ["note", "show"]


async def test_show_unknown_reference_and_usage(bot, admin):
    await admin.command("/show NOPE")
    assert "NOPE" in (await admin.wait_reply()).text
    await admin.command("/show")
    assert "/show" in (await admin.wait_reply()).text
    await admin.command("/note R-0001")
    assert "/note" in (await admin.wait_reply()).text


async def test_the_queue_pages_ten_at_a_time_new_first_closed_hidden(bot, fake_api, admin):
    for n in range(1, 26):
        await add_report(bot, n, status="in_review" if n <= 3 else "new")
    await add_report(bot, 30, status="closed")
    await admin.command("/reports")
    first = await admin.wait_reply()
    assert "25" in first.text
    refs = [b for b in first.button_texts if b.startswith("R-")]
    assert len(refs) == 10 and "R-0001" not in refs  # new before in review
    assert first.button_texts[-1] == "▶"
    await admin.click("▶")
    await admin.click("▶")
    third = fake_api.last_message(admin.id)
    refs = [b for b in third.button_texts if b.startswith("R-")]
    assert refs == ["R-0001", "R-0002", "R-0003"][-len(refs):] or len(refs) == 5
    assert "R-0030" not in third.button_texts
    assert third.button_texts[-1] == "◀"
    await admin.command("/reports all")
    everything = await admin.wait_reply()
    assert "26" in everything.text


async def test_a_new_report_alert_works_for_admins_in_the_admin_chat(bot, fake_api, admin, admin2, stranger, admin_group):
    from bot.alerts import send_new_report_alert

    report_id = await add_report(bot, 3, description="Join the army, $3000 a month")
    await send_new_report_alert(bot.app.bot, bot.services, report_id)
    alert = fake_api.last_message(admin_group.id)
    assert "R-0003" in alert.text and alert.params.get("protect_content") is True
    # A non-admin member of the admin chat presses a status button: nothing changes.
    query_id = await stranger.press(f"adm:st:{report_id}:n:r:a", chat=admin_group)
    await fake_api.wait_for(lambda: fake_api.callback_queries[query_id].answered)
    assert (await rows(bot, "select status from reports"))[0]["status"] == "new"
    # Two admins press the same button at once: one change, the other is told.
    q1 = await admin.press(f"adm:st:{report_id}:n:r:a", chat=admin_group)
    q2 = await admin2.press(f"adm:st:{report_id}:n:r:a", chat=admin_group)
    await fake_api.wait_for(lambda: fake_api.callback_queries[q1].answered and fake_api.callback_queries[q2].answered)
    answers = sorted(fake_api.callback_queries[q].answer.get("text", "") for q in (q1, q2))
    assert answers[0].startswith("Another admin already changed") and answers[1] == "Status: In review"
    assert (await rows(bot, "select status from reports"))[0]["status"] == "in_review"
    audit = await rows(bot, "select admin_id, action, target, detail from audit")
    assert len(audit) == 1 and audit[0]["action"] == "status" and audit[0]["detail"] == "new->in_review"
    await fake_api.wait_idle()
    alert = fake_api.find_message(admin_group.id, alert.message_id)
    assert any(b["callback_data"] == f"adm:st:{report_id}:r:e:a" for row in alert["reply_markup"]["inline_keyboard"]
               for b in row)
    # The whole report, from the alert's button, in the admin chat.
    await admin.click(f"adm:show:{report_id}", chat=admin_group)
    assert "Join the army" in fake_api.last_message(admin_group.id).text


async def test_stats_command(bot, admin):
    for n in range(1, 6):
        await add_report(bot, n, created_at=utc_now(), channel="whatsapp" if n % 2 else "telegram")
    await admin.command("/stats")
    stats = await admin.wait_reply()
    assert "WhatsApp: 3" in stats.text and "Telegram: 2" in stats.text and "▇" in stats.text


async def test_audit_command_lists_actions(bot, admin):
    await admin.command("/stats")
    await admin.wait_reply()
    await admin.command("/audit")
    listing = await admin.wait_reply()
    assert "stats" in listing.text and str(ADMIN) in listing.text


async def test_an_export_too_big_for_telegram_is_not_sent(bot, fake_api, admin, monkeypatch):
    from bot import admin as admin_module

    monkeypatch.setattr(admin_module, "MAX_UPLOAD", 100)
    for n in range(1, 4):
        await add_report(bot, n)
    await admin.command("/export")
    reply = await admin.wait_reply()
    assert reply.document is None and "50 MB" in reply.text
    assert fake_api.documents() == []
