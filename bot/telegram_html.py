"""What Telegram accepts in HTML parse mode: its small tag set, balanced, and at most 4,096
characters of text once tags are removed."""

from __future__ import annotations

from html.parser import HTMLParser

MAX_TEXT = 4096
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "blockquote", "tg-spoiler", "span", "tg-emoji"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.text_length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> without href")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.problems.append('<span> needs class="tg-spoiler"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text_length += len(data)


def html_problems(text: str) -> list[str]:
    """Returns why Telegram would reject `text` in HTML parse mode (empty when it would accept it)."""
    if not text.strip():
        return ["empty text"]
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems = checker.problems
    if checker.stack:
        problems.append(f"unclosed tags: {checker.stack}")
    if checker.text_length > MAX_TEXT:
        problems.append(f"text is {checker.text_length} characters, over Telegram's {MAX_TEXT}")
    # A bare & or < that isn't markup is rejected by Telegram; html.parser tolerates it, so look.
    stripped = text
    for fragment in ("&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#39;"):
        stripped = stripped.replace(fragment, "")
    if "&" in stripped and any(not _is_entity(part) for part in stripped.split("&")[1:]):
        problems.append("bare & (escape it as &amp;)")
    return problems


def _is_entity(after_ampersand: str) -> bool:
    name, sep, _ = after_ampersand.partition(";")
    return bool(sep) and 0 < len(name) <= 10 and (name.isalnum() or name.startswith("#"))
