"""Warning signs of military recruitment in an offer: the catalogue, matching, contacts, verdict.

The signs are data (`seeds/signs.toml`): per sign, patterns in English and Arabic, the facts that
explain it, a label and a reason per language. `Catalogue.check(text)` finds the signs in a text,
most serious first; `find_contacts(text)` lists the handles, phone numbers, links and emails in
it; `verdict(signs)` words the result with care (a check can't prove anything either way);
`looks_like_offer(...)` tells a pasted offer from a question. Checks kept in memory for the
"report it" button live in `remember_check`/`recall_check` (nothing here touches the database).

Text is normalised as for question matching (`bot.textnorm.normalize`); a phrase pattern matches
word by word, ignoring Arabic prefixes (و ف ب ل ك ال) and pronoun endings, English plural -s,
and one typo in long words (rapidfuzz). A pattern word written "~stem" is an Arabic verb: it matches
the stem under tense and person prefixes, MSA and dialect, and plural and object endings
(`bot.textnorm.verb_stems`: "~امن" matches يأمن, بيأمنولك, منأمنلك but not the noun أمن).
"""

from __future__ import annotations

import re
import secrets
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, MutableMapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge import Knowledge, numbers_in
from bot.settings import LANGUAGES, SEEDS_DIR
from bot.textnorm import normalize, verb_stems

CATALOGUE_PATH = SEEDS_DIR / "signs.toml"
GROUPS = ("military", "place", "benefit", "arrangement", "lure", "pressure")
GAP = 5  # how many words "*" in a phrase pattern may stand for
MAX_TEXT = 12_000  # longer texts are checked on their start (Telegram's own limit is 4,096)

# Verdicts, from `verdict()`.
LIKELY = "likely"  # "it may be a recruitment attempt"
SOME = "some"  # signs found, but not the combination recruitment offers show
NONE = "none"  # no sign found (which does not make an offer safe)


# --- the catalogue ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    source: str  # as written in the catalogue
    kind: str  # "words", "re" (normalised text) or "raw" (the text as sent)
    words: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Sign:
    id: str
    severity: int
    group: str
    facts: tuple[str, ...]
    label: dict[str, str]
    reason: dict[str, str]
    patterns: dict[str, tuple[Pattern, ...]]
    exclude: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Hit:
    sign: Sign
    evidence: str  # what matched, for tests and debugging (never shown to users)


@dataclass(frozen=True)
class Catalogue:
    signs: tuple[Sign, ...]  # most serious first
    no_fuzzy: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()  # what could not be loaded (bad regex, missing fields)
    _vocabulary: frozenset[str] = field(default=frozenset(), repr=False)
    _fuzzy_targets: tuple[str, ...] = field(default=(), repr=False)

    def get(self, sign_id: str) -> Sign | None:
        return next((sign for sign in self.signs if sign.id == sign_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sign.id for sign in self.signs)

    def check(self, text: str) -> list[Hit]:
        """Returns the signs found in `text`, most serious first, each with what matched."""
        prepared = prepare(text)
        normalised = normalize(prepared)
        raw = prepared.translate(_DIGITS)
        cache: dict[str, frozenset[str]] = {}
        plain = self._positions(normalised.split(), cache)
        hits = []
        for sign in self.signs:
            words, positions = normalised, plain
            if sign.exclude:
                for regex in sign.exclude:
                    words = regex.sub(" ", words)
                if words != normalised:
                    positions = self._positions(words.split(), cache)
            evidence = _first_match(sign, words, positions, raw)
            if evidence is not None:
                hits.append(Hit(sign, evidence))
        return hits

    def sign_ids(self, text: str) -> list[str]:
        """Returns the ids of the signs found in `text`, most serious first."""
        return [hit.sign.id for hit in self.check(text)]

    def _positions(self, words: list[str], cache: dict[str, frozenset[str]]) -> list[frozenset[str]]:
        """For each word of the text, the pattern words it stands for."""
        out = []
        for word in words:
            if word not in cache:
                cache[word] = self._pattern_words(word)
            out.append(cache[word])
        return out

    def _pattern_words(self, word: str) -> frozenset[str]:
        forms = word_forms(word)
        verbs = {VERB + stem for stem in verb_stems(word)} & self._vocabulary
        exact = forms & self._vocabulary
        if exact or word in self.no_fuzzy or not word.isalpha():
            return frozenset(exact | verbs | {word})
        found = set(forms) | verbs
        for form in forms:
            if len(form) < 5 or form in self.no_fuzzy:
                continue
            for target, distance, _ in process.extract(form, self._fuzzy_targets, scorer=OSA.distance,
                                                       score_cutoff=2, limit=None):
                if target[0] == form[0] and distance <= _typos_allowed(form, target):
                    found.add(target)
        return frozenset(found)


def _typos_allowed(form: str, target: str) -> int:
    """One typo in words of six letters or more, two from nine (Arabic: see below)."""
    longest = max(len(form), len(target))
    if form.isascii():
        return 2 if min(len(form), len(target)) >= 9 else 1 if longest >= 6 else 0
    # Arabic: a letter missing or doubled only. Swapping one letter for another (often only its
    # dots) makes another word too easily: بالباص "by bus" is not بالخاص "in private".
    return 1 if min(len(form), len(target)) >= 5 and longest >= 6 and len(form) != len(target) else 0


def _first_match(sign: Sign, normalised: str, positions: list[frozenset[str]], raw: str) -> str | None:
    for lang in sign.patterns:
        for pattern in sign.patterns[lang]:
            if pattern.kind == "words":
                start = _find_words(pattern.words, positions)
                if start is not None:
                    return pattern.source
            elif pattern.kind == "re" and pattern.regex is not None:
                match = pattern.regex.search(normalised)
                if match:
                    return match.group(0)
            elif pattern.kind == "raw" and pattern.regex is not None:
                match = pattern.regex.search(raw)
                if match:
                    return match.group(0)
    return None


def _find_words(words: tuple[str, ...], positions: list[frozenset[str]]) -> int | None:
    """Returns where the phrase `words` starts in the text, or None."""
    for start, here in enumerate(positions):
        if words[0] in here and _rest_matches(words, 1, positions, start + 1):
            return start
    return None


def _rest_matches(words: tuple[str, ...], k: int, positions: list[frozenset[str]], at: int) -> bool:
    if k == len(words):
        return True
    if words[k] == "*":
        return any(_rest_matches(words, k + 1, positions, at + skip) for skip in range(GAP + 1))
    return at < len(positions) and words[k] in positions[at] and _rest_matches(words, k + 1, positions, at + 1)


# --- words ----------------------------------------------------------------------------------

_SUFFIXES = ("كم", "هم", "ها", "نا", "ك", "ه")
_DOUBLED = re.compile(r"(.)\1")


def _strip_article(word: str) -> str:
    return word[2:] if word.startswith("ال") and len(word) > 4 else word


def word_forms(word: str) -> frozenset[str]:
    """The forms a text word may stand for: without Arabic prefixes and endings, plural -s."""
    if not word or word.isdigit():
        return frozenset({word})
    if word.isascii():
        forms = {word}
        if len(word) > 4 and word.endswith("s"):
            forms.add(word[:-1])
            if word.endswith("es") and len(word) > 5:
                forms.add(word[:-2])
        return frozenset(forms)
    forms = {word, _DOUBLED.sub(r"\1", word)}
    for form in list(forms):
        if form[0] in "وف" and len(form) > 2:
            forms.add(form[1:])
    for form in list(forms):
        if form.startswith("عال") and len(form) > 4:
            forms.add(form[1:])
        if form.startswith("لل") and len(form) > 4:
            forms.add("ال" + form[2:])
        if form[0] in "بلك" and len(form) > 3:
            forms.add(form[1:])
    forms |= {_strip_article(form) for form in forms}
    for form in list(forms):
        for suffix in _SUFFIXES:
            if form.endswith(suffix) and len(form) - len(suffix) >= 3:
                stem = form[: -len(suffix)]
                forms.add(stem)
                if stem.endswith("ت"):  # جنسيتك: the taa marbuta of جنسية before an ending
                    forms.add(stem[:-1] + "ه")
    return frozenset(forms)


VERB = "~"  # marks a pattern word that stands for an Arabic verb stem


def pattern_words(phrase: str) -> tuple[str, ...]:
    """The words of a phrase pattern as the matcher compares them (normalised, no article).

    A verb ("~stem") keeps its mark and is normalised without losing letters to the article.
    """
    parts = re.split(r"\s*\*\s*", phrase.strip())
    words: list[str] = []
    for i, part in enumerate(parts):
        if i:
            words.append("*")
        for written in part.split():
            if written.startswith(VERB):
                stem = normalize(written[len(VERB):])
                words.append(VERB + stem if stem and " " not in stem else "")
            else:
                words += [_strip_article(w) for w in normalize(written).split()]
    return tuple(words)


# Bidirectional controls, zero-width characters: they hide inside copied Arabic text.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_CURRENCY = str.maketrans({"$": " usd ", "₽": " rub ", "€": " eur "})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def prepare(text: str) -> str:
    """Returns `text` cut to a sane length, without invisible characters, currency signs as words."""
    return _INVISIBLE.sub("", text[:MAX_TEXT]).translate(_CURRENCY)


# --- loading --------------------------------------------------------------------------------

def _compile(source: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(source, flags)


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Reads the catalogue; what can't be used is skipped and listed in `problems`."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return Catalogue(signs=(), problems=(f"{path.name}: {exc}",))
    problems: list[str] = []
    signs: list[Sign] = []
    for index, raw in enumerate(data.get("signs", [])):
        sign_id = str(raw.get("id", f"#{index + 1}"))
        patterns: dict[str, tuple[Pattern, ...]] = {}
        for lang, sources in dict(raw.get("patterns", {})).items():
            compiled = []
            for source in sources:
                try:
                    compiled.append(_pattern(str(source)))
                except (re.error, ValueError) as exc:
                    problems.append(f"sign {sign_id}: pattern {source!r} ({lang}): {exc}")
            patterns[lang] = tuple(compiled)
        exclude = []
        for source in raw.get("exclude", []):
            try:
                exclude.append(_compile(str(source)))
            except re.error as exc:
                problems.append(f"sign {sign_id}: exclude {source!r}: {exc}")
        try:
            severity = int(raw.get("severity"))
        except (TypeError, ValueError):
            problems.append(f"sign {sign_id}: severity must be an integer")
            severity = 0
        signs.append(Sign(
            id=sign_id, severity=severity, group=str(raw.get("group", "")),
            facts=tuple(raw.get("facts", [])), label=dict(raw.get("label", {})),
            reason=dict(raw.get("reason", {})), patterns=patterns, exclude=tuple(exclude),
        ))
    # Stable sort: signs of equal severity keep the catalogue's order.
    signs.sort(key=lambda sign: -sign.severity)
    vocabulary = {word for sign in signs for group in sign.patterns.values() for p in group
                  for word in p.words if word != "*"}
    no_fuzzy = frozenset(normalize(word) for word in data.get("matching", {}).get("no_fuzzy", []))
    targets = tuple(sorted(word for word in vocabulary if len(word) >= 5 and word.isalpha()))
    return Catalogue(signs=tuple(signs), no_fuzzy=no_fuzzy, problems=tuple(problems),
                     _vocabulary=frozenset(vocabulary), _fuzzy_targets=targets)


def _pattern(source: str) -> Pattern:
    if source.startswith("re:"):
        return Pattern(source, "re", regex=_compile(source[3:]))
    if source.startswith("raw:"):
        return Pattern(source, "raw", regex=_compile(source[4:], re.IGNORECASE))
    words = pattern_words(source)
    if not words or words[0] == "*" or words[-1] == "*" or "" in words:
        raise ValueError("a phrase needs words, and '*' only between words")
    return Pattern(source, "words", words=words)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()


def validate_catalogue(knowledge: Knowledge, catalogue: Catalogue | None = None,
                       languages: tuple[str, ...] = LANGUAGES) -> list[str]:
    """Returns every problem in the warning-sign catalogue (empty when all is well).

    Every sign needs a unique id, a known group, patterns that compile in every language, a label
    and a reason in every language, and facts that exist; a reason may state no number its facts
    don't carry.
    """
    catalogue = catalogue or load_catalogue()
    problems = list(catalogue.problems)
    if not catalogue.signs and not problems:
        problems.append("no signs in the catalogue")
    seen: set[str] = set()
    for sign in catalogue.signs:
        where = f"sign {sign.id}"
        if sign.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(sign.id)
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", sign.id):
            problems.append(f"{where}: id must be lower-case ASCII letters, digits and _")
        if sign.group not in GROUPS:
            problems.append(f"{where}: group {sign.group!r} is not one of {', '.join(GROUPS)}")
        if not sign.facts:
            problems.append(f"{where}: no facts explain it")
        allowed: set[int] = set()
        for fact_id in sign.facts:
            fact = knowledge.facts.get(fact_id)
            if fact is None:
                problems.append(f"{where}: unknown fact {fact_id!r}")
                continue
            allowed |= numbers_in(fact.quote)
        for lang in languages:
            if not sign.patterns.get(lang):
                problems.append(f"{where}: no patterns in {lang}")
            if not str(sign.label.get(lang, "")).strip():
                problems.append(f"{where}: no label in {lang}")
            reason = str(sign.reason.get(lang, "")).strip()
            if not reason:
                problems.append(f"{where}: no reason in {lang}")
            elif numbers_in(reason) - allowed:
                problems.append(f"{where}: reason in {lang} states numbers its facts don't carry: "
                                f"{sorted(numbers_in(reason) - allowed)}")
    return problems


# --- the verdict ----------------------------------------------------------------------------

def verdict(catalogue: Catalogue, sign_ids: Iterable[str]) -> str:
    """Returns LIKELY, SOME or NONE for the signs found.

    LIKELY ("it may be a recruitment attempt") when the signs combine as recruitment offers do:
    - a military sign with anything but pressure (a second military sign, Russia, a benefit, an
      arrangement, a lure);
    - Russia or an occupied region with a benefit (citizenship, land, large pay) and at least two
      benefits, arrangements or lures in all;
    - Russia with both a tourist visa and everything arranged (what Iraqi officials describe).
    Urgency and private contact alone never make an offer LIKELY: ordinary ads have them too.
    """
    groups: dict[str, int] = {}
    ids = list(dict.fromkeys(sign_ids))
    for sign_id in ids:
        sign = catalogue.get(sign_id)
        if sign is not None:
            groups[sign.group] = groups.get(sign.group, 0) + 1
    if not ids:
        return NONE
    military = groups.get("military", 0)
    place = groups.get("place", 0)
    benefit = groups.get("benefit", 0)
    arrangement = groups.get("arrangement", 0)
    lure = groups.get("lure", 0)
    if military and (military >= 2 or place or benefit or arrangement or lure):
        return LIKELY
    if place and benefit and benefit + arrangement + lure >= 2:
        return LIKELY
    if place and arrangement >= 2:
        return LIKELY
    return SOME


@dataclass(frozen=True)
class CheckResult:
    signs: tuple[Sign, ...]  # most serious first
    contacts: tuple[str, ...]
    verdict: str  # LIKELY, SOME or NONE

    @property
    def sign_ids(self) -> list[str]:
        return [sign.id for sign in self.signs]


def check_offer(catalogue: Catalogue, text: str, extra_links: Iterable[str] = ()) -> CheckResult:
    """Checks an offer: its warning signs, the contacts it carries, and the verdict."""
    signs = tuple(hit.sign for hit in catalogue.check(text))
    return CheckResult(signs=signs, contacts=tuple(find_contacts(text, extra_links)),
                       verdict=verdict(catalogue, [sign.id for sign in signs]))


# --- is it an offer? ------------------------------------------------------------------------

LONG_TEXT = 200
_QUESTION_START = frozenset(normalize(w) for w in (
    "what", "how", "why", "is", "are", "can", "could", "should", "do", "does", "did", "who", "where",
    "when", "which", "will", "would", "tell", "explain",
    "هل", "كيف", "ماذا", "ما", "لماذا", "ليش", "ليه", "شو", "ايش", "إيش", "وين", "كم", "مين", "شلون",
    "اشلون", "ازاي", "إزاي", "متى", "امتى", "أين", "اين", "قديش", "اديش", "كديش", "شقد", "بكم", "ايش",
))


def is_question(text: str) -> bool:
    """Tells whether `text` reads like a question (starts with a question word or ends with ?)."""
    stripped = text.strip()
    words = normalize(stripped).split()
    return bool(stripped) and (stripped[-1] in "?؟" or (bool(words) and words[0] in _QUESTION_START))


def looks_like_offer(text: str, sign_count: int, contact_count: int) -> bool:
    """Tells whether a pasted text reads like an offer to check rather than a question.

    A long text (over 200 characters) with a sign or a contact; a shorter one with two signs and a
    contact, or three signs and a number (offers state pay and dates; keyword queries such as
    "tourist visa Russia recruitment" don't). A short question is never an offer; a long one
    needs two signs or a contact.
    """
    long = len(text.strip()) > LONG_TEXT
    if is_question(text):
        return long and (sign_count >= 2 or contact_count > 0)
    if long:
        return sign_count >= 1 or contact_count > 0
    has_number = any(ch.isdigit() for ch in text)
    return (sign_count >= 2 and contact_count > 0) or (sign_count >= 3 and has_number)


def could_be_offer(text: str) -> bool:
    """A cheap first look: False when `looks_like_offer` must say no whatever the signs.

    A short text that is a question is never an offer; nor is a short one with no digit and
    nothing a contact could be made of (handles and emails need "@", links "." or "/", phones
    digits). Most questions stop here without the full sign check.
    """
    if len(text.strip()) > LONG_TEXT:
        return True
    if is_question(text):
        return False
    return any(ch.isdigit() for ch in text) or any(mark in text for mark in "@./")


# --- contacts -------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_TELEGRAM_LINK = re.compile(r"(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:joinchat/|\+)?[\w\-+/]+", re.IGNORECASE)
_LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'«»]+"
    r"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|ru|su|me|io|info|biz|online|site|xyz|jo|iq|eg|sa|ae|de|eu|uk|co|app|link|ly)"
    r"(?:/[^\s<>\"'«»]*)?(?![\w.-]*[a-z0-9])",
    re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@./])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@])")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d \-.()\u00a0]{5,20}\d(?![\w])")
_TRAILING = ".,;:!?)]}»،؛؟'\""


def find_contacts(text: str, extra_links: Iterable[str] = ()) -> list[str]:
    """Returns the Telegram handles, phone numbers, links and emails in `text`, without repeats.

    Phone numbers come out as `+` and digits when they have a country code (`00` becomes `+`),
    else as the digits written; Arabic-Indic digits are read as digits. `extra_links` are links
    the message carries outside its text (Telegram's hidden text links).
    """
    text = _INVISIBLE.sub("", text[:MAX_TEXT]).translate(_DIGITS)
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, value: str) -> None:
        taken.append((start, end))
        found.append((start, value))

    def free(start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in taken)

    for match in _EMAIL.finditer(text):
        add(match.start(), match.end(), match.group(0).rstrip(_TRAILING))
    for match in _TELEGRAM_LINK.finditer(text):
        if free(match.start(), match.end()):
            add(match.start(), match.end(), match.group(0).rstrip(_TRAILING))
    for match in _LINK.finditer(text):
        if free(match.start(), match.end()):
            add(match.start(), match.end(), match.group(0).rstrip(_TRAILING))
    for match in _HANDLE.finditer(text):
        if free(match.start(), match.end()):
            add(match.start(), match.end(), "@" + match.group(1))
    for match in _PHONE.finditer(text):
        if free(match.start(), match.end()):
            phone = _phone(match.group(0))
            if phone:
                add(match.start(), match.end(), phone)
    values = [value for _, value in sorted(found)] + [link.strip() for link in extra_links if link.strip()]
    seen: set[str] = set()
    unique = []
    for value in values:
        key = value.lower().removeprefix("https://").removeprefix("http://")
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


def _phone(written: str) -> str | None:
    """Returns a phone number as `+digits` or `0digits`, or None when it isn't one."""
    digits = re.sub(r"\D", "", written)
    international = written.startswith("+") or written.startswith("00")
    if written.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        return None
    if international:
        return "+" + digits
    # Without a country code, only a number written the way local phone numbers are (a leading 0,
    # or nine digits and more) counts: "1 500 000 rubles" is money, "2025-2026" a range of years.
    if digits.startswith("0") or len(digits) >= 9 and not re.search(r"\d[ .]\d{3}[ .]\d{3}\b", written):
        return digits
    return None


# --- checks kept in memory ------------------------------------------------------------------

CHECKS_KEY = "offer_checks"
CHECK_TTL = 3600.0  # seconds a check stays available to "report it"
MAX_CHECKS = 2000


def remember_check(memory: MutableMapping[str, Any], *, user_key: str, text: str, signs: list[str],
                   contacts: list[str], forward_origin_type: str | None, forward_origin: str | None,
                   language: str, now: float | None = None) -> str:
    """Keeps a check in memory (never on disk) so "report it" can pre-fill the report.

    Returns the check id (a short random token). Entries older than an hour are dropped, and the
    oldest go first when there are too many.
    """
    now = time.monotonic() if now is None else now
    checks: dict[str, dict[str, Any]] = memory.setdefault(CHECKS_KEY, {})
    prune_checks(memory, now)
    while len(checks) >= MAX_CHECKS:
        checks.pop(next(iter(checks)))
    check_id = secrets.token_urlsafe(8)
    while check_id in checks:
        check_id = secrets.token_urlsafe(8)
    checks[check_id] = {
        "user_key": user_key,
        "text": text,
        "signs": list(signs),
        "contacts": list(contacts),
        "forward_origin_type": forward_origin_type,
        "forward_origin": forward_origin,
        "language": language,
        "created_at": now,
    }
    return check_id


def recall_check(memory: Mapping[str, Any], check_id: str, user_key: str | None = None,
                 now: float | None = None) -> dict[str, Any] | None:
    """Returns a check kept in memory, if it is still there (and belongs to `user_key`, if given)."""
    now = time.monotonic() if now is None else now
    entry = memory.get(CHECKS_KEY, {}).get(check_id)
    if entry is None or now - entry["created_at"] > CHECK_TTL:
        return None
    if user_key is not None and entry["user_key"] != user_key:
        return None
    return entry


def forget_check(memory: MutableMapping[str, Any], check_id: str, user_key: str) -> bool:
    """Drops a check the user dismissed; returns whether there was one."""
    checks = memory.get(CHECKS_KEY, {})
    entry = checks.get(check_id)
    if entry is None or entry["user_key"] != user_key:
        return False
    del checks[check_id]
    return True


def prune_checks(memory: MutableMapping[str, Any], now: float | None = None) -> None:
    """Drops the checks older than an hour."""
    now = time.monotonic() if now is None else now
    checks = memory.get(CHECKS_KEY, {})
    for check_id in [k for k, v in checks.items() if now - v["created_at"] > CHECK_TTL]:
        del checks[check_id]


PENDING_KEY = "offer_pending"
PENDING_TTL = 900.0  # seconds a pasted text waits for its Yes/No


def hold_pasted(memory: MutableMapping[str, Any], user_key: str, text: str, links: list[str],
                now: float | None = None) -> str:
    """Keeps a pasted text (one per user, in memory) until the user says whether to check it.

    Returns the token its Yes/No buttons carry. Texts nobody answered are dropped after 15 minutes.
    """
    now = time.monotonic() if now is None else now
    pending: dict[str, dict[str, Any]] = memory.setdefault(PENDING_KEY, {})
    for key in [k for k, v in pending.items() if now - v["created_at"] > PENDING_TTL]:
        del pending[key]
    token = secrets.token_urlsafe(6)
    pending[user_key] = {"token": token, "text": text, "links": list(links), "created_at": now}
    return token


def take_pasted(memory: MutableMapping[str, Any], user_key: str, token: str,
                now: float | None = None) -> dict[str, Any] | None:
    """Returns and forgets the user's pasted text if `token` is its current one and still fresh."""
    now = time.monotonic() if now is None else now
    pending = memory.get(PENDING_KEY, {})
    entry = pending.get(user_key)
    if entry is None or entry["token"] != token:
        return None
    del pending[user_key]
    return entry if now - entry["created_at"] <= PENDING_TTL else None
