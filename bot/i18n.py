"""Every user-visible text, rendered from `messages/<lang>/<feature>/<key>.j2`.

Two Jinja environments over the same folders:
- `html`: messages sent with Telegram's HTML parse mode. Autoescaping is always on, so nothing a
  user typed can break or inject markup.
- `text`: plain strings that Telegram shows as they are (button labels, command descriptions,
  file names). Keys under `buttons/` and `commands/` are rendered this way.

The language travels with each call (never a global "current language"); a key missing in a
language falls back to the default language, then English, and `check` lists what is missing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jinja2

from bot.settings import LANGUAGES, MESSAGES_DIR

TELEGRAM_MAX_TEXT = 4096
PLAIN_PREFIXES = ("buttons/", "commands/", "plain/")


class MissingText(LookupError):
    """No template for this key in any language of the fallback chain."""


def _environment(messages_dir: Path, autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(messages_dir)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters["num"] = format_number
    return env


def format_number(value: Any, lang: str = "en") -> str:
    """Formats a number with thousands separators; Western digits, as Jordanian and Iraqi media use."""
    try:
        number = int(str(value).replace(",", ""))
    except ValueError:
        return str(value)
    return f"{number:,}"


class Renderer:
    """Renders message keys in a language, with a fallback chain to the default language."""

    def __init__(self, messages_dir: Path = MESSAGES_DIR, default_language: str = "en",
                 globals: dict[str, Any] | None = None) -> None:
        self.messages_dir = Path(messages_dir)
        self.default_language = default_language
        self._html = _environment(self.messages_dir, autoescape=True)
        self._text = _environment(self.messages_dir, autoescape=False)
        for env in (self._html, self._text):
            env.globals.update(globals or {})

    @property
    def languages(self) -> tuple[str, ...]:
        found = sorted(p.name for p in self.messages_dir.iterdir() if p.is_dir() and not p.name.startswith("_"))
        # Keep the declared order first (English, Arabic), then any added later.
        return tuple([lang for lang in LANGUAGES if lang in found] + [lang for lang in found if lang not in LANGUAGES])

    def _chain(self, lang: str) -> list[str]:
        chain = [lang, self.default_language, "en"]
        return list(dict.fromkeys(chain))

    def _template(self, env: jinja2.Environment, lang: str, key: str) -> tuple[str, jinja2.Template]:
        for candidate in self._chain(lang):
            try:
                return candidate, env.get_template(f"{candidate}/{key}.j2")
            except jinja2.TemplateNotFound:
                continue
        raise MissingText(f"no template {key!r} in {self._chain(lang)}")

    def has(self, lang: str, key: str) -> bool:
        return (self.messages_dir / lang / f"{key}.j2").is_file()

    def keys(self, lang: str) -> set[str]:
        """Returns every message key present in `lang`."""
        root = self.messages_dir / lang
        return {str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.j2")
                if not p.name.startswith("_")}

    def html(self, lang: str, key: str, **context: Any) -> str:
        """Renders a message for Telegram's HTML parse mode (user values escaped)."""
        used, template = self._template(self._html, lang, key)
        return _tidy(template.render(lang=used, **context))

    def text(self, lang: str, key: str, **context: Any) -> str:
        """Renders a plain string (button label, command description): no HTML, no escaping."""
        used, template = self._template(self._text, lang, key)
        return _tidy(template.render(lang=used, **context))

    def render(self, lang: str, key: str, **context: Any) -> str:
        """Renders `key` the way its folder says: plain for buttons and commands, HTML otherwise."""
        if key.startswith(PLAIN_PREFIXES):
            return self.text(lang, key, **context)
        return self.html(lang, key, **context)


_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(rendered: str) -> str:
    # Telegram shows template whitespace literally: no trailing spaces, at most one blank line.
    lines = [line.rstrip() for line in rendered.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


@lru_cache(maxsize=1)
def default_renderer() -> Renderer:
    return Renderer()


def missing_keys(renderer: Renderer, languages: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Returns, per language, the keys that exist in some language but not in it."""
    langs = list(languages or renderer.languages)
    all_keys = set().union(*(renderer.keys(lang) for lang in langs))
    return {lang: all_keys - renderer.keys(lang) for lang in langs if all_keys - renderer.keys(lang)}
