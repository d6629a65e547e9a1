"""`python -m bot check`: every problem in facts, templates, topics and warning signs.

Checks that each fact's quote is verbatim in its document; that every message key exists in
every language and compiles; that every answer renders in every language, is HTML Telegram
accepts, and states no number that no fact carries; that context-free texts render; and that the
warning-sign catalogue is complete; and that no word of the matching vocabulary belongs to two
concepts.
"""

from __future__ import annotations

import jinja2

from bot.i18n import Renderer, missing_keys
from bot.knowledge import Knowledge, default_knowledge, numbers_in, validate
from bot.settings import Settings
from bot.telegram_html import html_problems


def template_problems(renderer: Renderer) -> list[str]:
    """Missing keys per language, templates that don't compile, and bad context-free renders."""
    problems = [f"messages/{lang}: missing {key}"
                for lang, keys in sorted(missing_keys(renderer).items()) for key in sorted(keys)]
    for lang in renderer.languages:
        for key in sorted(renderer.keys(lang)):
            try:
                text = renderer.render(lang, key)
            except jinja2.UndefinedError:
                continue  # needs context: rendered with real values by its feature's tests
            except jinja2.TemplateError as exc:
                problems.append(f"messages/{lang}/{key}.j2: {type(exc).__name__}: {exc}")
                continue
            if not key.startswith(("buttons/", "commands/", "plain/")):
                problems += [f"messages/{lang}/{key}.j2: {p}" for p in html_problems(text)]
            elif key.startswith("buttons/") and len(text) > 64:
                problems.append(f"messages/{lang}/{key}.j2: button label over 64 characters")
            elif key.startswith("commands/") and not 1 <= len(text) <= 256:
                problems.append(f"messages/{lang}/{key}.j2: command description must be 1-256 characters")
    return problems


def answer_problems(knowledge: Knowledge, renderer: Renderer) -> list[str]:
    """Every answer in every language: renders, Telegram accepts it, and its numbers are grounded."""
    from bot.questions import answer_topic

    allowed = knowledge.allowed_numbers()
    problems = []
    for lang in renderer.languages:
        for topic_id in knowledge.topics:
            try:
                text = answer_topic(knowledge, renderer, topic_id, lang).text
                renderer.text(lang, f"buttons/topics/{topic_id}")
            except (jinja2.TemplateError, LookupError) as exc:
                problems.append(f"answer {topic_id} ({lang}): {type(exc).__name__}: {exc}")
                continue
            problems += [f"answer {topic_id} ({lang}): {p}" for p in html_problems(text)]
            ungrounded = numbers_in(text) - allowed
            if ungrounded:
                problems.append(f"answer {topic_id} ({lang}): numbers no fact carries: {sorted(ungrounded)}")
    return problems


def all_problems(settings: Settings) -> list[str]:
    knowledge = default_knowledge()
    renderer = Renderer(default_language=settings.default_language)
    problems = validate(knowledge, renderer.languages)
    problems += template_problems(renderer)
    problems += answer_problems(knowledge, renderer)
    from bot.matching import load_vocabulary

    problems += [f"seeds/vocabulary.toml: {form!r} belongs to two concepts" for form in load_vocabulary().conflicts]
    try:
        from bot.signs import validate_catalogue
    except ImportError:
        problems.append("warning signs: bot.signs.validate_catalogue is missing")
    else:
        problems += [f"warning signs: {p}" for p in validate_catalogue(knowledge)]
    return problems
