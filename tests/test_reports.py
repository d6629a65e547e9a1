"""Report storage and logic (`bot.reports`), on an in-memory database."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot import reports
from bot.db import open_database, utc_now
from bot.reports import (
    CHANNEL,
    CONTACT,
    COUNTRY,
    DESCRIPTION,
    EVIDENCE,
    OFFERS,
    QUICK,
    RECRUITER,
    REVIEW,
)

KEY = "a" * 32
OTHER = "b" * 32
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def db():
    database = open_database(":memory:")
    yield database
    database.conn.close()


def full_data(**changes):
    data = reports.empty_data("en")
    data = reports.set_channel(data, "whatsapp")
    data = reports.toggle_offer(reports.toggle_offer(data, "money"), "citizenship")
    data = reports.set_country(data, "JO")
    data = reports.set_recruiter(data, "@recruiter_x +962 7 0000 0000")
    data = reports.set_description(data, "They promised 3,000 dollars a month as a guard.")
    data = reports.add_attachment(data, reports.attachment("photo", file_id="PHOTO-1"))
    data = reports.add_attachment(data, reports.attachment(
        "forward", text="Join us", origin_type="channel", origin="Jobs Abroad · @jobs_abroad"))
    data = reports.set_about(data, "other")
    return dict(data, **changes)


def submit(db, key=KEY, data=None, *, chat_id=555000111, rate=5, now=NOW):
    draft = reports.start_draft(db, key, REVIEW, data if data is not None else full_data(), now=now)
    return draft, reports.submit_report(db, key, draft.draft_id, contact_chat_id=chat_id, rate_per_hour=rate, now=now)


def test_submit_stores_every_answer_with_json_lists(db):
    draft, done = submit(db)
    assert done.created is True
    row = db["reports"].get(done.report_id)
    assert {k: row[k] for k in ("reference", "draft_id", "reporter_key", "status", "language", "source", "about",
                                "channel", "country", "recruiter_contact", "forward_origin_type", "forward_origin",
                                "forwarded_text", "contact_ok", "contact_chat_id", "created_at")} == {
        "reference": done.reference, "draft_id": draft.draft_id, "reporter_key": KEY, "status": "new",
        "language": "en", "source": "guided", "about": "other", "channel": "whatsapp", "country": "JO",
        "recruiter_contact": "@recruiter_x +962 7 0000 0000", "forward_origin_type": "channel",
        "forward_origin": "Jobs Abroad · @jobs_abroad", "forwarded_text": "Join us", "contact_ok": 0,
        "contact_chat_id": None, "created_at": "2026-11-23T12:00:00+00:00"}
    assert json.loads(row["offers"]) == ["money", "citizenship"]
    assert json.loads(row["attachments"]) == [
        {"kind": "photo", "file_id": "PHOTO-1"},
        {"kind": "forward", "text": "Join us", "origin_type": "channel", "origin": "Jobs Abroad · @jobs_abroad"}]
    assert json.loads(row["signs"]) == [] and json.loads(row["contacts_found"]) == []
    assert reports.get_draft(db, KEY) is None


def test_chat_id_is_kept_only_with_consent(db):
    _, refused = submit(db, data=full_data(contact_ok=False))
    _, agreed = submit(db, OTHER, data=full_data(contact_ok=True))
    assert db["reports"].get(refused.report_id)["contact_chat_id"] is None
    assert (db["reports"].get(agreed.report_id)["contact_ok"], db["reports"].get(agreed.report_id)["contact_chat_id"]) \
        == (1, 555000111)
    assert agreed.contact_ok is True and refused.contact_ok is False


def test_a_second_submit_of_the_same_draft_returns_the_same_report(db):
    draft, first = submit(db)
    again = reports.submit_report(db, KEY, draft.draft_id, contact_chat_id=1, rate_per_hour=5, now=NOW)
    assert (again.report_id, again.reference, again.created) == (first.report_id, first.reference, False)
    assert db["reports"].count == 1


def test_another_user_cannot_claim_a_submitted_draft(db):
    draft, _ = submit(db)
    with pytest.raises(reports.DraftMissing):
        reports.submit_report(db, OTHER, draft.draft_id, contact_chat_id=None, rate_per_hour=5)


def test_submitting_a_replaced_draft_is_refused(db):
    old = reports.start_draft(db, KEY, REVIEW, full_data())
    reports.start_draft(db, KEY, REVIEW, full_data())
    with pytest.raises(reports.DraftMissing):
        reports.submit_report(db, KEY, old.draft_id, contact_chat_id=None, rate_per_hour=5)
    assert db["reports"].count == 0


def test_an_empty_report_is_refused(db):
    draft = reports.start_draft(db, KEY, REVIEW, reports.empty_data("ar"))
    with pytest.raises(reports.IncompleteReport):
        reports.submit_report(db, KEY, draft.draft_id, contact_chat_id=None, rate_per_hour=5)
    assert reports.get_draft(db, KEY) is not None


def test_reference_format_is_short_readable_and_random():
    refs = {reports.new_reference() for _ in range(5000)}
    assert len(refs) == 5000
    assert all(re.fullmatch(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}", r)
               for r in refs)
    assert not set("".join(r[2:] for r in refs)) & set("01OILU")


def test_references_are_unique_and_not_sequential(db):
    done = [submit(db, f"{i:032x}")[1] for i in range(50)]
    refs = [d.reference for d in done]
    assert len(set(refs)) == 50
    assert refs != sorted(refs)
    assert all(reports.is_reference(r) for r in refs)


def test_a_reference_collision_draws_again(db, monkeypatch):
    _, first = submit(db)
    drawn = iter([first.reference, "R-2345-6789"])
    monkeypatch.setattr(reports, "new_reference", lambda: next(drawn))
    _, second = submit(db, OTHER)
    assert second.reference == "R-2345-6789"


def test_references_typed_loosely_are_found(db):
    _, done = submit(db)
    loose = done.reference.lower().replace("-", " ")
    assert reports.normalize_reference(loose) == done.reference
    assert reports.find_report(db, loose)["id"] == done.report_id
    assert reports.find_report(db, "R-0000-0000") is None
    assert reports.find_report(db, "hello") is None
    report = reports.get_report(db, done.report_id)
    assert report["offers"] == ["money", "citizenship"] and report["attachments"][0]["file_id"] == "PHOTO-1"


def test_rate_limit_counts_the_last_hour(db):
    for i in range(5):
        submit(db, now=NOW - timedelta(minutes=50 - i))
    assert reports.rate_limit_wait(db, KEY, 5, NOW) == 10
    assert reports.rate_limit_wait(db, OTHER, 5, NOW) == 0
    with pytest.raises(reports.RateLimited) as caught:
        submit(db, now=NOW)
    assert (caught.value.limit, caught.value.wait_minutes) == (5, 10)
    assert reports.get_draft(db, KEY) is not None  # kept for later
    assert reports.rate_limit_wait(db, KEY, 5, NOW + timedelta(minutes=11)) == 0
    assert reports.rate_limit_wait(db, KEY, 6, NOW) == 0


def test_reports_for_lists_only_the_users_own_newest_first(db):
    _, old = submit(db, now=NOW - timedelta(days=2))
    _, new = submit(db, now=NOW)
    submit(db, OTHER)
    assert reports.reports_for(db, KEY) == [
        {"reference": new.reference, "created_at": "2026-11-23T12:00:00+00:00", "status": "new"},
        {"reference": old.reference, "created_at": "2026-11-21T12:00:00+00:00", "status": "new"}]
    assert reports.reports_for(db, "c" * 32) == []


def test_forget_user_erases_every_row_about_them(db):
    _, mine = submit(db, data=full_data(contact_ok=True))
    _, theirs = submit(db, OTHER)
    reports.start_draft(db, KEY, COUNTRY, full_data())
    now = utc_now()
    for key in (KEY, OTHER):
        db["users"].insert({"user_key": key, "language": "ar", "subscribe_offered": 1, "created_at": now,
                            "updated_at": now})
        db["subscribers"].insert({"user_key": key, "chat_id": 42, "language": "ar", "subscribed_at": now})
    db["broadcasts"].insert({"id": 1, "admin_id": 7, "status": "done", "created_at": now})
    db["broadcast_deliveries"].insert_all([{"broadcast_id": 1, "user_key": k, "outcome": "sent", "at": now}
                                           for k in (KEY, OTHER)])
    db["report_notes"].insert_all([{"report_id": r.report_id, "admin_id": 7, "text": "called", "created_at": now}
                                   for r in (mine, theirs)])
    db["relay_messages"].insert_all([{"chat_id": -100, "message_id": i, "report_id": r.report_id, "created_at": now}
                                     for i, r in enumerate((mine, theirs))])

    counts = reports.forget_user(db, KEY)

    assert counts == {"reports": 1, "drafts": 1, "users": 1, "subscribers": 1, "broadcast_deliveries": 1,
                      "report_notes": 1, "relay_messages": 1}
    for table in ("reports", "drafts", "users", "subscribers", "broadcast_deliveries"):
        column = "reporter_key" if table == "reports" else "user_key"
        assert db.execute(f"select count(*) from {table} where {column} = ?", [KEY]).fetchone()[0] == 0
    assert [r["report_id"] for r in db["report_notes"].rows] == [theirs.report_id]
    assert [r["report_id"] for r in db["relay_messages"].rows] == [theirs.report_id]
    assert db["reports"].count == 1 and db["users"].count == 1 and db["subscribers"].count == 1
    assert reports.forget_user(db, KEY) == {}


def test_forget_user_covers_every_table_holding_user_data(db):
    # A table added later that holds user data the same way is erased too.
    tables = {name: set(db[name].columns_dict) for name in db.table_names()}
    holding = {name for name, cols in tables.items() if cols & {"user_key", "reporter_key", "report_id"}}
    assert holding >= {"reports", "drafts", "users", "subscribers", "broadcast_deliveries", "report_notes",
                       "relay_messages"}
    db["later"].create({"user_key": str, "x": int})
    db["later"].insert({"user_key": KEY, "x": 1})
    assert reports.forget_user(db, KEY) == {"later": 1}


def test_drafts_are_saved_replaced_and_deleted(db):
    draft = reports.start_draft(db, KEY, CHANNEL, reports.empty_data("ar"), now=NOW)
    assert reports.get_draft(db, KEY) == draft
    saved = reports.save_draft(db, draft, OFFERS, reports.set_channel(draft.data, "tiktok"), now=NOW)
    assert reports.get_draft(db, KEY) == saved and saved.state == OFFERS and saved.data["channel"] == "tiktok"
    assert reports.draft_states(db) == {KEY: OFFERS}
    replaced = reports.start_draft(db, KEY, CHANNEL, reports.empty_data("en"))
    assert replaced.draft_id != draft.draft_id
    with pytest.raises(reports.DraftMissing):
        reports.save_draft(db, draft, COUNTRY, draft.data)
    assert reports.delete_draft(db, KEY) == 1 and reports.get_draft(db, KEY) is None


def test_drafts_expire_after_the_ttl_and_are_purged_after_the_grace(db):
    draft = reports.start_draft(db, KEY, CHANNEL, reports.empty_data("en"), now=NOW)
    assert not draft.is_expired(24, NOW + timedelta(hours=23))
    assert draft.is_expired(24, NOW + timedelta(hours=25))
    assert reports.purge_stale_drafts(db, 24, NOW + timedelta(days=3)) == 0
    assert reports.purge_stale_drafts(db, 24, NOW + timedelta(days=9)) == 1


def test_guided_order_skips_a_description_given_already():
    data = reports.empty_data("en")
    order, state = [], CHANNEL
    while state != REVIEW:
        order.append(state)
        state, data = reports.next_step(state, data)
    assert order == list(reports.GUIDED)
    data = reports.set_description(reports.empty_data("en"), "typed after /report")
    assert reports.next_step(RECRUITER, data) == (EVIDENCE, data)
    assert reports.next_step(QUICK, data)[0] == REVIEW
    assert reports.next_step(CONTACT, data)[0] == REVIEW


def test_edits_return_to_the_review():
    state, data = reports.edit_step("country", reports.empty_data("en"))
    assert (state, data["editing"]) == (COUNTRY, True)
    assert reports.next_step(state, data) == (REVIEW, dict(data, editing=False))
    state, data = reports.edit_step("details", dict(reports.empty_data("en"), source="quick"))
    assert (state, data["source"]) == (CHANNEL, "guided")
    with pytest.raises(reports.UnknownChoice):
        reports.edit_step("review", data)


def test_answers_are_validated():
    data = reports.empty_data("en")
    for bad in (lambda: reports.set_channel(data, "email"), lambda: reports.toggle_offer(data, "house"),
                lambda: reports.set_country(data, "RU"), lambda: reports.set_about(data, "them"),
                lambda: reports.set_description(data, "   ")):
        with pytest.raises(reports.UnknownChoice):
            bad()
    with pytest.raises(reports.TooLong) as caught:
        reports.set_description(data, "x" * 3001)
    assert (caught.value.limit, caught.value.length) == (3000, 3001)
    with pytest.raises(reports.TooLong):
        reports.set_recruiter(data, "y" * 201)
    assert reports.set_description(data, "x" * 3000)["description"] == "x" * 3000
    assert reports.toggle_offer(reports.toggle_offer(data, "land"), "land")["offers"] == []


def test_typed_countries_are_recognised_in_both_languages():
    assert reports.country_from_text("  the Jordan ") == "JO"
    assert reports.country_from_text("العراق") == "IQ"
    assert reports.country_from_text("Nepal") == "Nepal"


def test_attachments_are_capped():
    data = reports.empty_data("en")
    for i in range(reports.MAX_ATTACHMENTS):
        data = reports.add_attachment(data, reports.attachment("document", file_id=f"DOC-{i}"))
    with pytest.raises(reports.TooManyAttachments):
        reports.add_attachment(data, reports.attachment("photo", file_id="one-too-many"))


def test_the_first_forwarded_evidence_sets_the_reports_origin():
    data = reports.add_attachment(reports.empty_data("en"), reports.attachment("photo", file_id="P"))
    data = reports.add_attachment(data, reports.attachment("forward", text="hi", origin_type="hidden_user",
                                                           origin="Recruiter Name"))
    data = reports.add_attachment(data, reports.attachment("forward", text="two", origin_type="user", origin="@x"))
    assert (data["forward_origin_type"], data["forward_origin"], data["forwarded_text"]) == \
        ("hidden_user", "Recruiter Name", "hi")


def test_prefill_from_a_checked_offer():
    check = {"user_key": KEY, "text": "Earn $3000, Russian passport", "signs": ["money", "citizenship"],
             "contacts": ["@agent"], "forward_origin_type": "user", "forward_origin": "@agent · id 99",
             "language": "ar"}
    data = reports.prefill_from_check("ar", check)
    assert (data["source"], data["forwarded_text"], data["forward_origin_type"], data["forward_origin"],
            data["signs"], data["contacts_found"], data["language"]) == (
        "forward", "Earn $3000, Russian passport", "user", "@agent · id 99", ["money", "citizenship"], ["@agent"], "ar")
    pasted = reports.prefill_from_check("en", dict(check, forward_origin_type=None, forward_origin=None))
    assert (pasted["source"], pasted["forward_origin"]) == ("check", None)
    assert reports.can_skip(DESCRIPTION, data) and not reports.can_skip(DESCRIPTION, reports.empty_data("en"))
    assert reports.can_skip(EVIDENCE, data) and not reports.can_skip(CONTACT, data)


def test_describe_origin():
    assert reports.describe_origin("user", name="Abu Ali", username="abu_ali", ident=777) == "@abu_ali · Abu Ali · id 777"
    assert reports.describe_origin("channel", name="Jobs", username="jobs", message_id=5) == \
        "@jobs · Jobs · https://t.me/jobs/5"
    assert reports.describe_origin("hidden_user", name="Hidden") == "Hidden"


def test_a_checked_offer_joins_a_draft_as_its_forward_then_as_evidence():
    first = reports.prefill_from_check("en", {"text": "Offer one", "signs": ["a"], "contacts": ["@x"],
                                              "forward_origin_type": "user", "forward_origin": "@x · id 1"})
    second = reports.prefill_from_check("en", {"text": "Offer two", "signs": ["a", "b"], "contacts": [],
                                               "forward_origin_type": None, "forward_origin": None})
    data = reports.add_checked_offer(reports.empty_data("en"), first)
    data = reports.add_checked_offer(data, second)
    assert (data["source"], data["forwarded_text"], data["forward_origin_type"], data["signs"],
            data["contacts_found"], data["attachments"]) == (
        "guided", "Offer one", "user", ["a", "b"], ["@x"], [{"kind": "text", "text": "Offer two"}])
