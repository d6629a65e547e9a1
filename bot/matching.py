"""Matching a free-text question to a topic, or declining honestly.

`Matcher.from_knowledge(knowledge).match(text, lang=None) -> Match(topic_id, score, nearest)`:
`topic_id` is None when the matcher is not confident or the question is off-topic; `nearest` lists
up to three topics to offer as buttons either way. Everything is precomputed when the matcher is
built; a question takes well under 2 ms (bench/matching.py). The language is read from the
question's script, so `lang` (the user's interface language) is not needed.

Reading a question (`Matcher.analyse`):
1. `textnorm.normalize`: Arabic letter forms, diacritics, tatweel, digits; English lower case.
2. Phrases and words of `seeds/vocabulary.toml` become language-neutral concept tokens ("قديش",
   "شكد", "كم", "how many" → ~how_many; "انقتل", "died" → ~killed), so MSA, Jordanian, Iraqi,
   Gulf, Egyptian and English phrasings meet; stop words go; other words become light stems.
3. A word still unknown is tried in more aggressive readings (`textnorm.variants`: particles,
   dialect verb prefixes such as بي/دي/ح, pronoun suffixes), then corrected as a typo towards the
   nearest known word with rapidfuzz (OSA edit distance 1, or 2 from ten letters on; same first
   letter). Readings are cached per word.

Scoring a topic (its examples and keywords in both languages, and its scope line):
- best example: overlap of weighted tokens with each example, as the mean of the share of the
  question the example covers and the share of the example the question covers;
- topic coverage: the share of the question's weight found in the topic, each token counted by how
  many of the topic's examples use it, with saturation (BM25-like);
- fuzzy: rapidfuzz `token_sort_ratio` of the normalised question against the closest examples.
A token's weight mixes its inverse topic frequency with how concentrated it is in few topics
(1 - entropy), times the concept's `weight` from the vocabulary (intent words such as "report" or
"what should I do" count double).

Deciding (`Matcher.match`): a question whose words every topic uses ("Russia?") is too vague; one
that names something else (the Jordanian army, a Jordanian passport, football, the weather:
negative `domain` in the vocabulary) is declined. Otherwise a question with domain evidence
(Russia, army, recruit, war, Ukraine...; or two weaker words such as Jordanians + killed) needs
score - 0.3 × unknown share >= 0.35; a question without any needs to match nearly fully: at most 40%
of its weight unknown and score - 0.6 × unknown share >= 0.5 ("is my report anonymous?" passes,
"teacher salaries in Jordan" does not). A longer question with some domain evidence (Jordanians,
foreigners, a contract) whose known words weigh much (many informative words shared with the topics)
and at most 35% unknown needs score - 0.3 × unknown share >= 0.5. Chat abbreviations (govt, ppl, thru,
ur) and dialect forms are in the vocabulary; so are things a question may name instead (other
destinations, language courses, dishes, permits, worship, currency, utilities) with negative domain. The thresholds were chosen on the topics' examples
(cross-validation), hand-written development questions and the evaluation set.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge import Knowledge
from bot.settings import SEEDS_DIR
from bot.textnorm import is_arabic, normalize, stem, variants

VOCABULARY_PATH = SEEDS_DIR / "vocabulary.toml"

CONCEPT = "~"  # prefix of concept tokens, which no normalised word can start with
_STOP = ""  # what `Matcher._read_word` returns for a stop word

# Scoring (see the module docstring).
W_EXAMPLE, W_TOPIC, W_FUZZY = 0.62, 0.25, 0.13  # best example, topic coverage, fuzzy similarity
Q_SHARE = 0.5  # best example: weight of the question's covered share (the rest: the example's)
ENTROPY_MIX = 0.5  # token weight: share of (log N - entropy), the rest inverse topic frequency
SATURATION = 0.05  # topic coverage: a word used by a share p of the examples counts p / (p + SATURATION)
# Deciding.
ACCEPT = 0.35  # minimum score with domain evidence ...
UNKNOWN_PENALTY = 0.3  # ... after subtracting this times the share of the question left unknown
ACCEPT_WITHOUT_DOMAIN = 0.5  # the same without domain evidence ...
UNKNOWN_PENALTY_WITHOUT_DOMAIN = 0.6
MAX_UNKNOWN = 0.4  # ... where at most this share of the question's weight may be unknown
MARGIN = 0.0  # ... and the best topic must lead the runner-up by this much (a wrong guess and a
# refusal cost the same on the evaluation; the nearest topics are offered when declining anyway)
MIN_INFORMATION = 0.6  # the least total weight of a question's words for an answer
# A longer question with some domain evidence (Jordanians, foreigners, a contract, deception) but not
# enough, whose many informative words the topics know, is about recruitment too ("my friend needs
# money and thinks of going, is it that bad for the foreigners there?"): it is accepted on a plain
# score, like a question with domain evidence, when its known words weigh this much together ...
STRONG_INFORMATION = 8.0
STRONG_EVIDENCE = 0.5  # ... it has at least this much domain evidence ...
STRONG_MAX_UNKNOWN = 0.35  # ... and at most this share of its weight is unknown
NEAREST_MIN = 0.12  # lowest score a topic needs to be offered as a button
NEAREST_COUNT = 3
_FUZZY_LIMIT = 24  # examples compared character by character
_FUZZY_CHARS = 300  # characters of the question compared
_MAX_WORDS = 200  # words of a question read (a question is shorter; this bounds the time)


@dataclass(frozen=True)
class Match:
    topic_id: str | None  # None: not confident, or off-topic
    score: float
    nearest: tuple[str, ...] = field(default_factory=tuple)  # topics to offer as buttons


@dataclass(frozen=True)
class Vocabulary:
    """Stop words, concept forms (words, stems, phrases) and domain weights."""

    stopwords: frozenset[str]
    words: dict[str, str]  # normalised word → concept token
    stems: dict[str, str]  # light stem → concept token (when no two concepts share it)
    phrases: dict[tuple[str, ...], str]  # stems of a phrase's words → concept token ("": stop phrase)
    phrase_index: dict[str, list[tuple[tuple[str, ...], str]]]  # first word's stem → phrases
    domain: dict[str, float]  # concept token → domain weight
    weight: dict[str, float]  # concept token → weight multiplier (intent words decide more)
    conflicts: tuple[str, ...] = ()  # forms claimed by two concepts (the first one wins)


def load_vocabulary(path: Path = VOCABULARY_PATH) -> Vocabulary:
    """Reads the matching vocabulary (stop words, concepts and their domain weights)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    stopwords = {normalize(w) for ws in data.get("stopwords", {}).values() for w in ws}
    stop_phrases = {w for w in stopwords if " " in w}
    stopwords -= stop_phrases
    words: dict[str, str] = {}
    stems: dict[str, str] = {}
    ambiguous_stems: set[str] = set()
    phrases: dict[tuple[str, ...], str] = {}
    domain: dict[str, float] = {}
    weight: dict[str, float] = {}
    conflicts: list[str] = []
    for name, concept in data.get("concepts", {}).items():
        token = CONCEPT + name
        domain[token] = float(concept.get("domain", 0.0))
        if "weight" in concept:
            weight[token] = float(concept["weight"])
        for form in concept.get("forms", []):
            parts = normalize(form).split()
            if not parts:
                continue
            if len(parts) > 1:
                key = tuple(stem(p) for p in parts)
                if phrases.setdefault(key, token) != token:
                    conflicts.append(form)
                continue
            word = parts[0]
            if words.setdefault(word, token) != token:
                conflicts.append(form)
            root = stem(word)
            if len(root) < 3:
                continue
            if stems.get(root, token) != token:
                ambiguous_stems.add(root)
            stems.setdefault(root, token)
    for word, token in list(words.items()):
        # "الخارجية" also stands without its article, as in "للخارجية" once ل is read off.
        if word.startswith("ال") and len(word) > 4 and is_arabic(word) and word[2:] not in stopwords:
            words.setdefault(word[2:], token)
    for phrase in stop_phrases:
        phrases.setdefault(tuple(stem(p) for p in phrase.split()), "")
    for root in ambiguous_stems:
        # A stem two concepts share says nothing; the words themselves still match exactly.
        stems.pop(root, None)
    stopwords -= set(words)
    phrase_index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for parts, token in phrases.items():
        phrase_index.setdefault(parts[0], []).append((parts, token))
    return Vocabulary(frozenset(stopwords), words, stems, phrases, phrase_index, domain, weight, tuple(conflicts))


@dataclass
class _Example:
    topic: str
    tokens: frozenset[str]
    weight: float  # sum of the tokens' IDF
    text: str  # normalised text, for character similarity


_PARTICLES = ("و", "ب", "ل", "ف", "ك")


@lru_cache(maxsize=20_000)
def _phrase_keys(word: str) -> frozenset[str]:
    """The forms under which a word may appear in a phrase: itself, its stem, without a particle."""
    keys = {word, stem(word)}
    if word[:1] in _PARTICLES and len(word) > 3 and is_arabic(word):
        keys.update((word[1:], stem(word[1:])))
    if word.startswith(("عال", "هال")) and len(word) > 5:
        keys.update((word[3:], stem(word[3:])))
    return frozenset(keys)


def _fuzzy_distance(word: str) -> int:
    """The number of typos tolerated in a word of this length (Arabic words are shorter)."""
    if len(word) < (4 if is_arabic(word) else 5):
        return 0
    return 1 if len(word) <= 9 else 2


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


class Matcher:
    def __init__(self, topics: dict[str, list[str]], vocabulary: Vocabulary | None = None) -> None:
        """Builds the index from {topic id: texts (examples and keywords)}."""
        self.vocabulary = vocabulary or load_vocabulary()
        self._cache: dict[str, str | None] = {}
        self._lexicon: dict[str, str] = {}  # known normalised word → its token
        self._known: set[str] = set()  # tokens the topics use
        self._fuzzy_choices: dict[tuple[str, bool], list[str]] = {}
        self._set_lexicon(dict(self.vocabulary.words))
        # First pass: the examples read with the vocabulary alone.
        analysed = {tid: [self.analyse(text) for text in texts] for tid, texts in topics.items()}
        # Second pass: the examples' own words become known too, so that questions meet them in
        # any of their readings, and typos are corrected towards them.
        self._known = {t for items in analysed.values() for toks in items for t in toks}
        lexicon = dict(self.vocabulary.words)
        for texts in topics.values():
            for text in texts:
                for word in normalize(text).split():
                    if word not in lexicon and not word.isdigit():
                        token = self._read_word(word)
                        if token:
                            lexicon[word] = token
        self._cache.clear()
        self._set_lexicon(lexicon)

        n = len(topics)
        df: dict[str, int] = {}
        shares: dict[str, list[float]] = {}
        for items in analysed.values():
            counts: dict[str, int] = {}
            for toks in items:
                for token in set(toks):
                    counts[token] = counts.get(token, 0) + 1
            for token, count in counts.items():
                df[token] = df.get(token, 0) + 1
                shares.setdefault(token, []).append(count / max(1, len(items)))
        self._idf = {}
        for token, d in df.items():
            idf = math.log((n + 1) / (d + 0.5))
            total = sum(shares[token])
            entropy = -sum(x / total * math.log(x / total) for x in shares[token])
            self._idf[token] = (ENTROPY_MIX * (math.log(n + 1) - entropy) + (1 - ENTROPY_MIX) * idf) \
                * self.vocabulary.weight.get(token, 1.0)
        self._unknown_idf = math.log((n + 1) / 1.5)

        self._examples: list[_Example] = []
        self._postings: dict[str, list[int]] = {}
        self._topic_weight: dict[str, dict[str, float]] = {}
        for tid, texts in topics.items():
            counts: dict[str, int] = {}
            for text, toks in zip(texts, analysed[tid]):
                token_set = frozenset(toks)
                if not token_set:
                    continue
                index = len(self._examples)
                self._examples.append(_Example(tid, token_set, sum(self._idf[t] for t in token_set),
                                               normalize(text)))
                for token in token_set:
                    self._postings.setdefault(token, []).append(index)
                    counts[token] = counts.get(token, 0) + 1
            total = max(1, len(texts))
            self._topic_weight[tid] = {t: (c / total) / (c / total + SATURATION) * (1 + SATURATION)
                                      for t, c in counts.items()}
        self._texts = {
            arabic: [i for i, e in enumerate(self._examples) if is_arabic(e.text) == arabic]
            for arabic in (True, False)
        }
        # Words pre-sorted once, so `fuzz.ratio` scores as `token_sort_ratio` would without
        # sorting every example again for every question.
        self._text_choices = {arabic: [_sorted_words(self._examples[i].text) for i in idx]
                              for arabic, idx in self._texts.items()}

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge, vocabulary: Vocabulary | None = None) -> "Matcher":
        topics = {
            topic.id: [text for lang in sorted(set(topic.examples) | set(topic.keywords))
                       for text in (*topic.examples.get(lang, ()), *topic.keywords.get(lang, ()))]
                      + ([topic.scope] if topic.scope else [])
            for topic in knowledge.topics.values()
        }
        return cls(topics, vocabulary)

    # --- reading a text --------------------------------------------------------------------------

    def _set_lexicon(self, lexicon: dict[str, str]) -> None:
        self._lexicon = lexicon
        # Typos rarely touch the first letter: candidates are grouped by it, which is also faster.
        # Four-letter Arabic words are corrected only to vocabulary words, not to example words.
        choices: dict[tuple[str, bool], list[str]] = {}
        for word, token in lexicon.items():
            # Never "correct" a word into something unrelated (a negative domain): too unsure.
            if len(word) >= 4 and self.vocabulary.domain.get(token, 0.0) >= 0:
                choices.setdefault((word[0], len(word) > 4 or word in self.vocabulary.words), []).append(word)
        self._fuzzy_choices = choices

    def analyse(self, text: str) -> list[str]:
        """Returns the tokens of `text`: concept tokens, stems of other words, in order."""
        words = normalize(text).split()[:_MAX_WORDS]
        keys = [_phrase_keys(w) for w in words]
        phrases = self.vocabulary.phrase_index
        out: list[str] = []
        i = 0
        while i < len(words):
            token, length = self._phrase_at(keys, i, phrases)
            if token is None:
                token, length = self._word_token(words[i]), 1
            if token:
                out.append(token)
            i += length
        return out

    @staticmethod
    def _phrase_at(keys: list[frozenset[str]], i: int,
                   phrases: dict[str, list[tuple[tuple[str, ...], str]]]) -> tuple[str | None, int]:
        """The longest vocabulary phrase starting at word `i`, as (token, number of words)."""
        best: tuple[str | None, int] = (None, 1)
        for key in keys[i]:
            for parts, token in phrases.get(key, ()):
                n = len(parts)
                if n > best[1] and i + n <= len(keys) and all(parts[j] in keys[i + j] for j in range(1, n)):
                    best = (token, n)
        return best

    def _word_token(self, word: str) -> str | None:
        try:
            return self._cache[word]
        except KeyError:
            pass
        token = self._read_word(word)
        if token is None:
            token = self._typo(word)
        if token is None:
            root = stem(word)
            token = None if root in self.vocabulary.stopwords else root
        elif token == _STOP:
            token = None
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[word] = token
        return token

    def _read_word(self, word: str) -> str | None:
        """The token of a word if it is known one way or another: `_STOP` for a stop word, None
        when unknown."""
        vocab = self.vocabulary
        if word in vocab.words:
            return vocab.words[word]
        if word in vocab.stopwords:
            return _STOP
        if word in self._lexicon:
            return self._lexicon[word]
        if word.isdigit():
            return word
        for candidate in (stem(word), *variants(word)):
            if candidate in vocab.words:
                return vocab.words[candidate]
            if candidate in vocab.stems:
                return vocab.stems[candidate]
            if candidate in vocab.stopwords and word.endswith(candidate):  # only particles read off
                return _STOP
            if candidate in self._known:
                return candidate
        return None

    def _typo(self, word: str) -> str | None:
        limit = _fuzzy_distance(word)
        if not limit:
            return None
        choices = self._fuzzy_choices.get((word[0], True), [])
        if len(word) > 4 or not is_arabic(word):
            choices = choices + self._fuzzy_choices.get((word[0], False), [])
        found = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
        return self._lexicon[found[0]] if found else None

    # --- scoring ---------------------------------------------------------------------------------

    def domain_evidence(self, tokens: list[str] | set[str]) -> float:
        """How strongly the tokens show a question about recruitment into Russia's army."""
        return sum(self.vocabulary.domain.get(t, 0.0) for t in set(tokens))

    def components(self, text: str) -> tuple[set[str], float, dict[str, tuple[float, float, float]]]:
        """Returns (tokens, unknown share, {topic: (best example, topic coverage, fuzzy)})."""
        # A number no example uses says nothing either way ("3000 dollars a month").
        tokens = {t for t in self.analyse(text) if t in self._idf or not t.isdigit()}
        # Something else named (football, a phone) counts as evidence against the domain only.
        scored = {t for t in tokens if self.vocabulary.domain.get(t, 0.0) >= 0}
        if not scored:
            return tokens, 1.0, {}
        idf = {t: self._idf.get(t, self._unknown_idf) for t in scored}
        query_weight = sum(idf.values())
        # The share of the question the topics know nothing about (what it names instead included).
        elsewhere = self._unknown_idf * (len(tokens) - len(scored))
        unknown = (sum(w for t, w in idf.items() if t not in self._idf) + elsewhere) / (query_weight + elsewhere)

        overlap: dict[int, float] = {}
        for token in scored:
            for index in self._postings.get(token, ()):
                overlap[index] = overlap.get(index, 0.0) + idf[token]
        best_example: dict[str, float] = {}
        for index, shared in overlap.items():
            example = self._examples[index]
            value = Q_SHARE * shared / query_weight + (1 - Q_SHARE) * shared / example.weight
            if value > best_example.get(example.topic, 0.0):
                best_example[example.topic] = value

        similar: dict[str, float] = {}
        normalised = normalize(text)[:_FUZZY_CHARS]  # a long pasted text: its start is enough
        arabic = is_arabic(normalised)
        for _, score, position in process.extract(_sorted_words(normalised), self._text_choices[arabic],
                                                  scorer=fuzz.ratio, limit=_FUZZY_LIMIT):
            tid = self._examples[self._texts[arabic][position]].topic
            similar[tid] = max(similar.get(tid, 0.0), score / 100)

        result = {}
        for tid, example_score in best_example.items():
            weights = self._topic_weight[tid]
            coverage = sum(idf[t] * weights.get(t, 0.0) for t in scored) / query_weight
            result[tid] = (example_score, coverage, similar.get(tid, 0.0))
        return tokens, unknown, result

    def scores(self, text: str) -> tuple[dict[str, float], float, set[str]]:
        """Returns ({topic: score}, share of the question's weight that is unknown, tokens)."""
        tokens, unknown, parts = self.components(text)
        return ({tid: W_EXAMPLE * e + W_TOPIC * c + W_FUZZY * f for tid, (e, c, f) in parts.items()},
                unknown, tokens)

    def _information(self, tokens: set[str]) -> float:
        """The total weight of the tokens the topics know (what something else names excluded)."""
        return sum(self._idf[t] for t in tokens if t in self._idf and self.vocabulary.domain.get(t, 0.0) >= 0)

    def match(self, text: str, lang: str | None = None) -> Match:
        """The best topic for `text`, or None with the nearest topics when not confident."""
        scores, unknown, tokens = self.scores(text)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        nearest = tuple(tid for tid, score in ranked[:NEAREST_COUNT] if score >= NEAREST_MIN)
        if not ranked:
            return Match(None, 0.0, nearest)
        best_id, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        evidence = self.domain_evidence(tokens)
        if evidence < 0:  # about something else: the Jordanian army, a Jordanian passport
            confident = False
        elif sum(self._idf.get(t, self._unknown_idf) for t in tokens
                 if self.vocabulary.domain.get(t, 0.0) >= 0) < MIN_INFORMATION:
            confident = False  # only words every topic uses ("Russia?"): too vague to pick one
        elif evidence >= 1.0:
            confident = best - UNKNOWN_PENALTY * unknown >= ACCEPT
        elif (evidence >= STRONG_EVIDENCE and unknown <= STRONG_MAX_UNKNOWN
              and self._information(tokens) >= STRONG_INFORMATION):
            confident = best - UNKNOWN_PENALTY * unknown >= ACCEPT_WITHOUT_DOMAIN
        else:
            confident = (unknown <= MAX_UNKNOWN and best - runner_up >= MARGIN
                         and best - UNKNOWN_PENALTY_WITHOUT_DOMAIN * unknown >= ACCEPT_WITHOUT_DOMAIN)
        return Match(best_id if confident else None, best, nearest)
