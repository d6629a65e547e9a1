"""Benchmark: answers per second through the whole bot, beside a bare python-telegram-bot echo bot.

    .venv/bin/python bench/throughput.py [--messages 2000] [--users 200] [--rounds 3] [--production]

Both bots run as child processes polling the same kind of local fake Bot API server
(`tests/fakeapi`, 127.0.0.1, flood control off), which runs in this process with the fake users.
So the bot under test has one core and the server and users the other (the machine has two).

- **bot**: the real Application from `bot.app.build_application`, started with
  `bot.runner.start_bot` as `python -m bot run` does (same polling settings, database file, INFO
  logging), but with `rate_limit=False`: its rate limiter (`bot.ratelimit`) paces every send
  under Telegram's ~30 messages/s by design, which would make both figures ~30/s and hide the
  cost of the stack.
  `--production` adds a run with the limiter on, to show that cap.
- **echo**: `bench/echo_bot.py`, a `MessageHandler` that sends the text back, with the same
  polling settings and the same number of updates in flight (64).

Each run: start the bot, wait for its first poll, let every user say hello (warm-up: the bot's
welcome and its one-time /subscribe offer go out and the user's row is written then, not timed), then queue `--messages` questions at once, round-robin over `--users` users, English and
Arabic from `tests/eval/questions.toml`, and time until the last answer arrives. Rounds alternate
echo/bot and bot/echo so a noisy neighbour hurts both alike; the ratio is of the medians.
Besides wall time, the CPU time of the bot process per answer is read from /proc (it tells
whether the bot or the server process was the limit), and `conns` counts the TCP connections the
bot opened during the timed part. python-telegram-bot's send pool allows 256, and httpcore's
bookkeeping costs more per request the more connections are open, so a run where the bot ended
up with 60-80 connections is markedly slower than one with ~16 for the same work: the source of
most of the spread between runs of the bots that send the long answers.

`--profile FILE` runs the real bot once under pyinstrument (install it into the venv by hand; it
is not a project dependency) and writes the text report to FILE.

Helpers here (`CountingServer`, `load_questions`, `BotChild`, `cpu_seconds`) are reused by the
other bench scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from fakeapi.harness import CONTRACT_VARIABLES, PSEUDONYM_SECRET  # noqa: E402
from fakeapi.server import FakeTelegramServer  # noqa: E402
from fakeapi.users import FakeUser  # noqa: E402

QUESTIONS_PATH = ROOT / "tests" / "eval" / "questions.toml"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- shared helpers ---------------------------------------------------------------------------

def load_questions() -> dict[str, list[str]]:
    """The evaluation questions by language: {"en": [...], "ar": [...]}."""
    with open(QUESTIONS_PATH, "rb") as f:
        data = tomllib.load(f)
    return {lang: [item["q"] for item in data[lang]] for lang in ("en", "ar")}


def is_offer(fields: dict) -> bool:
    """Tells whether a bot message is the one-time /subscribe offer (buttons sub:yes / sub:no)."""
    return '"sub:yes"' in json.dumps(fields.get("reply_markup") or {})


class CountingServer(FakeTelegramServer):
    """The fake Bot API, counting the bot's messages as they are stored, in O(1) each.

    `answers` counts messages that are not the /subscribe offer (`offers`); `per_chat` counts
    answers by chat; `answer_times` and `send_times` hold `time.perf_counter()` of each answer and
    of every message; `by_chat` keeps each chat's messages (a cheap `outputs(chat_id, after=)`).
    """

    async def _handle_api(self, request):  # type: ignore[override]
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        return await super()._handle_api(request)

    def chat_outputs(self, chat_id: int, after: int = 0) -> list:
        """The chat's messages sent or edited after the mark `after`, in that order."""
        return sorted((m for m in self.by_chat.get(chat_id, ()) if m.seq > after), key=lambda m: m.seq)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers = 0
        self.offers = 0
        self.per_chat: Counter[int] = Counter()
        self.answer_times: list[float] = []
        self.send_times: list[float] = []
        self.by_chat: dict[int, list] = {}  # chat id -> its SentMessage records (edits update them)
        self.peers: set = set()  # (host, port) of every client connection: the bot's pool size

    def _store_bot_message(self, chat, method, fields, call, **kwargs):  # type: ignore[override]
        record = super()._store_bot_message(chat, method, fields, call, **kwargs)
        now = time.perf_counter()
        self.send_times.append(now)
        self.by_chat.setdefault(record.chat_id, []).append(record)
        if is_offer(fields):
            self.offers += 1
        else:
            self.answers += 1
            self.answer_times.append(now)
            self.per_chat[record.chat_id] += 1
        return record

    async def wait_until(self, predicate, timeout: float, what: str) -> None:
        """Waits for `predicate()` (checked whenever the server changes); raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            await self._wait_changed(min(remaining, 0.05))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def child_environment(server: FakeTelegramServer, directory: Path) -> dict[str, str]:
    """The environment `python -m bot run` needs to talk to `server` (as tests' BotProcess sets it)."""
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
    env.update({name: "" for name in CONTRACT_VARIABLES})
    env.update({
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "TELEGRAM_API_FILE_URL": server.file_url,
        "DATABASE_PATH": str(directory / "bot.db"),
        "PSEUDONYM_SECRET": PSEUDONYM_SECRET,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "PTB_TIMEDELTA": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    return env


class BotChild:
    """A bot in a child process, its output in a log file; `stop()` sends SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], env: dict[str, str], directory: Path, name: str = "bot") -> None:
        self.log_path = directory / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(args, cwd=directory, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    async def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.proc.poll()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self, timeout: float = 15.0) -> int | None:
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                if await self.wait(timeout) is None:
                    self.kill()
            return self.proc.poll()
        finally:
            if self.proc.poll() is None:
                self.kill()
            self._log.close()


async def wait_for_first_poll(server: FakeTelegramServer, child: BotChild, timeout: float = 60.0) -> float:
    """Waits until the bot polls for updates; returns the seconds since the child was started."""
    deadline = time.monotonic() + timeout
    while not any(c.method == "getUpdates" for c in server.calls):
        if child.proc.poll() is not None:
            raise RuntimeError(f"the bot exited with {child.proc.returncode}:\n{child.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not poll within {timeout:.0f}s:\n{child.output()[-3000:]}")
        await asyncio.sleep(0.01)
    return time.perf_counter() - child.started


# --- the real bot as a worker -----------------------------------------------------------------

async def serve_real_bot(args: argparse.Namespace) -> None:
    """Runs the project's Application (rate limiter as asked) until SIGTERM: the `--worker` mode."""
    import logging

    from bot.app import build_application
    from bot.logs import setup_logging
    from bot.runner import start_bot, stop_bot
    from bot.settings import Settings

    setup_logging(logging.INFO)
    settings = Settings.from_env(load_dotenv_file=False)
    application = build_application(settings, rate_limit=args.limiter == "on")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.profile:
        # SIGUSR1 starts the profiler and SIGUSR2 stops it and writes the report, so only the
        # timed part of the run is profiled (not start-up or the warm-up).
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")

        def write_report() -> None:
            profiler.stop()
            tree = profiler.output_text(unicode=True, color=False, time="percent_of_total")
            flat = profiler.output_text(unicode=True, color=False, flat=True, flat_time="total",
                                        time="percent_of_total", show_all=True)
            Path(args.profile).write_text(tree + "\n\nTotal time by function:\n" + flat)

        loop.add_signal_handler(signal.SIGUSR1, profiler.start)
        loop.add_signal_handler(signal.SIGUSR2, write_report)
    await start_bot(application, settings)
    await stop.wait()
    await stop_bot(application)


# --- the benchmark ---------------------------------------------------------------------------

KINDS = {
    "echo": "bare echo bot",
    "bot": "real bot, no rate limiter",
    "echo+answers": "echo sending the real answers",
    "bot+limiter": "real bot as deployed",
}


def start_child(kind: str, server: FakeTelegramServer, directory: Path, profile: str | None = None) -> BotChild:
    """Starts `echo`, `echo+answers`, `bot` (no rate limiter) or `bot+limiter` against `server`."""
    env = child_environment(server, directory)
    if kind.startswith("echo"):
        args = [sys.executable, str(BENCH / "echo_bot.py"), "--base-url", server.base_url, "--token", server.token]
        if kind == "echo+answers":
            args.append("--real-answers")
    else:
        args = [sys.executable, str(Path(__file__).resolve()), "--worker",
                "--limiter", "on" if kind == "bot+limiter" else "off"]
        if profile:
            args += ["--profile", profile]
    return BotChild(args, env, directory, name=kind)


def question_for(questions: dict[str, list[str]], i: int) -> str:
    """Question number `i`: even numbers English, odd numbers Arabic (user i % users asks it)."""
    lang = "ar" if i % 2 else "en"
    pool = questions[lang]
    return pool[(i // 2) % len(pool)]


async def one_run(kind: str, messages: int, user_count: int, questions: dict[str, list[str]],
                  profile: str | None = None) -> dict[str, float]:
    """Starts one bot, warms it up, times `messages` answers; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        server = CountingServer()
        await server.start()
        child = start_child(kind, server, Path(tmp), profile)
        try:
            await wait_for_first_poll(server, child)
            # Even users write English and have an English app, odd ones Arabic.
            users = [FakeUser(server, f"User {i}", language_code="ar" if i % 2 else "en") for i in range(user_count)]
            # Warm-up: each user says hello (first contact: the welcome, the /subscribe offer, a
            # database row), so the timed part is the steady state of users who know the bot.
            for i, user in enumerate(users):
                await user.send("مرحبا" if i % 2 else "hello")
            offers = user_count if kind.startswith("bot") else 0
            await server.wait_until(lambda: server.answers >= user_count and server.offers >= offers,
                                    120 + user_count / 25, "the warm-up answers")
            await asyncio.sleep(0.3)
            answered_before = server.answers
            server.peers.clear()
            if profile:
                child.proc.send_signal(signal.SIGUSR1)
                await asyncio.sleep(0.2)
            bot_cpu0, server_cpu0 = child.cpu(), time.process_time()
            started = time.perf_counter()
            # Round-robin, so user i % users asks question i, in the user's language.
            for i in range(messages):
                await users[i % user_count].send(question_for(questions, user_count + i))
            await server.wait_until(lambda: server.answers - answered_before >= messages,
                                    120 + messages / (25 if kind == "bot+limiter" else 100), "the answers")
            elapsed = server.answer_times[-1] - started
            bot_cpu, server_cpu = child.cpu() - bot_cpu0, time.process_time() - server_cpu0
            if profile:
                child.proc.send_signal(signal.SIGUSR2)
                await server.wait_until(lambda: Path(profile).exists(), 60, "the profile report")
            if server.errors():
                raise RuntimeError(f"the fake server refused calls: {server.errors()[:3]}")
        finally:
            code = await child.stop()
            await server.stop()
        if code not in (0, -signal.SIGTERM):
            print(f"warning: the {kind} process exited with {code}:\n{child.output()[-2000:]}", file=sys.stderr)
        return {
            "rate": messages / elapsed,
            "elapsed": elapsed,
            "bot_cpu_ms": bot_cpu * 1000 / messages,
            "bot_cpu_share": bot_cpu / elapsed,
            "server_cpu_share": server_cpu / elapsed,
            "connections": len(server.peers),
        }


# --- in process, no network -------------------------------------------------------------------

class CannedRequest:
    """A python-telegram-bot request object that answers every call at once, without a network:
    getMe with a bot, sendMessage with a short Message, anything else with True."""

    def __new__(cls):
        from telegram.request import BaseRequest

        class _Canned(BaseRequest):
            bot_user = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}

            async def initialize(self) -> None:
                pass

            async def shutdown(self) -> None:
                pass

            @property
            def read_timeout(self) -> float:
                return 5.0

            async def do_request(self, url, method, request_data=None, **kwargs):  # type: ignore[override]
                params = request_data.json_parameters if request_data is not None else {}
                if url.endswith("/getMe"):
                    result: Any = self.bot_user
                elif url.endswith("/sendMessage"):
                    chat_id = int(params["chat_id"])
                    result = {"message_id": 1, "from": self.bot_user, "date": 1_700_000_000,
                              "chat": {"id": chat_id, "type": "private", "first_name": "User"}, "text": "ok"}
                else:
                    result = True
                return 200, json.dumps({"ok": True, "result": result}).encode()

        return _Canned()


def _update_json(update_id: int, user_id: int, text: str, lang: str) -> dict:
    from fakeapi.users import detect_entities

    message: dict[str, Any] = {
        "message_id": update_id, "date": 1_700_000_000, "text": text,
        "from": {"id": user_id, "is_bot": False, "first_name": "User", "language_code": lang},
        "chat": {"id": user_id, "type": "private", "first_name": "User"},
    }
    entities = detect_entities(text)
    if entities:
        message["entities"] = entities
    return {"update_id": update_id, "message": message}


async def in_process(kind: str, messages: int, user_count: int, questions: dict[str, list[str]]) -> float:
    """CPU ms per update of `Application.process_update` with a canned request object: the bot's
    own work per update (dispatch, logic, building and parsing the API call) without HTTP."""
    from telegram import Update

    sys.path.insert(0, str(BENCH))
    from echo_bot import build_echo_application

    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as tmp:
        if kind == "echo":
            application = build_echo_application(FakeTelegramServer().token, request=CannedRequest())
        else:
            from bot.app import build_application
            from fakeapi.harness import make_settings

            application = build_application(make_settings(Path(tmp)), request=CannedRequest(), rate_limit=False)
        await application.initialize()
        if application.post_init:
            await application.post_init(application)
        try:
            for i in range(user_count):
                lang = "ar" if i % 2 else "en"
                update = _update_json(i + 1, 8_000_000 + i, "مرحبا" if i % 2 else "hello", lang)
                await application.process_update(Update.de_json(update, application.bot))
            updates = [_update_json(user_count + i + 1, 8_000_000 + i % user_count,
                                    question_for(questions, user_count + i), "ar" if i % 2 else "en")
                       for i in range(messages)]
            started = time.process_time()
            for update in updates:
                await application.process_update(Update.de_json(update, application.bot))
            return (time.process_time() - started) * 1000 / messages
        finally:
            await application.shutdown()
            if application.post_shutdown:
                await application.post_shutdown(application)


# --- report -----------------------------------------------------------------------------------

def _overall_rate() -> str:
    from bot import ratelimit

    return str(getattr(ratelimit, "OVERALL_RATE", 30))


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python", "bench/throughput.py", "--messages", str(args.messages), "--users", str(args.users),
             "--rounds", str(args.rounds)]
    parts += [flag for flag, on in (("--production", args.production), ("--diagnose", args.diagnose)) if on]
    return " ".join(parts)


def _row(round_label: str, kind: str, figures: dict[str, float], note: str = "") -> str:
    return (f"{round_label:>5} {kind:<13} {figures['rate']:>10,.0f} {figures['elapsed']:>8.2f} "
            f"{figures['bot_cpu_ms']:>15.2f} {figures['bot_cpu_share']:>8.0%} {figures['server_cpu_share']:>11.0%}"
            f" {figures['connections']:>6}{note}")


async def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    questions = load_questions()
    kinds = ["echo", "bot"] + (["echo+answers"] if args.diagnose else [])
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    print(f"{args.messages:,} questions per run from {args.users} users (EN/AR), flood control off; "
          f"rounds rotate the order of the bots")
    print(f"{'round':>5} {'bot':<13} {'answers/s':>10} {'seconds':>8} {'CPU ms/answer':>15} {'bot CPU':>8} "
          f"{'server CPU':>11} {'conns':>6}")
    for round_number in range(args.rounds):
        shift = round_number % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            figures = await one_run(kind, args.messages, args.users, questions)
            results[kind].append(figures)
            print(_row(str(round_number + 1), kind, figures), flush=True)
    summary: dict[str, Any] = {"messages": args.messages, "users": args.users, "rounds": args.rounds}
    for kind in kinds:
        rates = [r["rate"] for r in results[kind]]
        summary[kind] = {"median": statistics.median(rates), "best": max(rates),
                         "cpu_ms": statistics.median(r["bot_cpu_ms"] for r in results[kind]),
                         "cpu_ms_best": min(r["bot_cpu_ms"] for r in results[kind])}
    echo, bot = summary["echo"], summary["bot"]
    summary["ratio"] = bot["median"] / echo["median"]
    summary["ratio_best"] = bot["best"] / echo["best"]
    summary["round_ratios"] = [b["rate"] / e["rate"] for e, b in zip(results["echo"], results["bot"])]
    summary["cpu_ratio"] = echo["cpu_ms_best"] / bot["cpu_ms_best"]
    if args.production:
        messages = min(args.messages, 600)
        figures = await one_run("bot+limiter", messages, args.users, questions)
        summary["production"] = figures["rate"]
        print(_row("-", "bot+limiter", figures, f"  ({messages} questions)"), flush=True)
    print("in process, no network (Application.process_update with a canned request object):", flush=True)
    inproc = {kind: [] for kind in ("echo", "bot")}
    for _ in range(3):
        for kind in ("echo", "bot"):
            inproc[kind].append(await in_process(kind, min(args.messages, 2000), args.users, questions))
    summary["inprocess_ms"] = {kind: min(values) for kind, values in inproc.items()}
    print(f"      echo {summary['inprocess_ms']['echo']:.3f} ms CPU per update, "
          f"bot {summary['inprocess_ms']['bot']:.3f} ms (best of 3)")

    print()
    print(f"echo bot:  {echo['median']:,.0f} answers/s median, {echo['best']:,.0f} best of {args.rounds}")
    print(f"real bot:  {bot['median']:,.0f} answers/s median, {bot['best']:,.0f} best (no rate limiter)")
    if args.diagnose:
        diag = summary["echo+answers"]
        print(f"echo sending the real answers: {diag['median']:,.0f} answers/s median, {diag['best']:,.0f} best "
              f"(ratio to echo {diag['median'] / echo['median']:.2f} of the medians, {diag['best'] / echo['best']:.2f} "
              f"of the bests: the cost of the bigger messages alone; real bot to it: "
              f"{bot['median'] / diag['median']:.2f} of the medians)")
    print(f"ratio real/echo: {summary['ratio']:.2f} of the medians, {summary['ratio_best']:.2f} of the bests "
          f"(goal >= 0.90); per round: {', '.join(f'{r:.2f}' for r in summary['round_ratios'])}")
    print(f"bot-process CPU per answer (best): echo {echo['cpu_ms_best']:.2f} ms, real {bot['cpu_ms_best']:.2f} ms "
          f"(ratio {summary['cpu_ratio']:.2f})")
    ms = summary["inprocess_ms"]
    print(f"the bot's own work per update without HTTP: {ms['bot']:.2f} ms vs the echo's {ms['echo']:.2f} ms "
          f"(+{ms['bot'] - ms['echo']:.2f} ms)")
    if args.production:
        print(f"real bot with its rate limiter (as deployed): {summary['production']:.1f} answers/s "
              f"(bot.ratelimit paces sends at {_overall_rate()}/s)")
    print(f"command: {command_line(args)}")
    return summary


async def run_profile(args: argparse.Namespace) -> None:
    questions = load_questions()
    target = Path(args.profile).resolve()
    target.unlink(missing_ok=True)
    figures = await one_run("bot", args.messages, args.users, questions, profile=str(target))
    print(f"profiled run: {figures['rate']:,.0f} answers/s under the profiler; report in {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="questions timed per run (default 2000)")
    parser.add_argument("--users", type=int, default=200, help="fake users asking them (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each bot, order rotating (default 5)")
    parser.add_argument("--production", action="store_true", help="also run the bot with its rate limiter")
    parser.add_argument("--diagnose", action="store_true",
                        help="also run an echo bot that sends the real answers (the cost of bigger messages)")
    parser.add_argument("--profile", help="profile the real bot once with pyinstrument; write the report here")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limiter", choices=("on", "off"), default="off", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(serve_real_bot(args))
    elif args.profile:
        asyncio.run(run_profile(args))
    else:
        summary = asyncio.run(run_benchmark(args))
        summary["command"] = command_line(args)
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
