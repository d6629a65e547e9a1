"""Telegram's HTML parse mode, as the fake Bot API server checks it.

`parse_html(text)` returns the plain text a user would see and its entities (offsets in UTF-16
code units, as Telegram counts them), or raises `EntityParseError` with a message shaped like
Telegram's "can't parse entities" errors. It is a little stricter than Telegram on purpose: a
bare `&` or `<` that is not a valid entity or tag is an error here (Telegram sometimes lets one
through), because unescaped user input is exactly the bug these tests should catch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Tag name -> entity type. `span` needs class="tg-spoiler"; `a` becomes a text_link when it has
# an href; `pre` may hold one `code class="language-x"`.
TAGS = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z][A-Za-z0-9]*));")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message follows Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how Telegram measures offsets (and message length)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    entity: dict | None
    start: int  # UTF-16 offset in the output
    byte_offset: int
    children: list[str] = field(default_factory=list)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int) -> tuple[str, int]:
    """Decodes the character entity starting at `text[index] == "&"`; returns (char, end index)."""
    match = _ENTITY.match(text, index)
    if match is None:
        raise EntityParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, index)}")
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in NAMED_ENTITIES:
            raise EntityParseError(
                f"Unsupported HTML entity \"&{name};\" at byte offset {_byte_offset(text, index)}")
        return NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(f"Invalid character entity at byte offset {_byte_offset(text, index)}")
    return chr(code), match.end()


def _unescape_attribute(raw: str, text: str, index: int) -> str:
    out = []
    i = 0
    while i < len(raw):
        if raw[i] == "&":
            char, end = _decode_entity(raw, i)
            out.append(char)
            i = end
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _parse_attributes(text: str, start: int, end: int, tag_offset: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    pos = start
    while pos < end:
        if text[pos:end].strip() in ("", "/"):
            break
        match = _ATTRIBUTE.match(text, pos, end)
        if match is None or match.end() == pos:
            raise EntityParseError(f"Invalid attribute in start tag at byte offset {_byte_offset(text, tag_offset)}")
        name, value = match.group(1).lower(), match.group(2)
        if value is None:
            value = ""
        elif value[0] in "\"'":
            value = value[1:-1]
        attributes[name] = _unescape_attribute(value, text, tag_offset)
        pos = match.end()
    return attributes


def _find_tag_end(text: str, index: int) -> int:
    """Returns the index of the `>` closing the tag that starts at `index`, honouring quotes."""
    quote = None
    for pos in range(index + 1, len(text)):
        char = text[pos]
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == ">":
            return pos
    return -1


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Returns (plain text, entities) for Telegram HTML, or raises `EntityParseError`."""
    out: list[str] = []
    out_len = 0  # UTF-16 units emitted so far
    stack: list[_Open] = []
    entities: list[dict] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, i = _decode_entity(text, i)
            out.append(decoded)
            out_len += utf16_len(decoded)
            continue
        if char != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            chunk = text[i:j]
            out.append(chunk)
            out_len += utf16_len(chunk)
            i = j
            continue
        # A tag.
        end = _find_tag_end(text, i)
        if end < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
        if text.startswith("</", i):
            match = _TAG_NAME.match(text, i + 2, end)
            name = match.group(0).lower() if match else ""
            rest = text[match.end() if match else i + 2:end]
            if not name or rest.strip():
                raise EntityParseError(f"Expected end tag at byte offset {_byte_offset(text, i)}")
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            top = stack[-1]
            if top.name != name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f"expected \"</{top.name}>\", found \"</{name}>\"")
            stack.pop()
            if top.entity is not None and out_len > top.start:
                top.entity["offset"] = top.start
                top.entity["length"] = out_len - top.start
                entities.append(top.entity)
            if stack:
                stack[-1].children.append(name)
            i = end + 1
            continue
        match = _TAG_NAME.match(text, i + 1, end)
        name = match.group(0).lower() if match else ""
        if not name or name not in TAGS:
            raise EntityParseError(f"Unsupported start tag \"{name}\" at byte offset {_byte_offset(text, i)}")
        attributes = _parse_attributes(text, match.end(), end, i)
        if text[match.end():end].rstrip().endswith("/"):
            raise EntityParseError(f"Unsupported start tag \"{name}/\" at byte offset {_byte_offset(text, i)}")
        entity: dict | None = {"type": TAGS[name]}
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f"Tag \"span\" must have class \"tg-spoiler\" at byte offset {_byte_offset(text, i)}")
        if name == "a":
            href = attributes.get("href")
            entity = {"type": "text_link", "url": href} if href else None
            if href and not re.match(r"^(https?://|tg://|mailto:)", href, re.IGNORECASE):
                raise EntityParseError(f"Unsupported URL \"{href}\" in tag \"a\" at byte offset {_byte_offset(text, i)}")
        elif name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise EntityParseError(f"Tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset {_byte_offset(text, i)}")
            entity = {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        elif name == "blockquote" and "expandable" in attributes:
            entity = {"type": "expandable_blockquote"}
        elif name == "code" and stack and stack[-1].name == "pre":
            language = attributes.get("class", "")
            if language.startswith("language-") and stack[-1].entity is not None:
                stack[-1].entity["language"] = language[len("language-"):]
        if stack and stack[-1].name in ("code", "pre") and not (stack[-1].name == "pre" and name == "code"):
            raise EntityParseError(
                f"Tag \"{name}\" is not allowed inside \"{stack[-1].name}\" at byte offset {_byte_offset(text, i)}")
        stack.append(_Open(name, entity, out_len, _byte_offset(text, i)))
        i = end + 1
    if stack:
        raise EntityParseError(f"Can't find end tag corresponding to start tag \"{stack[-1].name}\"")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Trims surrounding whitespace the way Telegram does, moving and clipping entities."""
    lead = text[: len(text) - len(text.lstrip())]
    stripped = text.strip()
    shift = utf16_len(lead)
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            result.append(dict(entity, offset=start, length=end - start))
    return stripped, result
