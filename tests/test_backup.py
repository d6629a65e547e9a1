"""`python -m bot backup FILE` and `bot.backup.backup`: a consistent, checked copy while the bot
writes; one clear line and exit code 2 when it can't be made."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.backup import BackupError, backup
from bot.db import open_database
from fakeapi.harness import CONTRACT_VARIABLES, PROJECT_ROOT

# Writes like the bot does (its schema, WAL, one writer), each transaction a report and its
# audit row together, so any consistent copy has as many of one as of the other.
WRITER = r"""
import sys, time
from bot.db import open_database
db = open_database(sys.argv[1])
stop = time.monotonic() + float(sys.argv[2])
n = db["reports"].count
print("ready", flush=True)
while time.monotonic() < stop:
    n += 1
    with db.atomic():
        db["reports"].insert({"reference": f"R-{n:09d}", "reporter_key": "k" * 32, "created_at": "2026-01-01",
                              "status": "new", "language": "en", "description": "x" * 500})
        db["audit"].insert({"admin_id": 1, "action": "w", "target": str(n), "created_at": "2026-01-01"})
        if n % 7 == 0:
            db.execute("delete from reports where reference = ?", [f"R-{n - 3:09d}"])
            db.execute("delete from audit where target = ?", [str(n - 3)])
print(n, flush=True)
"""


def seeded(path: Path, rows: int = 200) -> Path:
    db = open_database(path)
    with db.atomic():
        for n in range(rows):
            db["reports"].insert({"reference": f"S-{n:09d}", "reporter_key": "k" * 32, "created_at": "2026-01-01",
                                  "status": "new", "language": "en", "description": "seed " * 100})
            db["audit"].insert({"admin_id": 1, "action": "w", "target": f"s{n}", "created_at": "2026-01-01"})
    db.conn.close()
    return path


def consistent(copy: Path) -> int:
    """Checks the copy opens on its own and is one snapshot; returns its number of reports."""
    assert not Path(f"{copy}-wal").exists()
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        reports = conn.execute("select count(*) from reports").fetchone()[0]
        audit = conn.execute("select count(*) from audit").fetchone()[0]
    finally:
        conn.close()
    assert reports == audit, "the copy mixes two moments of the database"
    return reports


def run_cli(tmp_path: Path, *args: str, database: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
    env.update({name: "" for name in CONTRACT_VARIABLES})
    env["DATABASE_PATH"] = str(database or tmp_path / "bot.db")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run([sys.executable, "-m", "bot", "backup", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_backup_while_another_process_writes_is_consistent_and_checked(tmp_path: Path):
    database = seeded(tmp_path / "bot.db")
    with subprocess.Popen([sys.executable, "-c", WRITER, str(database), "4"], cwd=PROJECT_ROOT,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)), stdout=subprocess.PIPE,
                          text=True) as writer:
        assert writer.stdout.readline().strip() == "ready"
        counts = []
        for i in range(4):
            done = run_cli(tmp_path, f"copy-{i}.db")
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith(f"backup written to copy-{i}.db") and "integrity ok" in done.stdout
            counts.append(consistent(tmp_path / f"copy-{i}.db"))
            time.sleep(0.3)
        written = int(writer.stdout.read().split()[-1])
    assert writer.returncode == 0
    assert counts == sorted(counts) and counts[-1] > counts[0] >= 200  # taken while rows kept coming
    assert counts[-1] < written  # and not after the writer had finished
    assert oct((tmp_path / "copy-0.db").stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob("*.partial"))


def test_a_backup_while_a_thread_writes_is_consistent(tmp_path: Path):
    database = seeded(tmp_path / "bot.db", rows=50)
    stop = threading.Event()

    def write() -> None:
        db = open_database(database)
        n = 0
        while not stop.is_set():
            n += 1
            with db.atomic():
                db["reports"].insert({"reference": f"T-{n:09d}", "reporter_key": "k", "created_at": "2026",
                                      "status": "new", "language": "ar", "description": "ب" * 300})
                db["audit"].insert({"admin_id": 2, "action": "w", "target": str(n), "created_at": "2026"})
        db.conn.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        time.sleep(0.1)
        counts = []
        for i in range(5):
            assert backup(database, tmp_path / "copy.db") > 0
            counts.append(consistent(tmp_path / "copy.db"))  # overwritten each time, atomically
    finally:
        stop.set()
        thread.join()
    assert counts == sorted(counts) and counts[-1] > 50


def test_a_backup_can_replace_an_older_one(tmp_path: Path):
    database = seeded(tmp_path / "bot.db", rows=3)
    target = tmp_path / "nightly.db"
    target.write_bytes(b"yesterday")
    backup(database, target)
    assert consistent(target) == 3


@pytest.mark.parametrize("target, says", [
    ("missing-folder/copy.db", "does not exist"),
    (".", "is a folder"),
    ("bot.db", "must not be the database itself"),
    ("a-file.txt/copy.db", "does not exist"),
])
def test_a_bad_target_is_one_line_and_exit_code_2(tmp_path: Path, target: str, says: str):
    seeded(tmp_path / "bot.db", rows=1)
    (tmp_path / "a-file.txt").write_text("not a folder")
    done = run_cli(tmp_path, target)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("*.partial"))


def test_no_database_or_not_a_database_is_one_line_and_exit_code_2(tmp_path: Path):
    done = run_cli(tmp_path, "copy.db")
    assert (done.returncode, done.stderr.count("\n")) == (2, 1) and "no database at" in done.stderr
    (tmp_path / "bot.db").write_bytes(b"this is not SQLite" * 100)
    done = run_cli(tmp_path, "copy.db")
    assert (done.returncode, done.stderr.count("\n")) == (2, 1) and "backup failed" in done.stderr
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "copy.db.partial").exists()


def test_an_unwritable_target_is_a_backup_error(tmp_path: Path):
    database = seeded(tmp_path / "bot.db", rows=1)
    with pytest.raises(BackupError, match="cannot write|backup failed"):
        backup(database, Path("/proc/bot-backup.db"))
