"""Measures question-matching time: p50, p99 and mean per question, in milliseconds.

Questions: the evaluation sets (tests/eval/questions.toml and the held-out tests/eval/holdout.toml,
when present) and every topic example,
each matched a few times. The matcher is built once beforehand, as the bot does at start-up; the
time to build it is reported separately. Run: `.venv/bin/python bench/matching.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import load_knowledge  # noqa: E402
from bot.matching import Matcher  # noqa: E402

EVAL_PATH = ROOT / "tests" / "eval" / "questions.toml"
HOLDOUT_PATH = ROOT / "tests" / "eval" / "holdout.toml"


def questions() -> list[str]:
    """The evaluation questions (of the sets that exist) followed by the topic examples."""
    found: list[str] = []
    for path in (EVAL_PATH, HOLDOUT_PATH):
        if path.exists():
            with open(path, "rb") as f:
                data = tomllib.load(f)
            found += [item["q"] for section in ("en", "ar", "offtopic") for item in data.get(section, [])]
    knowledge = load_knowledge()
    found += [ex for topic in knowledge.topics.values() for exs in topic.examples.values() for ex in exs]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each question is matched (default 3)")
    args = parser.parse_args()
    started = time.perf_counter()
    matcher = Matcher.from_knowledge(load_knowledge())
    build_ms = (time.perf_counter() - started) * 1000
    items = questions()
    timings: list[float] = []
    for round_number in range(args.rounds):
        if round_number == 1:
            # The first round fills the word caches, as the first hours of a running bot would;
            # both the cold round and the warm rounds are reported.
            cold = sorted(timings)
            timings = []
        for text in items:
            t0 = time.perf_counter()
            matcher.match(text)
            timings.append((time.perf_counter() - t0) * 1000)
    warm = sorted(timings)
    executable = Path(sys.executable)
    try:
        executable = executable.relative_to(Path.cwd())
    except ValueError:
        pass
    print(f"command: {' '.join([str(executable), *sys.argv])}")
    print(f"questions: {len(items)} (evaluation sets included: {sum(p.exists() for p in (EVAL_PATH, HOLDOUT_PATH))} of 2), "
          f"rounds: {args.rounds}, build: {build_ms:.0f} ms")
    for label, data in (("cold (first round)", cold if args.rounds > 1 else warm),
                        ("warm (later rounds)", warm)):
        p50 = data[len(data) // 2]
        p99 = data[min(len(data) - 1, int(len(data) * 0.99))]
        print(f"{label:>20}: p50 {p50:.3f} ms  p99 {p99:.3f} ms  mean {statistics.fmean(data):.3f} ms  "
              f"max {data[-1]:.3f} ms  (n={len(data)})")


if __name__ == "__main__":
    main()
