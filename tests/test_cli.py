"""The command line: verbs, one-line errors, exit codes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import html_to_terminal, main

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, env=None, tmp_path=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN_", "WEBHOOK_"))}
    if tmp_path is not None:
        base["DATABASE_PATH"] = str(tmp_path / "bot.db")
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=base,
                          cwd=tmp_path or ROOT, timeout=120)


def test_run_without_token_explains_how_to_get_one_and_exits_2(tmp_path):
    result = run_cli("run", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_configuration_is_one_line_naming_the_variable(tmp_path):
    result = run_cli("ask", "hello", env={"ADMIN_IDS": "12,not-a-number"}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: ADMIN_IDS")
    assert "Traceback" not in result.stderr


def test_ask_prints_an_answer_in_the_question_language(tmp_path):
    result = run_cli("ask", "كم عدد الأردنيين الذين قتلوا؟", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert any("\u0600" <= ch <= "\u06ff" for ch in result.stdout)
    assert "<b>" not in result.stdout


def test_ask_declines_off_topic_questions(tmp_path):
    result = run_cli("ask", "what is the weather in Amman tomorrow?", "--lang", "en", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "don't have verified information" in result.stdout or "not sure" in result.stdout


def test_check_passes_on_the_shipped_catalogues(tmp_path):
    result = run_cli("check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_and_stats_without_a_database_say_so(tmp_path):
    for verb in (["export", "--format", "json"], ["stats"]):
        result = run_cli(*verb, tmp_path=tmp_path)
        assert result.returncode == 2
        assert "no database" in result.stderr and "Traceback" not in result.stderr


def test_unknown_verb_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["fly"])
    assert exited.value.code == 2


def test_html_to_terminal_keeps_text_and_links():
    assert html_to_terminal('<b>Hi</b> &amp; <a href="https://x.org">see</a>') == "Hi & see (https://x.org)"
