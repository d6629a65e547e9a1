"""Benchmark: export 1,000,000 reports to CSV and JSON; print time and peak memory.

    .venv/bin/python bench/export_million.py [--reports N] [--keep]

Builds a temporary database of N reports (default 1,000,000) with realistic, mixed Arabic and
English text, then exports it to CSV and to JSON with `python -m bot export`, each in a fresh
subprocess, and reports the wall time, rows a second and the peak resident memory of the export
process (`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, read in a wrapper that runs only that
one export). The goal is under 100 MB whatever N is: the export streams from a cursor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MB = 100
CHANNELS = ["telegram", "whatsapp", "facebook", "tiktok", "instagram", "travel_agency", "in_person", "other"]
OFFERS = ["money", "citizenship", "land", "job", "education", "visa", "debt_relief"]
COUNTRIES = ["Jordan", "Iraq", "Syria", "Egypt", "Yemen", "Lebanon", "Nigeria", "Kenya", None]
DESCRIPTIONS = [
    "عرض عمل في روسيا كحارس أمن براتب 3000 دولار شهريًا مع إقامة وجنسية بعد سنة. قالوا لا حاجة لخبرة.",
    "A man on Telegram offered me a construction job near Moscow, $2,500 a month, free flight and visa.",
    "=HYPERLINK(\"http://example.invalid\",\"click\") they sent this link and asked for my passport scan",
    "وكالة سفر في عمّان عرضت تأشيرة سياحية ثم عقدًا مع الجيش، وطلبوا عدم إخبار الأهل.",
    "+7 999 123 45 67 called me about a 'security contract', signing bonus 1,000,000 rubles",
]


def build(path: Path, n: int) -> None:
    """Creates the schema with the bot's migrations, then inserts `n` reports in one transaction."""
    from bot.db import open_database

    db = open_database(path)
    db.conn.execute("PRAGMA synchronous=OFF")
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(1)

    def rows():
        for i in range(n):
            created = (start + timedelta(seconds=i * 30)).replace(microsecond=0).isoformat()
            yield (
                f"R-{i:07d}", f"draft-{i}", f"{rng.getrandbits(128):032x}", created, created,
                rng.choice(["new", "in_review", "escalated", "closed"]), rng.choice(["en", "ar"]),
                rng.choice(["guided", "quick", "forward", "check"]), rng.choice(["self", "other"]),
                rng.choice(CHANNELS), json.dumps(rng.sample(OFFERS, rng.randint(0, 3))), rng.choice(COUNTRIES),
                f"@recruiter{rng.randint(1, 5000)}", rng.choice(DESCRIPTIONS) * rng.randint(1, 3),
                rng.choice([None, "channel", "hidden_user"]), rng.choice([None, "Work Abroad 24"]),
                rng.choice([None, "Earn $3000 a month! Citizenship in 1 year. Contact @hr_manager"]),
                json.dumps([{"kind": "photo", "file_id": f"AgACAgIAAxkBAAI{i:012d}"}] if i % 5 == 0 else []),
                json.dumps(["visa"] if i % 3 == 0 else []), json.dumps(["@hr_manager"] if i % 4 == 0 else []),
                i % 2, 100_000_000 + i if i % 2 else None,
            )

    with db.atomic():
        db.conn.executemany(
            "insert into reports (reference, draft_id, reporter_key, created_at, updated_at, status, language, "
            "source, about, channel, offers, country, recruiter_contact, description, forward_origin_type, "
            "forward_origin, forwarded_text, attachments, signs, contacts_found, contact_ok, contact_chat_id) "
            "values (" + ", ".join(["?"] * 22) + ")",
            rows(),
        )
    db.conn.close()


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Runs `command` in a wrapper process; returns (seconds, peak MB of the command)."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(json.loads(sys.argv[1])).returncode\n"
        "elapsed = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([code, elapsed, peak]))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, json.dumps(command)], env=env, capture_output=True,
                         text=True, check=True)
    code, elapsed, peak_kb = json.loads(out.stdout.strip().splitlines()[-1])
    if code != 0:
        raise SystemExit(f"export failed with exit code {code}")
    return elapsed, peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        db_path = tmp / "bot.db"
        t = time.perf_counter()
        build(db_path, args.reports)
        print(f"built {args.reports:,} reports in {time.perf_counter() - t:.1f} s "
              f"({db_path.stat().st_size / 2**20:.0f} MB database)")
        env = {k: v for k, v in os.environ.items()}
        env.update({"DATABASE_PATH": str(db_path), "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "",
                    "PSEUDONYM_SECRET": "bench-secret"})
        worst = 0.0
        for fmt in ("csv", "json"):
            out = tmp / f"reports.{fmt}"
            command = [sys.executable, "-m", "bot", "export", "--format", fmt, "--output", str(out)]
            print("$ DATABASE_PATH=" + str(db_path) + " " + " ".join(["python"] + command[1:]))
            elapsed, peak = measure(command, env)
            worst = max(worst, peak)
            size = out.stat().st_size / 2**20
            print(f"  {fmt}: {elapsed:.1f} s, {args.reports / elapsed:,.0f} reports/s, {size:.0f} MB written, "
                  f"peak memory {peak:.1f} MB")
        print(f"peak memory {worst:.1f} MB: {'within' if worst < GOAL_MB else 'OVER'} the {GOAL_MB} MB goal")
        return 0 if worst < GOAL_MB else 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
