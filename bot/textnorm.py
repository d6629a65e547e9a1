"""Text normalisation shared by question matching and offer checks.

Arabic: diacritics and tatweel removed; alef and hamza forms unified (أ إ آ ٱ → ا, ؤ → و,
ئ → ي); taa marbuta → ha; alef maqsura → ya; Arabic-Indic digits → Western digits.
English: lower case, apostrophes dropped. Both: punctuation to spaces, runs of a letter repeated
three times or more ("pleeease", "شكراااا") squeezed.
"""

from __future__ import annotations

import re
import unicodedata

_DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
_TRANSLATE = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ؤ": "و", "ئ": "ي",
    "ة": "ه", "ى": "ي",
    "ک": "ك", "ی": "ي", "گ": "ك", "چ": "ج", "پ": "ب", "ڤ": "ف",
    "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
    "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
    "،": " ", "؟": " ", "؛": " ", "٪": " ",
    "’": "", "'": "", "`": "",
})
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_REPEATS = re.compile(r"(\D)\1{2,}")
_DIGIT_GROUPS = re.compile(r"(?<=\d)[,٬.](?=\d{3}\b)")


def normalize(text: str) -> str:
    """Returns `text` lower-cased and normalised, words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_TRANSLATE).lower()
    text = _DIGIT_GROUPS.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Returns the normalised words of `text`."""
    return normalize(text).split()
