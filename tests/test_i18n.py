"""Texts: every key in every language, rendered safely for Telegram's HTML parse mode."""

from bot.checks import template_problems
from bot.i18n import Renderer, missing_keys
from bot.telegram_html import html_problems


def test_every_text_exists_in_every_language():
    renderer = Renderer()
    missing = missing_keys(renderer)
    assert missing == {}, "texts missing per language: " + "; ".join(
        f"{lang}: {', '.join(sorted(keys))}" for lang, keys in missing.items())


def test_every_context_free_text_renders_as_telegram_html():
    assert template_problems(Renderer()) == []


def test_user_text_is_escaped(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "echo.j2").write_text("You said: <b>{{ said }}</b>\n")
    renderer = Renderer(tmp_path)
    text = renderer.html("en", "echo", said='<script>&"x"</b>')
    assert text == "You said: <b>&lt;script&gt;&amp;&#34;x&#34;&lt;/b&gt;</b>"
    assert html_problems(text) == []


def test_missing_language_falls_back_to_default(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "ar").mkdir()
    (tmp_path / "en" / "only.j2").write_text("English only\n")
    renderer = Renderer(tmp_path, default_language="en")
    assert renderer.html("ar", "only") == "English only"
    assert missing_keys(renderer) == {"ar": {"only"}}


def test_html_checker_rejects_what_telegram_rejects():
    assert html_problems("<b>ok</b> &amp; fine") == []
    assert html_problems("<div>x</div>")
    assert html_problems("<b>unclosed")
    assert html_problems("a & b")
    assert html_problems("x" * 4097)
    assert html_problems("   ")
