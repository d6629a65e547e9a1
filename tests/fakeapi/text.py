"""What a user reads: which script a message is mostly written in."""

from __future__ import annotations

import re

ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
LATIN_LETTER = re.compile(r"[A-Za-z]")


def arabic_share(text: str) -> float:
    """The share of Arabic letters among the Arabic and Latin letters of `text`."""
    arabic = len(ARABIC_LETTER.findall(text))
    latin = len(LATIN_LETTER.findall(text))
    return arabic / max(arabic + latin, 1)
