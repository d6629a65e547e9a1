"""Runs every benchmark in bench/ and prints a Markdown table of the figures, for the README.

    .venv/bin/python bench/run_all.py [--skip-million] [--quick] [--only throughput,burst,...] [--output FILE]

Each benchmark runs as its own process, one after the other (never two at once: the machine has
two cores), its output shown as it goes. The table gives each figure with its goal and the exact
command, under a line naming the machine (cores, Python, date, commit): on a shared, noisy
machine compare figures measured side by side in one run (the ratios), not across runs.

`--skip-million` leaves out the slow 1,000,000-report export; `--quick` runs everything smaller
(a smoke test of the benchmarks, not figures to quote).
"""

from __future__ import annotations

import argparse
import datetime as dtm
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ".venv/bin/python"

# name: (script, full arguments, --quick arguments, writes --json)
BENCHES: dict[str, tuple[str, list[str], list[str], bool]] = {
    "throughput": ("throughput.py", ["--production", "--diagnose"],
                   ["--messages", "500", "--users", "50", "--rounds", "2", "--production"], True),
    "burst": ("burst.py", [], ["--users", "200"], True),
    "faults": ("faults.py", [], ["--users", "150"], True),
    "crash": ("crash.py", [], ["--kills", "4", "--users", "6"], True),
    "startup": ("startup.py", [], ["--runs", "3"], True),
    "matching": ("matching.py", [], ["--rounds", "2"], False),
    "report_inserts": ("report_inserts.py", [], ["--reports", "500"], False),
    "export_million": ("export_million.py", [], ["--reports", "50000"], False),
}


def machine() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores (nproc), Python {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}, {dtm.datetime.now(dtm.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, "
            f"load average at start {load}")


def run_bench(name: str, quick: bool, workdir: Path) -> tuple[list[str], str, dict | None, float]:
    script, full, small, has_json = BENCHES[name]
    args = [PYTHON, f"bench/{script}", *(small if quick else full)]
    json_path = workdir / f"{name}.json"
    if has_json:
        args += ["--json", str(json_path)]
    print(f"\n$ {' '.join(args)}", flush=True)
    started = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        code = proc.wait()
    elapsed = time.perf_counter() - started
    output = "".join(lines)
    if code != 0:
        print(f"({name} exited with {code})", flush=True)
    figures = json.loads(json_path.read_text()) if has_json and json_path.exists() and code == 0 else None
    shown = [a for a in args if not a.startswith(str(workdir)) and a != "--json"]
    return shown, output, figures, elapsed


def _search(pattern: str, text: str) -> re.Match | None:
    return re.search(pattern, text, re.MULTILINE)


def rows_for(name: str, command: str, output: str, f: dict | None) -> list[tuple[str, str, str, str]]:
    """(benchmark, figure, goal, command) rows for one benchmark's results."""
    cmd = f"`{command}`"
    if f is None and name in ("throughput", "burst", "faults", "crash", "startup"):
        return [(name, "failed: see its output", "", cmd)]
    if name == "throughput":
        rows = [(
            "throughput",
            f"real bot {f['bot']['median']:,.0f} answers/s vs bare PTB echo bot {f['echo']['median']:,.0f}/s: "
            f"**ratio {f['ratio']:.2f}** (median of {f['rounds']} alternating runs; best-of ratio "
            f"{f['ratio_best']:.2f}; per round {', '.join(f'{r:.2f}' for r in f['round_ratios'])})",
            ">= 0.90", cmd)]
        rows.append(("throughput", f"bot-process CPU per answer: echo {f['echo']['cpu_ms_best']:.2f} ms, real "
                                   f"{f['bot']['cpu_ms_best']:.2f} ms; the bot's own work without HTTP "
                                   f"{f['inprocess_ms']['bot']:.2f} ms vs echo {f['inprocess_ms']['echo']:.2f} ms "
                                   f"per update", "", cmd))
        if "echo+answers" in f:
            diag = f["echo+answers"]
            rows.append(("throughput", f"echo sending the real answers (HTML + buttons): {diag['median']:,.0f}/s = "
                                       f"{diag['median'] / f['echo']['median']:.2f} of the echo (the message size "
                                       f"alone)", "", cmd))
        if "production" in f:
            rows.append(("throughput", f"real bot as deployed (its rate limiter on): {f['production']:.1f} answers/s",
                         "Telegram's ~30/s", cmd))
        return rows
    if name == "burst":
        rows = []
        for r in f["runs"]:
            who = "returning" if r["returning"] else "new"
            rows.append(("burst", f"{r['users']:,} {who} users at once, {r['cap']:g} msg/s cap: "
                                  f"**{r['answered_share']:.1%} answered**, send rate **{r['rate_share']:.1%} of "
                                  f"the cap** ({r['sends']:,} sends, {r['flood_429']} × 429), everyone answered in "
                                  f"{r['time_to_answer_all']:.1f} s (median wait {r['wait_median']:.1f} s)",
                         "100%, >= 95%", cmd))
        return rows
    if name == "faults":
        return [("faults", f"1 send in {1 / f['fault_rate']:.0f} failing (500/502/timeout/drop), {f['users']:,} "
                           f"questions: **{f['answered_share']:.2%} answered**, **{f['duplicates']} duplicates** "
                           f"({f['duplicates'] / max(f['answered'], 1):.1%}; from delivered-but-timed-out sends)",
                 ">= 99%", cmd)]
    if name == "crash":
        return [("crash", f"{f['kills']} SIGKILLs + restarts, {f['confirmed']:,} reports confirmed: "
                          f"**{f['lost']} lost, {f['duplicated']} duplicated** ({f['stored_unconfirmed']} stored "
                          f"unconfirmed, {f['errors_logged']} errors logged)", "0 / 0", cmd)]
    if name == "startup":
        a, c = f["as is"], f["bytecode cache"]
        return [("startup", f"`bot run` to first answer: **{a['bot run: fresh db']:.2f} s** fresh DB, "
                            f"{a['bot run: restart']:.2f} s restart (with a warm bytecode cache "
                            f"{c['bot run: restart']:.2f} s); `bot ask`: **{a['bot ask']:.2f} s**; baselines "
                            f"`import telegram.ext` {a['import telegram.ext']:.2f} s, `python -c pass` "
                            f"{a['python -c pass']:.3f} s (medians of {f['runs']})", "", cmd)]
    if name == "matching":
        warm = _search(r"warm \(later rounds\): p50 ([\d.]+) ms\s+p99 ([\d.]+) ms", output)
        build = _search(r"build: (\d+) ms", output)
        if warm:
            return [("matching", f"per question p50 {warm.group(1)} ms, p99 {warm.group(2)} ms (warm); matcher "
                                 f"built in {build.group(1) if build else '?'} ms", "", cmd)]
    if name == "report_inserts":
        found = _search(r"^([\d,]+) reports/s", output)
        if found:
            return [("report_inserts", f"{found.group(1)} reports/s (draft + submit transaction, WAL, "
                                       f"synchronous=FULL)", "", cmd)]
    if name == "export_million":
        formats = re.findall(r"^\s+(csv|json): ([\d.]+) s, ([\d,]+) reports/s", output, re.MULTILINE)
        peak = _search(r"peak memory ([\d.]+) MB", output)
        if formats:
            text = "; ".join(f"{fmt.upper()} {secs} s ({rate} reports/s)" for fmt, secs, rate in formats)
            return [("export_million", f"{text}; peak {peak.group(1) if peak else '?'} MB", "< 100 MB", cmd)]
    return [(name, "see its output (figures not recognised)", "", cmd)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-million", action="store_true", help="leave out the 1,000,000-report export")
    parser.add_argument("--quick", action="store_true", help="smaller runs: a smoke test, not figures to quote")
    parser.add_argument("--only", help="comma-separated benchmarks to run (default: all present)")
    parser.add_argument("--output", help="also write the Markdown table to this file")
    args = parser.parse_args()
    names = [n for n in BENCHES if (ROOT / "bench" / BENCHES[n][0]).exists()]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = set(wanted) - set(BENCHES)
        if unknown:
            parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}; known: {', '.join(BENCHES)}")
        names = [n for n in names if n in wanted]
    if args.skip_million:
        names = [n for n in names if n != "export_million"]
    about = machine()
    rows: list[tuple[str, str, str, str]] = []
    durations: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        for name in names:
            command, output, figures, elapsed = run_bench(name, args.quick, Path(tmp))
            durations[name] = elapsed
            rows += rows_for(name, " ".join(command), output, figures)
    invocation = " ".join([PYTHON, "bench/run_all.py", *sys.argv[1:]])
    table = [f"Machine: {about}.", "",
             f"Run with `{invocation}`" + (" (QUICK: smoke-test sizes, not figures to quote)" if args.quick else "")
             + f"; took {sum(durations.values()) / 60:.1f} min.", "",
             "| benchmark | figure | goal | command |", "| --- | --- | --- | --- |"]
    table += [f"| {name} | {figure} | {goal} | {command} |" for name, figure, goal, command in rows]
    text = "\n".join(table)
    print("\n" + text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
