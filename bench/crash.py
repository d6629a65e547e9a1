"""Benchmark: reports filed while `python -m bot run` is SIGKILLed at random moments and restarted.

    .venv/bin/python bench/crash.py [--kills 20] [--users 12] [--seed 1]

The real bot runs as a process against the local fake Bot API (`tests/fakeapi`, in this
process), which keeps its queue of updates across restarts, as Telegram does. Fake users file
reports through the /report conversation the whole time, half by the quick way (`report:quick`,
a description, Submit), half by the guided steps (channel, offers, country, recruiter,
description, evidence, about, contact, Submit). Each user acts on the newest message the bot
showed them, as a person would: press the button of the step shown, type the text it asks for;
with no reply within `--reply-timeout` seconds (the bot is down, or the kill ate the update) they
press the same Submit again if that is what they did, else send /report, which shows the step
their draft is at. A report is done when they see its reference (R-XXXX-XXXX).

Meanwhile the bot is killed with SIGKILL (no clean-up of any kind) `--kills` times, each after a
random uptime (uniform between `--min-up` and `--max-up` seconds from its first poll), and
restarted at once on the same database. After the last restart the users finish the report in
hand; the bot is stopped with SIGTERM and the database is read.

Reported (goal 0 and 0):
- confirmed reports lost: a reference a user was shown that is not in the database with that
  user's text;
- duplicated reports: one report (one user's text) stored more than once;
plus reports stored but never confirmed, errors the bot logged, the kills that landed between a
report's commit and its confirmation, and the updates Telegram handed out again after a kill.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from throughput import BotChild, CountingServer, child_environment

from fakeapi.harness import PSEUDONYM_SECRET
from fakeapi.server import SentMessage
from fakeapi.users import FakeUser

REFERENCE = re.compile(r"R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}")
TOKEN = re.compile(r"\[bench u(\d+) r(\d+)\]")


@dataclass
class Reporter:
    """A user filing reports one after another, acting on what the bot last showed them."""

    user: FakeUser
    number: int
    guided: bool
    confirmed: dict[str, str] = field(default_factory=dict)  # token -> reference shown
    seen: set[str] = field(default_factory=set)  # every reference shown so far
    retries: int = 0
    actions: int = 0
    cursor: int = 0  # the server mark when this user last looked at the chat

    def token(self, n: int) -> str:
        return f"[bench u{self.number} r{n}]"


def next_action(message: SentMessage, reporter: Reporter, description: str) -> tuple[str, str] | None:
    """What a person does on seeing `message`: ("press", data) or ("send", text); None: resync."""
    data = message.callback_data
    submit = next((d for d in data if d.startswith("report:submit:")), None)
    if submit:
        return "press", submit
    if "report:quick" in data and not reporter.guided:
        return "press", "report:quick"
    for prefix, choice in (("report:chan:", "report:chan:whatsapp"), ("report:country:", "report:country:JO"),
                           ("report:about:", "report:about:self"), ("report:contact:", "report:contact:no")):
        if any(d.startswith(prefix) for d in data):
            return "press", choice
    if any(d.startswith("report:offer:") for d in data):
        return "press", "report:next:offers"  # Done (or skip), whatever is ticked
    if "report:next:evidence" in data:
        return "press", "report:next:evidence"
    if "report:next:recruiter" in data:
        return "send", "@recruiter_bench +962 79 000 0000"
    if "report:next:description" in data or data == ["report:cancel"]:
        return "send", description
    return None


async def wait_outputs(server: CountingServer, chat_id: int, after: int, timeout: float) -> list[SentMessage]:
    """The bot's messages and edits in the chat since `after`: waits for one, then a little more."""
    deadline = time.monotonic() + timeout
    while not server.chat_outputs(chat_id, after) and time.monotonic() < deadline:
        await server._wait_changed(min(0.05, max(deadline - time.monotonic(), 0)))
    if server.chat_outputs(chat_id, after):
        await asyncio.sleep(0.1)  # a step may answer with two messages (a notice, then the step)
    return server.chat_outputs(chat_id, after)


async def file_report(server: CountingServer, reporter: Reporter, n: int, reply_timeout: float) -> None:
    """Takes one report from /report to its confirmation, whatever the bot's restarts do."""
    token = reporter.token(n)
    description = (f"{token} A man on WhatsApp offered me a job as a guard in Russia, 3,000 dollars a month, "
                   f"and asked for my passport.")
    action: tuple[str, str] = ("send", "/report")
    last_message: SentMessage | None = None
    while True:
        mark = server.mark()
        kind, value = action
        reporter.actions += 1
        if kind == "send":
            await reporter.user.send(value)
        else:
            assert last_message is not None
            await reporter.user.press_data(value, message=last_message)
        outputs = await wait_outputs(server, reporter.user.id, mark, reply_timeout)
        # Everything that arrived since the user last looked, late answers included.
        shown = server.chat_outputs(reporter.user.id, reporter.cursor)
        reporter.cursor = server.mark()
        new = {m.group() for message in shown if message.text for m in [REFERENCE.search(message.text)] if m}
        new -= reporter.seen
        if new:
            if len(new) > 1:
                raise AssertionError(f"user {reporter.number} was shown two new references at once: {new}")
            reference = new.pop()
            reporter.seen.add(reference)
            reporter.confirmed[token] = reference
            return
        if not outputs:
            reporter.retries += 1
            if not (kind == "press" and value.startswith("report:submit:")):
                action = ("send", "/report")  # shows the step the draft is at
            continue  # else: press the same Submit again
        last_message = outputs[-1]
        step = next_action(last_message, reporter, description)
        action = step if step is not None else ("send", "/report")


async def reporter_loop(server: CountingServer, reporter: Reporter, stop: asyncio.Event, reply_timeout: float) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        await file_report(server, reporter, n, reply_timeout)


async def wait_for_poll(server: CountingServer, child: BotChild, after: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(c.method == "getUpdates" and c.seq > after for c in server.calls):
        if child.proc.poll() is not None:
            raise RuntimeError(f"the bot exited with {child.proc.returncode}:\n{child.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not poll within {timeout:.0f}s:\n{child.output()[-3000:]}")
        await asyncio.sleep(0.02)


def references_sent(server: CountingServer) -> set[str]:
    """Every report reference the bot has shown anyone so far."""
    return {m.group() for messages in server.by_chat.values() for message in messages if message.text
            for m in [REFERENCE.search(message.text)] if m}


def stored_count(directory: Path) -> int:
    """Reports in the database now (read-only; the bot is dead when this is called)."""
    try:
        db = sqlite3.connect(f"file:{directory / 'bot.db'}?mode=ro", uri=True)
        try:
            return db.execute("select count(*) from reports").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


async def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        directory = Path(tmp)
        server = CountingServer()
        await server.start()
        env = child_environment(server, directory)
        env["REPORT_RATE_PER_HOUR"] = "100000"  # the users file far more than a person would
        reporters = [Reporter(FakeUser(server, f"Reporter {i}", language_code="ar" if i % 3 == 0 else "en"), i,
                              guided=i % 2 == 1) for i in range(args.users)]
        children: list[BotChild] = []

        def start() -> BotChild:
            children.append(BotChild([sys.executable, "-m", "bot", "run"], env, directory, name=f"bot-{len(children)}"))
            return children[-1]

        mark = server.mark()
        child = start()
        await wait_for_poll(server, child, mark)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(reporter_loop(server, r, stop, args.reply_timeout)) for r in reporters]
        kills: list[dict] = []
        started = time.perf_counter()
        try:
            for _ in range(args.kills):
                await asyncio.sleep(rng.uniform(args.min_up, args.max_up))
                child.kill()
                confirmed = len(references_sent(server))
                kills.append({"at": round(time.perf_counter() - started, 2), "confirmed_so_far": confirmed,
                              # committed, but the user has not seen the reference (yet)
                              "stored_unconfirmed": stored_count(directory) - confirmed,
                              "redeliverable": sum(1 for u in server.pending_updates
                                                   if u["update_id"] in server.delivered_update_ids),
                              "not_yet_fetched": sum(1 for u in server.pending_updates
                                                     if u["update_id"] not in server.delivered_update_ids)})
                mark = server.mark()
                child = start()
                await wait_for_poll(server, child, mark)
            stop.set()
            done, pending = await asyncio.wait(tasks, timeout=args.finish_timeout)
            for task in done:
                task.result()  # an agent's own assertion fails the run
            unfinished = len(pending)
            for task in pending:
                task.cancel()
            await asyncio.sleep(0.5)
            stopped_cleanly = await child.stop() == 0
        finally:
            for task in tasks:
                task.cancel()
            for c in children:
                if c.proc.poll() is None:
                    c.kill()
            await server.stop()
        elapsed = time.perf_counter() - started
        db = sqlite3.connect(f"file:{directory / 'bot.db'}?mode=ro", uri=True)
        rows = db.execute("select reference, reporter_key, description, draft_id from reports").fetchall()
        drafts_left = db.execute("select count(*) from drafts").fetchone()[0]
        db.close()
        logs = "\n".join(c.output() for c in children)

    from bot.pseudonym import Pseudonymizer
    from bot.settings import Secret

    keys = Pseudonymizer(Secret(PSEUDONYM_SECRET))
    owner = {keys.key(r.user.id): r for r in reporters}
    by_reference = {ref: (key, description) for ref, key, description, _ in rows}
    stored_tokens: dict[tuple[int, str], list[str]] = {}
    for ref, key, description, _ in rows:
        found = TOKEN.search(description or "")
        reporter = owner.get(key)
        if found and reporter is not None:
            stored_tokens.setdefault((reporter.number, found.group()), []).append(ref)
    confirmed = [(r, token, ref) for r in reporters for token, ref in r.confirmed.items()]
    lost = [(r.number, token, ref) for r, token, ref in confirmed
            if ref not in by_reference or by_reference[ref][0] != keys.key(r.user.id)
            or token not in (by_reference[ref][1] or "")]
    duplicated = {k: refs for k, refs in stored_tokens.items() if len(refs) > 1}
    confirmed_refs = {ref for _, _, ref in confirmed}
    unconfirmed = [ref for ref, *_ in rows if ref not in confirmed_refs]
    return {
        "kills": len(kills),
        "users": args.users,
        "seconds": elapsed,
        "confirmed": len(confirmed),
        "confirmed_guided": sum(len(r.confirmed) for r in reporters if r.guided),
        "stored": len(rows),
        "lost": len(lost),
        "lost_detail": lost[:5],
        "duplicated": sum(len(refs) - 1 for refs in duplicated.values()),
        "duplicated_detail": {f"u{k[0]} {k[1]}": refs for k, refs in list(duplicated.items())[:5]},
        "stored_unconfirmed": len(unconfirmed),
        "drafts_left": drafts_left,
        "unfinished_users": unfinished,
        "retries": sum(r.retries for r in reporters),
        "actions": sum(r.actions for r in reporters),
        "errors_logged": sum(1 for line in logs.splitlines() if " ERROR " in line),
        "tracebacks": logs.count("Traceback"),
        "stopped_cleanly": stopped_cleanly,
        "kills_between_commit_and_confirmation": sum(1 for k in kills if k["stored_unconfirmed"] > 0),
        "redelivered_updates": sum(k["redeliverable"] for k in kills),
        "kill_log": kills,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs, each followed by a restart (default 20)")
    parser.add_argument("--users", type=int, default=12, help="users filing reports all along (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments (default 1)")
    parser.add_argument("--min-up", type=float, default=0.3, help="shortest uptime before a kill, s (default 0.3)")
    parser.add_argument("--max-up", type=float, default=4.0, help="longest uptime before a kill, s (default 4)")
    parser.add_argument("--reply-timeout", type=float, default=3.0,
                        help="seconds a user waits for a reply before acting again (default 3)")
    parser.add_argument("--finish-timeout", type=float, default=120.0,
                        help="seconds the users get to finish after the last restart (default 120)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = asyncio.run(run(args))
    command = (f".venv/bin/python bench/crash.py --kills {args.kills} --users {args.users} --seed {args.seed} "
               f"--min-up {args.min_up:g} --max-up {args.max_up:g}")
    print(f"{r['kills']} SIGKILLs + restarts in {r['seconds']:.0f} s while {r['users']} users filed reports "
          f"(half quick, half guided); {r['actions']:,} user actions, {r['retries']:,} repeated after no reply")
    print(f"confirmed reports: {r['confirmed']:,} ({r['confirmed_guided']:,} guided); stored: {r['stored']:,}")
    print(f"confirmed reports lost: {r['lost']}; duplicated: {r['duplicated']} (goal 0/0)")
    print(f"stored but never confirmed: {r['stored_unconfirmed']}; drafts left: {r['drafts_left']}; "
          f"users unfinished: {r['unfinished_users']}; errors logged: {r['errors_logged']} "
          f"({r['tracebacks']} tracebacks); last process stopped cleanly: {r['stopped_cleanly']}")
    print(f"kills with a report committed but not yet confirmed: {r['kills_between_commit_and_confirmation']}; "
          f"updates fetched but unconfirmed at a kill (handed out again): {r['redelivered_updates']}")
    for detail in r["lost_detail"]:
        print(f"  lost: {detail}")
    for key, refs in r["duplicated_detail"].items():
        print(f"  duplicated: {key} -> {refs}")
    print(f"command: {command}")
    if args.json:
        r["command"] = command
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
