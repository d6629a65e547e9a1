"""Report statistics, for `/stats` and `python -m bot stats`.

`compute_stats(db)` is a plain function returning a dict; `format_stats_text(stats)` renders it
as plain text for a terminal, and the admin feature renders the same dict as a Telegram message.
Counts come from SQL aggregates (offers through `json_each`); the weekly trend covers the last
8 ISO weeks, zeros included, with a bar of ▇ scaled to the busiest week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import jinja2
import sqlite_utils

from bot.i18n import Renderer, default_renderer

WEEKS = 8
BAR = "▇"
BAR_WIDTH = 12
STATUS_ORDER = ("new", "in_review", "escalated", "closed")
UNKNOWN = "-"


# The report flow's button labels name the ids it stores; admins read those names.
_LABELS = {
    "channel": ("buttons/report/channel", "id"),
    "offer": ("buttons/report/offer", "id"),
    "country": ("buttons/report/country", "code"),
    "about": ("buttons/report/about", "value"),
}


def label(renderer: Renderer, lang: str, kind: str, value: Any) -> Any:
    """The name a stored id (channel, offer, country, about) has in `lang`, else the id itself."""
    if value in (None, "", UNKNOWN) or kind not in _LABELS:
        return value
    key, argument = _LABELS[kind]
    try:
        return renderer.text(lang, key, **{argument: value, "selected": False}) or value
    except (jinja2.TemplateError, LookupError, TypeError):
        return value


def iso_week(day: date) -> str:
    """Returns the ISO week label of a day, e.g. 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _counts(db: sqlite_utils.Database, sql: str) -> list[tuple[str, int]]:
    return [(row[0] if row[0] not in (None, "") else UNKNOWN, row[1]) for row in db.execute(sql).fetchall()]


def bar(count: int, most: int, width: int = BAR_WIDTH) -> str:
    """A bar of ▇ proportional to `count` (at least one block for any non-zero count)."""
    if count <= 0 or most <= 0:
        return ""
    return BAR * max(1, round(width * count / most))


def compute_stats(db: sqlite_utils.Database, today: date | None = None) -> dict[str, Any]:
    """Counts reports by status, channel, offer, country and week (the last 8 ISO weeks)."""
    today = today or datetime.now(timezone.utc).date()
    total = db.execute("select count(*) from reports").fetchone()[0]
    by_status = dict(_counts(db, "select status, count(*) from reports group by status"))
    statuses = [(s, by_status.pop(s, 0)) for s in STATUS_ORDER] + sorted(by_status.items())
    channels = _counts(db, "select channel, count(*) as n from reports group by channel order by n desc, channel")
    offers = _counts(
        db,
        "select o.value, count(*) as n from reports, json_each(case when json_valid(reports.offers) "
        "then reports.offers else '[]' end) as o group by o.value order by n desc, o.value",
    )
    countries = _counts(db, "select country, count(*) as n from reports group by country order by n desc, country")
    # Monday of the week 7 weeks before this one: the trend's first day.
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS - 1)
    per_day = db.execute(
        "select substr(created_at, 1, 10) as day, count(*) from reports where created_at >= ? group by day",
        [first.isoformat()],
    ).fetchall()
    weeks = {iso_week(first + timedelta(weeks=i)): 0 for i in range(WEEKS)}
    for day, count in per_day:
        try:
            label = iso_week(date.fromisoformat(day))
        except ValueError:
            continue
        if label in weeks:
            weeks[label] += count
    most = max(weeks.values(), default=0)
    return {
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "total": total,
        "by_status": statuses,
        "by_channel": channels,
        "by_offer": offers,
        "by_country": countries,
        "weeks": [{"week": label, "count": count, "bar": bar(count, most)} for label, count in weeks.items()],
    }


def format_stats_text(stats: dict[str, Any], lang: str = "en", renderer: Renderer | None = None) -> str:
    """Renders the statistics as plain text for a terminal."""
    renderer = renderer or default_renderer()
    names = {s: renderer.text(lang, f"buttons/admin/status_{s}") for s in STATUS_ORDER}
    return renderer.text(lang, "admin/stats_text", stats=stats, status_names=names,
                         name_of=lambda kind, value: label(renderer, lang, kind, value))
