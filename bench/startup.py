"""Benchmark: start-up time of `python -m bot run` until its first answer, and of `python -m bot ask`.

    .venv/bin/python bench/startup.py [--runs 7]

Measured as the median of `--runs` runs, the kinds interleaved run by run so that a noisy
neighbour hurts them alike, each beside two baselines from the same runs:
- `python -c pass` (the interpreter) and `python -c "import telegram.ext"` (the library);
- `python -m bot ask QUESTION`: the process's wall time (it loads the knowledge, builds the
  matcher, answers, exits);
- `python -m bot run` until the first answer: a user's question is queued at the local fake Bot
  API (`tests/fakeapi`, in this process) before the process starts; timed from the process start
  to the answer reaching the server, with a fresh database (first start: the schema is created)
  and with the database of the previous run (a restart). The first poll's time is shown too.

Python's bytecode cache matters for start-up. Each kind runs twice: as this environment runs
Python (`PYTHONDONTWRITEBYTECODE` is inherited: when set, the project's own modules are compiled
again at every start, since no `.pyc` is ever written for them) and with a warm bytecode cache
(`PYTHONDONTWRITEBYTECODE` unset, `PYTHONPYCACHEPREFIX` a temporary directory filled by a first
untimed run, so the project tree is not touched).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import ROOT, BotChild, CountingServer, child_environment, wait_for_first_poll

from fakeapi.users import FakeUser

QUESTION = "how many foreigners died fighting for russia"
KINDS = ("python -c pass", "import telegram.ext", "bot ask", "bot run: fresh db", "bot run: restart")


def _environment(base: dict[str, str], cached: bool, cache_dir: Path) -> dict[str, str]:
    env = dict(base)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


def timed_process(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


async def first_answer(directory: Path, cached: bool, cache_dir: Path) -> tuple[float, float]:
    """Starts `python -m bot run` with a question already queued; (seconds to first poll, to answer)."""
    server = CountingServer()
    await server.start()
    try:
        user = FakeUser(server, "First")
        await user.send(QUESTION)
        env = _environment(child_environment(server, directory), cached, cache_dir)
        child = BotChild([sys.executable, "-m", "bot", "run"], env, directory)
        try:
            polled = await wait_for_first_poll(server, child)
            await server.wait_until(lambda: server.answers >= 1, 60, "the first answer")
            answered = server.answer_times[0] - child.started
        finally:
            await child.stop()
        return polled, answered
    finally:
        await server.stop()


async def run(runs: int) -> dict:
    base = {k: v for k, v in os.environ.items()}
    base["PTB_TIMEDELTA"] = "1"
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ask_env_extra = {"PSEUDONYM_SECRET": "bench-startup-secret-0123456789abcdef0123456789"}
    times: dict[str, dict[str, list[float]]] = {mode: {kind: [] for kind in KINDS + ("first poll: fresh db",)}
                                               for mode in ("as is", "bytecode cache")}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        tmp_path = Path(tmp)
        cache_dir = tmp_path / "pycache"
        for mode, cached in (("as is", False), ("bytecode cache", True)):
            env = _environment(base, cached, cache_dir)
            env.update(ask_env_extra)
            env["DATABASE_PATH"] = str(tmp_path / "ask.db")
            if cached:  # fill the cache: one untimed run of everything
                timed_process([sys.executable, "-m", "bot", "ask", QUESTION], env)
                (tmp_path / "warm").mkdir()
                await first_answer(tmp_path / "warm", True, cache_dir)
            for number in range(runs):
                times[mode]["python -c pass"].append(timed_process([sys.executable, "-c", "pass"], env))
                times[mode]["import telegram.ext"].append(
                    timed_process([sys.executable, "-c", "import telegram.ext"], env))
                times[mode]["bot ask"].append(timed_process([sys.executable, "-m", "bot", "ask", QUESTION], env))
                directory = tmp_path / f"{mode.replace(' ', '-')}-{number}"
                directory.mkdir()
                polled, answered = await first_answer(directory, cached, cache_dir)
                times[mode]["first poll: fresh db"].append(polled)
                times[mode]["bot run: fresh db"].append(answered)
                _, answered = await first_answer(directory, cached, cache_dir)
                times[mode]["bot run: restart"].append(answered)
    return {mode: {kind: statistics.median(values) for kind, values in by_kind.items()}
            for mode, by_kind in times.items()} | {"runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each kind; medians are shown (default 7)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = asyncio.run(run(args.runs))
    inherited = os.environ.get("PYTHONDONTWRITEBYTECODE")
    print(f"median of {args.runs} runs, seconds (PYTHONDONTWRITEBYTECODE in this environment: "
          f"{inherited!r})")
    print(f"{'':<28} {'as is':>8} {'bytecode cache':>15}")
    for kind in KINDS + ("first poll: fresh db",):
        print(f"{kind:<28} {r['as is'][kind]:>8.3f} {r['bytecode cache'][kind]:>15.3f}")
    for mode in ("as is", "bytecode cache"):
        m = r[mode]
        print(f"{mode}: `bot run` answers {m['bot run: fresh db']:.2f} s after start (fresh db), "
              f"{m['bot run: restart']:.2f} s (restart) = {m['bot run: restart'] / m['import telegram.ext']:.1f}x "
              f"`import telegram.ext`; `bot ask` {m['bot ask']:.2f} s = "
              f"{m['bot ask'] / m['import telegram.ext']:.1f}x `import telegram.ext`")
    command = f".venv/bin/python bench/startup.py --runs {args.runs}"
    print(f"command: {command}")
    if args.json:
        r["command"] = command
        r["PYTHONDONTWRITEBYTECODE"] = inherited
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
