"""Benchmark: 1,000 users write at once while Telegram allows 30 messages a second.

    .venv/bin/python bench/burst.py [--users 1000] [--cap 30]

The real bot runs as `python -m bot run` (its own rate limiter on, as deployed) against the local
fake Bot API (`tests/fakeapi`, in this process) with flood control on: a token bucket of `--cap`
sends a second (burst `--cap`); a send over it gets 429 with `retry_after`. Once the bot polls,
`--users` new users each send one question at the same moment (English and Arabic from
`tests/eval/questions.toml`).

Measured:
- the share of users answered (goal 100%), and how long until the last one was;
- the achieved send rate as a share of the cap (goal >= 95%): the bot's accepted sends, over the
  time from the burst to its last send, against the time the cap allows for that many sends
  ((sends - burst) / cap, since the bucket starts full);
- 429s the bot got, and the wait from question to answer (median, 95th percentile, worst).

A new user's first answer is followed by the bot's one-time /subscribe offer, so a burst of new
users costs two sends each; answers and offers are counted apart. So the burst runs twice, one
after the other: new users, then returning users (stored in the database before the bot starts as
already offered /subscribe), who cost one send each. `--only new|returning` runs one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from throughput import BotChild, CountingServer, child_environment, load_questions, wait_for_first_poll

from fakeapi.harness import PSEUDONYM_SECRET
from fakeapi.users import FakeUser


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def seed_returning(database: Path, users: list[FakeUser]) -> None:
    """Stores the users as already offered /subscribe, as if they had used the bot before."""
    from bot.db import open_database, utc_now
    from bot.pseudonym import Pseudonymizer
    from bot.settings import Secret

    pseudonyms = Pseudonymizer(Secret(PSEUDONYM_SECRET))
    db = open_database(database)
    now = utc_now()
    with db.atomic():
        db["users"].insert_all([{"user_key": pseudonyms.key(user.id), "subscribe_offered": 1, "created_at": now,
                                 "updated_at": now} for user in users])
    db.conn.close()


async def run(users_count: int, cap: float, timeout: float, *, returning: bool = False) -> dict:
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        server = CountingServer()
        await server.start()
        users = [FakeUser(server, f"User {i}", language_code="ar" if i % 2 else "en") for i in range(users_count)]
        if returning:
            seed_returning(Path(tmp) / "bot.db", users)
        child = BotChild([sys.executable, "-m", "bot", "run"], child_environment(server, Path(tmp)), Path(tmp))
        try:
            await wait_for_first_poll(server, child)
            server.set_flood(cap)
            asked: dict[int, float] = {}
            first_answer: dict[int, float] = {}
            original = server._store_bot_message

            def store(chat, method, fields, call, **kwargs):
                record = original(chat, method, fields, call, **kwargs)
                if record.chat_id in asked and record.chat_id not in first_answer and "sub:yes" not in json.dumps(
                        fields.get("reply_markup") or {}):
                    first_answer[record.chat_id] = time.perf_counter()
                return record

            server._store_bot_message = store  # type: ignore[method-assign]
            started = time.perf_counter()
            for i, user in enumerate(users):
                lang = "ar" if i % 2 else "en"
                await user.send(questions[lang][(i // 2) % len(questions[lang])])
                asked[user.id] = time.perf_counter()
            try:
                await server.wait_until(lambda: len(first_answer) >= users_count, timeout, "every user's answer")
            except TimeoutError:
                pass
            # Let the /subscribe offers still queued go out too, to measure the rate over all sends.
            quiet_since = time.monotonic()
            sends = len(server.send_times)
            while time.monotonic() - quiet_since < 3.0 and time.perf_counter() - started < timeout:
                await asyncio.sleep(0.2)
                if len(server.send_times) != sends:
                    sends, quiet_since = len(server.send_times), time.monotonic()
            errors = [line for line in child.output().splitlines() if " ERROR " in line]
        finally:
            await child.stop()
            await server.stop()
    waits = [first_answer[chat] - asked[chat] for chat in first_answer]
    send_times = server.send_times
    accepted = len(send_times)
    span = send_times[-1] - started if send_times else float("nan")
    ideal = max(accepted - cap, 0) / cap
    return {
        "returning": returning,
        "users": users_count,
        "cap": cap,
        "answered": len(first_answer),
        "answered_share": len(first_answer) / users_count,
        "time_to_answer_all": max(first_answer.values()) - started if first_answer else float("nan"),
        "answers": server.answers,
        "offers": server.offers,
        "sends": accepted,
        "send_span": span,
        "send_rate": accepted / span if span else float("nan"),
        "rate_share": ideal / span if span else float("nan"),
        "flood_429": server.stats.flood_rejected,
        "wait_median": statistics.median(waits) if waits else float("nan"),
        "wait_p95": percentile(waits, 0.95) if waits else float("nan"),
        "wait_max": max(waits) if waits else float("nan"),
        "errors_logged": len(errors),
        "first_errors": errors[:3],
    }


def report(r: dict) -> None:
    who = "returning" if r["returning"] else "new"
    print(f"{r['users']:,} {who} users asked at once; fake Telegram allows {r['cap']:g} sends/s (burst {r['cap']:g})")
    print(f"  answered: {r['answered']:,}/{r['users']:,} users ({r['answered_share']:.1%}; goal 100%), "
          f"the last after {r['time_to_answer_all']:.1f} s")
    print(f"  sends: {r['sends']:,} accepted ({r['answers']:,} answers + {r['offers']:,} /subscribe offers) in "
          f"{r['send_span']:.1f} s = {r['send_rate']:.2f}/s; {r['rate_share']:.1%} of what the cap allows "
          f"(goal >= 95%)")
    print(f"  429s: {r['flood_429']}; wait for an answer: median {r['wait_median']:.1f} s, "
          f"95% {r['wait_p95']:.1f} s, worst {r['wait_max']:.1f} s; errors logged by the bot: {r['errors_logged']}")
    for line in r["first_errors"]:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users writing at once (default 1000)")
    parser.add_argument("--cap", type=float, default=30.0, help="the fake server's sends per second (default 30)")
    parser.add_argument("--only", choices=("new", "returning"), help="run only this kind of burst")
    parser.add_argument("--timeout", type=float, default=None, help="give up on a burst after this many seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    timeout = args.timeout or 60 + 3 * args.users / args.cap
    kinds = [args.only] if args.only else ["new", "returning"]
    results = []
    for kind in kinds:
        results.append(asyncio.run(run(args.users, args.cap, timeout, returning=kind == "returning")))
        report(results[-1])
    if len(results) == 2:
        new, returning = results
        print(f"new/returning time to answer everyone: {new['time_to_answer_all'] / returning['time_to_answer_all']:.2f}x "
              f"(the /subscribe offers take {new['offers'] / max(new['sends'], 1):.0%} of the sends)")
    command = f".venv/bin/python bench/burst.py --users {args.users} --cap {args.cap:g}" + (
        f" --only {args.only}" if args.only else "")
    print(f"command: {command}")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
