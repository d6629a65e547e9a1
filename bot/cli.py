"""`python -m bot VERB` (and the `recruitment-shield-bot` console script).

Verbs: run, chat, ask, export, check, stats, backup. Errors are one clear line on stderr with
exit code 2 (bad configuration or input) or 1 (`check` found problems), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import re
import sys
from datetime import date
from pathlib import Path

from bot.settings import LANGUAGES, Settings, SettingsError

log = logging.getLogger("bot")

TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather in Telegram (send /newbot), then put "
    "TELEGRAM_BOT_TOKEN=<token> in .env or the environment. To try the bot offline without a token: "
    "python -m bot chat"
)


class CliError(Exception):
    """A one-line error for the user; exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("run", help="run the Telegram bot (polling, or webhook when WEBHOOK_URL is set)")
    chat = verbs.add_parser("chat", help="the same bot in the terminal, offline, with no token")
    chat.add_argument("--lang", choices=LANGUAGES, help="the language your terminal user's Telegram app uses")
    ask = verbs.add_parser("ask", help="print the answer the bot would give to QUESTION")
    ask.add_argument("question")
    ask.add_argument("--lang", choices=LANGUAGES, help="force the answer's language")
    export = verbs.add_parser("export", help="stream the reports as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="file to write (default: stdout)")
    export.add_argument("--since", help="only reports created on or after YYYY-MM-DD")
    export.add_argument("--status", help="only reports with this status")
    verbs.add_parser("check", help="validate facts, templates, topics and warning signs")
    verbs.add_parser("stats", help="report counts by status, channel, offer, country and week")
    backup = verbs.add_parser("backup", help="a consistent online copy of the database, integrity-checked")
    backup.add_argument("file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bot.logs import setup_logging

    setup_logging(logging.INFO if args.verb == "run" else logging.WARNING)
    try:
        settings = Settings.from_env()
        handler = VERBS[args.verb]
        return handler(settings, args) or 0
    except (SettingsError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `export | head` closed the pipe: not an error of ours.
        return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.token:
        raise CliError(TOKEN_HELP)
    from bot.runner import run

    run(settings)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.offline import chat

    asyncio.run(chat(settings, language_code=args.lang))
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_services
    from bot.questions import answer_question

    svc = build_services(settings)
    from bot.language import resolve_language

    lang = args.lang or resolve_language(args.question, None, None, settings.default_language)
    reply = answer_question(svc.knowledge, svc.renderer, svc.matcher, args.question, lang)
    print(html_to_terminal(reply.text))
    labels = [button.label for row in reply.buttons for button in row]
    if labels:
        print()
        print(" | ".join(f"[{label}]" for label in labels))
    return 0


def _parse_since(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise CliError(f"--since must be a date as YYYY-MM-DD, got {raw!r}") from None


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import DatabaseMissing, open_readonly
    from bot.export import STATUSES, write_export

    since = _parse_since(args.since)
    if args.status is not None and args.status not in STATUSES:
        raise CliError(f"--status must be one of {', '.join(STATUSES)}, got {args.status!r}")
    try:
        db = open_readonly(settings.database_path)
    except DatabaseMissing as exc:
        raise CliError(str(exc)) from None
    if args.output:
        out_path = Path(args.output)
        partial = out_path.with_name(out_path.name + ".partial")
        try:
            with open(partial, "wb") as out:
                count = write_export(db, out, args.format, since=since, status=args.status)
            partial.replace(out_path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CliError(f"cannot write {out_path}: {exc.strerror}") from None
        print(f"exported {count} reports to {out_path}", file=sys.stderr)
    else:
        write_export(db, sys.stdout.buffer, args.format, since=since, status=args.status)
        sys.stdout.flush()
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.checks import all_problems

    problems = all_problems(settings)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("all checks passed: facts, templates, topics and warning signs")
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import DatabaseMissing, open_readonly
    from bot.stats import compute_stats, format_stats_text

    try:
        db = open_readonly(settings.database_path)
    except DatabaseMissing as exc:
        raise CliError(str(exc)) from None
    print(format_stats_text(compute_stats(db)))
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        pages = backup(settings.database_path, Path(args.file))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    print(f"backup written to {args.file} ({pages} pages, integrity ok)")
    return 0


VERBS = {
    "run": cmd_run,
    "chat": cmd_chat,
    "ask": cmd_ask,
    "export": cmd_export,
    "check": cmd_check,
    "stats": cmd_stats,
    "backup": cmd_backup,
}

_TAG = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote|tg-spoiler|span)(\s[^>]*)?>")
_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S)


def html_to_terminal(text: str) -> str:
    """Turns Telegram HTML into plain terminal text (links keep their address)."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _TAG.sub("", text)
    return html.unescape(text)
