"""Matching a free-text question to a topic (placeholder: replaced by the real matcher)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.knowledge import Knowledge
from bot.textnorm import normalize


@dataclass(frozen=True)
class Match:
    topic_id: str | None  # None: not confident, or off-topic
    score: float
    nearest: tuple[str, ...] = field(default_factory=tuple)  # topics to offer as buttons


class Matcher:
    def __init__(self, examples: list[tuple[str, str]]) -> None:
        self._texts = [text for text, _ in examples]
        self._topics = [topic for _, topic in examples]

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge) -> "Matcher":
        return cls([(normalize(example), topic.id) for topic in knowledge.topics.values()
                    for examples in topic.examples.values() for example in examples])

    def match(self, text: str, lang: str | None = None) -> Match:
        results = process.extract(normalize(text), self._texts, scorer=fuzz.token_set_ratio, limit=10)
        nearest = tuple(dict.fromkeys(self._topics[i] for _, _, i in results))[:3]
        if not results or results[0][1] < 75:
            return Match(None, results[0][1] if results else 0.0, nearest)
        return Match(self._topics[results[0][2]], results[0][1], nearest)
