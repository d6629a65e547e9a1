"""Statistics: counts by status, channel, offer, country and the last 8 ISO weeks."""

import json
from datetime import date

from bot.db import open_database
from bot.i18n import Renderer
from bot.stats import bar, compute_stats, format_stats_text, iso_week
from bot.telegram_html import html_problems


def make_db(rows):
    db = open_database(":memory:")
    for n, row in enumerate(rows):
        base = {"reference": f"R{n}", "reporter_key": "k", "language": "en", "created_at": "2026-11-23T10:00:00+00:00"}
        base.update(row)
        db["reports"].insert(base)
    return db


def test_counts_by_status_channel_offer_and_country():
    db = make_db([
        {"status": "new", "channel": "telegram", "offers": json.dumps(["money", "citizenship"]), "country": "Jordan"},
        {"status": "new", "channel": "telegram", "offers": json.dumps(["money"]), "country": "Iraq"},
        {"status": "closed", "channel": "whatsapp", "offers": "not json", "country": None},
    ])
    stats = compute_stats(db, today=date(2026, 11, 25))
    assert stats["total"] == 3
    assert stats["by_status"] == [("new", 2), ("in_review", 0), ("escalated", 0), ("closed", 1)]
    assert stats["by_channel"] == [("telegram", 2), ("whatsapp", 1)]
    assert stats["by_offer"] == [("money", 2), ("citizenship", 1)]
    assert stats["by_country"] == [("-", 1), ("Iraq", 1), ("Jordan", 1)]


def test_weekly_trend_covers_the_last_eight_iso_weeks_with_zeros():
    db = make_db([
        {"created_at": "2026-11-23T00:00:00+00:00"},  # Monday of W48
        {"created_at": "2026-11-29T23:59:59+00:00"},  # Sunday of W48
        {"created_at": "2026-10-05T12:00:00+00:00"},  # W41: first week of the trend
        {"created_at": "2026-09-28T12:00:00+00:00"},  # W40: before it
        {"created_at": "2027-01-01T12:00:00+00:00"},  # after today: not a week of the trend
    ])
    weeks = compute_stats(db, today=date(2026, 11, 25))["weeks"]
    assert [w["week"] for w in weeks] == [f"2026-W{n}" for n in range(41, 49)]
    assert [w["count"] for w in weeks] == [1, 0, 0, 0, 0, 0, 0, 2]
    assert weeks[-1]["bar"] == "▇" * 12 and weeks[0]["bar"] == "▇" * 6 and weeks[1]["bar"] == ""


def test_iso_weeks_across_a_year_end():
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"
    weeks = compute_stats(make_db([]), today=date(2027, 1, 6))["weeks"]
    assert weeks[0]["week"] == "2026-W47" and weeks[-1]["week"] == "2027-W01"


def test_bar_is_proportional_and_never_empty_for_a_count():
    assert bar(0, 10) == ""
    assert bar(1, 1000) == "▇"
    assert bar(5, 10, width=10) == "▇" * 5


def test_empty_database():
    stats = compute_stats(make_db([]))
    assert stats["total"] == 0 and stats["by_channel"] == [] and len(stats["weeks"]) == 8


def test_stats_render_as_terminal_text_and_telegram_html_in_both_languages():
    db = make_db([{"status": "new", "channel": "<script>", "offers": json.dumps(["money"]), "country": "الأردن",
                   "created_at": "2026-11-23T10:00:00+00:00"}])
    stats = compute_stats(db, today=date(2026, 11, 25))
    text = format_stats_text(stats)
    assert "Reports: 1" in text and "In review" in text and "<script>" in text and "2026-W48" in text and "▇" in text
    assert "قيد المراجعة" in format_stats_text(stats, "ar")
    renderer = Renderer()
    for lang in ("en", "ar"):
        html = renderer.html(lang, "admin/stats", stats=stats, status_names={}, name_of=lambda k, v: v)
        assert html_problems(html) == []
        assert "&lt;script&gt;" in html


def test_ids_are_shown_by_their_names_and_unknown_ones_as_they_are():
    from bot.stats import label

    renderer = Renderer()
    assert label(renderer, "en", "channel", "facebook_instagram") == "Facebook / Instagram"
    assert label(renderer, "en", "offer", "money") == "Salary or money"
    assert label(renderer, "en", "country", "JO") == "Jordan"
    assert label(renderer, "en", "channel", "carrier_pigeon") == "carrier_pigeon"
    assert label(renderer, "en", "country", "-") == "-"
    assert label(renderer, "en", "channel", None) is None
