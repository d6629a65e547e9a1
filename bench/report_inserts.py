"""Benchmark: reports stored per second through `bot.reports`, on a file database as the bot opens it.

Each report is what the bot does for a real one: a draft written (`start_draft`), then
`submit_report` (duplicate check, rate limit, insert with a fresh reference, draft deleted) in
one transaction. The database is a temporary file opened by `bot.db.open_database`: WAL,
synchronous=FULL, secure_delete, so every commit waits for the disk.

    .venv/bin/python bench/report_inserts.py [--reports N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import reports  # noqa: E402
from bot.db import open_database  # noqa: E402


def report_data(i: int) -> dict:
    data = reports.empty_data("ar" if i % 2 else "en")
    data = reports.set_channel(data, reports.CHANNELS[i % len(reports.CHANNELS)])
    data = reports.toggle_offer(data, reports.OFFERS_IDS[i % len(reports.OFFERS_IDS)])
    data = reports.set_country(data, reports.COUNTRY_BUTTONS[i % len(reports.COUNTRY_BUTTONS)])
    data = reports.set_recruiter(data, f"@recruiter_{i}")
    data = reports.set_description(data, "They offered a job as a guard in Russia, 3,000 dollars a month. " * 5)
    data = reports.add_attachment(data, reports.attachment("photo", file_id=f"AgACAgIAAxkBAAI{i:012d}"))
    return data


def run(count: int, directory: str | None) -> float:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        db = open_database(Path(tmp) / "bench.db")
        mode = db.execute("pragma journal_mode").fetchone()[0], db.execute("pragma synchronous").fetchone()[0]
        assert mode == ("wal", 2), f"expected WAL and synchronous=FULL, got {mode}"
        payloads = [(f"{i:032x}", report_data(i)) for i in range(count)]
        start = time.perf_counter()
        for user_key, data in payloads:
            draft = reports.start_draft(db, user_key, reports.REVIEW, data)
            reports.submit_report(db, user_key, draft.draft_id, contact_chat_id=None, rate_per_hour=5)
        elapsed = time.perf_counter() - start
        stored = db["reports"].count
        db.conn.close()
    assert stored == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--dir", help="where to put the temporary database (default: the system's temp dir)")
    args = parser.parse_args()
    rate = run(args.reports, args.dir)
    print(f"{rate:,.0f} reports/s ({args.reports:,} reports, each a draft write + a submit transaction; "
          f"file DB, WAL, synchronous=FULL)")
    print(f"command: .venv/bin/python bench/report_inserts.py --reports {args.reports}"
          + (f" --dir {args.dir}" if args.dir else ""))


if __name__ == "__main__":
    main()
