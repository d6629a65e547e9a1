"""Text normalisation and light stemming shared by question matching and offer checks.

`normalize(text)`:
  Arabic: diacritics (harakat, tanwin, shadda, sukun, dagger alef, Quranic marks) and tatweel
  removed; alef forms unified (أ إ آ ٱ → ا) and hamza carriers reduced (ؤ → و, ئ → ي); taa
  marbuta → ha (ة → ه); alef maqsura → ya (ى → ي); Persian/Urdu letter variants (ک ی گ چ پ ڤ)
  folded; Arabic-Indic and Persian digits → Western digits; Arabic punctuation to spaces.
  English: lower case, apostrophes dropped ("don't" → "dont", "Russia's" → "russias").
  Both: invisible format characters (zero-width joiners, direction marks) removed, thousands
  separators inside numbers dropped, runs of a letter repeated three times or more
  ("pleeease", "شكراااا") squeezed, punctuation to spaces.

`stem(word)` is a light stemmer for an already normalised word: for Arabic, the conjunction
و, the article with its prefixed particles (ال وال بال كال فال لل) and common suffixes
(ها ان ات ون ين وا يه ه ي ...), in the manner of Larkey's "light10"; for English, plural and
verb endings (-s, -es, -ies, -ing, -ed). `variants(word)` lists further, more aggressive
readings (a single prefixed ب ل ك ف, dialect verb prefixes such as بي/بت/دي/حي, possessive
suffixes) that a caller may try when the plain stem is unknown. `verb_stems(word)` reads a word
as an Arabic verb: without its tense and person prefixes, MSA and dialect (يـ تـ نـ أـ; بـ/مـ
continuous, سـ/حـ/هـ future, دـ Iraqi) and its plural and object or dative endings (ـوا ـو;
ـلك ـني ـنا ...): بيأمنولك → أمن, منرتبلك → رتب, تلتحق → لتحق.
"""

from __future__ import annotations

import re
import unicodedata

_DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
# Zero-width spaces and joiners, direction marks and other invisible format characters: deleted
# rather than turned into spaces, so that they do not split a word in two.
_INVISIBLE = re.compile(r"[\u00AD\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]")
_TRANSLATE = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ؤ": "و", "ئ": "ي",
    "ة": "ه", "ى": "ي",
    "ک": "ك", "ی": "ي", "گ": "ك", "چ": "ج", "پ": "ب", "ڤ": "ف",
    "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
    "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
    "،": " ", "؟": " ", "؛": " ", "٪": " ",
    "’": "", "'": "", "`": "", "ʼ": "", "‘": "",
})
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_REPEATS = re.compile(r"(\D)\1{2,}")
_DIGIT_GROUPS = re.compile(r"(?<=\d)[,٬.](?=\d{3}\b)")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")


def normalize(text: str) -> str:
    """Returns `text` lower-cased and normalised, words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_TRANSLATE).lower()
    text = _DIGIT_GROUPS.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Returns the normalised words of `text`."""
    return normalize(text).split()


def is_arabic(word: str) -> bool:
    """Tells whether `word` contains an Arabic letter."""
    return _ARABIC_LETTER.search(word) is not None


# --- Arabic light stemming -------------------------------------------------------------------

_AR_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "وا", "ين", "يه", "ه", "ي")
# Further readings, tried only when the light stem is unknown (they would over-stem otherwise).
_AR_PARTICLES = ("و", "ف", "ب", "ل", "ك")
_AR_VERB_PREFIXES = ("بي", "بت", "بن", "با", "دي", "دت", "دن", "حي", "حت", "حن", "تي",
                     "سي", "ست", "سن", "سا", "ي", "ت", "ن", "ا", "م")
_AR_PRONOUN_SUFFIXES = ("لهم", "هم", "هن", "كم", "كن", "نا", "ني", "لي", "لك", "له", "ون", "ين", "وا",
                        "تو", "تي", "ت", "ها", "ه", "ك", "و", "ي")


def stem_ar(word: str) -> str:
    """Returns the light stem of a normalised Arabic word (light10-like, ة already ه)."""
    if len(word) > 3 and word.startswith("و"):
        word = word[1:]
    for article in _AR_ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            word = word[len(article):]
            break
    for suffix in _AR_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2 and len(word) > 3:
            word = word[:-len(suffix)]
    return word


def _variants_ar(word: str) -> list[str]:
    bases = [word]
    if word.startswith(("عال", "هال")) and len(word) > 5:  # على + ال ("عالواتس"), هذا + ال ("هالبوت")
        bases.append(word[3:])
    if word.startswith(("بهال", "لهال", "بهل")) and len(word) > 5:  # "بهالموضوع"
        bases.append(word[4:] if word[2] == "ا" else word[3:])
    if (word[:1] in _AR_PARTICLES and len(word) > 3) or (word[:1] == "و" and len(word) == 3):
        bases.append(word[1:])
        if word[1:2] in _AR_PARTICLES and len(word) > 4:
            bases.append(word[2:])
    for base in list(bases):
        for article in _AR_ARTICLES:
            if base.startswith(article) and len(base) - len(article) >= 2:
                bases.append(base[len(article):])
                break
    for base in list(bases):
        for prefix in _AR_VERB_PREFIXES:
            if base.startswith(prefix) and len(base) - len(prefix) >= 3:
                bases.append(base[len(prefix):])
    stripped: list[str] = []
    for base in bases:
        for suffix in _AR_PRONOUN_SUFFIXES:
            if base.endswith(suffix) and len(base) - len(suffix) >= 3:
                shorter = base[:-len(suffix)]
                stripped.append(shorter)
                stripped.extend(shorter[:-len(s)] for s in _AR_PRONOUN_SUFFIXES
                                if shorter.endswith(s) and len(shorter) - len(s) >= 3)
    out = bases + stripped + [stem_ar(base) for base in bases]
    return list(dict.fromkeys(v for v in out if v and v != word))


# --- Arabic verbs ----------------------------------------------------------------------------

_AR_VERB_MOODS = ("ب", "س", "ح", "ه", "د")  # before a person prefix: بيرتب سنرتب حيرتب هيرتب ديرتب
_AR_VERB_PERSONS = ("ي", "ت", "ن", "ا")
_AR_VERB_OBJECTS = ("لكم", "لكن", "لهم", "لهن", "لها", "لنا", "لك", "لي", "له", "كم", "هم", "ها", "نا", "ني",
                    "ك", "ه")
_AR_VERB_PLURALS = ("وا", "ون", "و", "ين")


def verb_stems(word: str) -> frozenset[str]:
    """Returns the stems a normalised Arabic word has if it is a verb with prefixes or endings.

    Only readings that took something off are returned (at least three letters left), so a bare
    noun such as امن "security" is not the verb stem امن "to secure" (يأمن, بيأمنولك are).
    """
    if not word or not is_arabic(word):
        return frozenset()
    ends = {word}
    if word[0] in "وف" and len(word) > 4:
        ends.add(word[1:])
    for form in list(ends):
        for suffix in _AR_VERB_OBJECTS:
            if form.endswith(suffix) and len(form) - len(suffix) >= 3:
                ends.add(form[: -len(suffix)])
    for form in list(ends):
        for suffix in _AR_VERB_PLURALS:
            if form.endswith(suffix) and len(form) - len(suffix) >= 3:
                ends.add(form[: -len(suffix)])
    stems = set(ends)
    for form in ends:
        fronts = [form]
        if form[:1] in _AR_VERB_MOODS and form[1:2] in _AR_VERB_PERSONS and len(form) > 4:
            fronts.append(form[1:])
        if form.startswith("من") and len(form) > 4:  # Levantine منرتب "we arrange"
            fronts.append(form[1:])
        for front in fronts:
            stems.add(front)
            if front[:1] in _AR_VERB_PERSONS and len(front) > 3:
                stems.add(front[1:])
    return frozenset(stem for stem in stems if stem != word and len(stem) >= 3)


# --- English light stemming ------------------------------------------------------------------

_EN_KEEP = {"is", "was", "has", "this", "his", "its", "us", "as", "yes", "news", "series", "bus",
            "gas", "always", "perhaps", "less", "unless", "across", "during", "thing", "nothing",
            "something", "anything", "everything", "bring", "king", "ring", "sing", "spring",
            "string", "wing", "swing", "need", "feed", "seed", "speed", "indeed", "bed", "red",
            "shed", "led", "fled"}
_DOUBLE_END = re.compile(r"([bdfgklmnprtvz])\1$")


def stem_en(word: str) -> str:
    """Returns the light stem of a lower-case English word (plural and verb endings)."""
    if len(word) <= 3 or word in _EN_KEEP or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        word = _undouble(word[:-2])
    return word


def _undouble(word: str) -> str:
    if _DOUBLE_END.search(word) and not word.endswith(("ll", "ss", "zz")):
        return word[:-1]
    return word


def _variants_en(word: str) -> list[str]:
    out = []
    for suffix, repl in (("ers", ""), ("er", ""), ("ly", ""), ("ment", ""), ("ation", ""), ("ion", ""),
                         ("ing", "e"), ("ed", "e"), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[:-len(suffix)] + repl)
            out.append(stem_en(word[:-len(suffix)] + repl))
    return list(dict.fromkeys(v for v in out if v != word))


def stem(word: str) -> str:
    """Returns the light stem of a normalised word, Arabic or English."""
    return stem_ar(word) if is_arabic(word) else stem_en(word)


def variants(word: str) -> list[str]:
    """Returns more aggressive readings of a normalised word, most conservative first."""
    return _variants_ar(word) if is_arabic(word) else _variants_en(word)
