"""Benchmark: questions answered while one send in ten fails (500, 502, a late answer, a dropped connection).

    .venv/bin/python bench/faults.py [--users 500] [--fault-rate 0.1] [--rate 20] [--seed 1]

The real bot runs as `python -m bot run` (as deployed: rate limiter, retries) against the local
fake Bot API (`tests/fakeapi`, in this process), flood control off. A share `--fault-rate` of the
bot's sends and edits fails, the kind drawn evenly (seeded) from:
- `500` / `502`: an error answer; nothing was delivered;
- `timeout`: the message *is* delivered, but the answer comes after 6 s, past the bot's 5 s read
  timeout, so the bot sees `TimedOut` for a message the user already has;
- `drop`: the connection closes without an answer; nothing was delivered.

The users are returning users (stored as already offered /subscribe before the bot starts), so
each question gets exactly one message back. They ask one question each, `--rate` a second
(English and Arabic from `tests/eval/questions.toml`). Then the bench waits for every answer and
for the bot to go quiet (late retries), and counts:
- the share of questions answered (goal >= 99%);
- duplicates: answers beyond the first in a chat (a retried `timeout` send delivers twice: the bot
  retries a `TimedOut` on purpose, preferring a rare duplicate to a lost answer);
- the faults injected by kind, the retries the bot logged, errors it logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from burst import seed_returning
from throughput import BotChild, CountingServer, child_environment, load_questions, wait_for_first_poll

from fakeapi.users import FakeUser

KINDS = ("500", "502", "timeout", "drop")


async def run(users_count: int, fault_rate: float, rate: float, seed: int, quiet: float) -> dict:
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        server = CountingServer()
        await server.start()
        users = [FakeUser(server, f"User {i}", language_code="ar" if i % 2 else "en") for i in range(users_count)]
        seed_returning(Path(tmp) / "bot.db", users)
        child = BotChild([sys.executable, "-m", "bot", "run"], child_environment(server, Path(tmp)), Path(tmp))
        try:
            await wait_for_first_poll(server, child)
            server.set_faults(fault_rate, kinds=KINDS, seed=seed)
            asked: dict[int, float] = {}
            started = time.perf_counter()
            for i, user in enumerate(users):
                # Paced: question i leaves at i / rate seconds.
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                lang = "ar" if i % 2 else "en"
                await user.send(questions[lang][(i // 2) % len(questions[lang])])
                asked[user.id] = time.perf_counter()
            try:
                await server.wait_until(lambda: all(server.per_chat[chat] for chat in asked),
                                        60 + users_count / 5, "every answer")
            except TimeoutError:
                pass
            answered_at = time.perf_counter()
            # Late retries (a `timeout` fault takes 6 s, then backoff) may still add duplicates.
            last = len(server.send_times)
            quiet_since = time.monotonic()
            while time.monotonic() - quiet_since < quiet:
                await asyncio.sleep(0.25)
                if len(server.send_times) != last:
                    last, quiet_since = len(server.send_times), time.monotonic()
            faults = Counter(call.fault for call in server.calls if call.fault)
            attempts = sum(1 for call in server.calls if call.method == "sendMessage")
        finally:
            await child.stop()
            await server.stop()
        output = child.output()
    answered = [chat for chat in asked if server.per_chat[chat] >= 1]
    duplicates = sum(server.per_chat[chat] - 1 for chat in answered)
    return {
        "users": users_count,
        "fault_rate": fault_rate,
        "answered": len(answered),
        "answered_share": len(answered) / users_count,
        "duplicates": duplicates,
        "users_with_duplicates": sum(1 for chat in answered if server.per_chat[chat] > 1),
        "send_attempts": attempts,
        "faults": dict(faults),
        "faults_share": sum(faults.values()) / max(attempts, 1),
        "retries_logged": sum(1 for line in output.splitlines() if "failed (" in line and "; retry" in line),
        "errors_logged": sum(1 for line in output.splitlines() if " ERROR " in line),
        "time_to_answer_all": answered_at - started,
        "offers": server.offers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500, help="users, one question each (default 500)")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of sends that fail (default 0.1)")
    parser.add_argument("--rate", type=float, default=20.0, help="questions per second (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the fault draw's seed (default 1)")
    parser.add_argument("--quiet", type=float, default=12.0,
                        help="seconds without sends that end the run after the last answer (default 12)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = asyncio.run(run(args.users, args.fault_rate, args.rate, args.seed, args.quiet))
    command = (f".venv/bin/python bench/faults.py --users {args.users} --fault-rate {args.fault_rate:g} "
               f"--rate {args.rate:g} --seed {args.seed}")
    kinds = ", ".join(f"{kind} {r['faults'].get(kind, 0)}" for kind in KINDS)
    print(f"{r['users']:,} questions at {args.rate:g}/s; {r['faults_share']:.1%} of {r['send_attempts']:,} sendMessage "
          f"calls failed ({kinds})")
    print(f"answered: {r['answered']:,}/{r['users']:,} ({r['answered_share']:.2%}; goal >= 99%) within "
          f"{r['time_to_answer_all']:.1f} s of the first question")
    print(f"duplicates seen: {r['duplicates']} extra answers, to {r['users_with_duplicates']} users "
          f"({r['duplicates'] / max(r['answered'], 1):.1%} of answers; one per delivered-but-timed-out send at most)")
    print(f"retries logged by the bot: {r['retries_logged']}; errors logged: {r['errors_logged']}; "
          f"unexpected /subscribe offers: {r['offers']}")
    print(f"command: {command}")
    if args.json:
        r["command"] = command
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
