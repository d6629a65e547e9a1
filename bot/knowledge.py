"""The knowledge the bot may state: source documents, the facts catalogue and the topics.

`seeds/facts.toml` holds the documents and the facts: each fact quotes its document verbatim
and carries the values (numbers, names, dates, places) an answer may use. `seeds/topics.toml`
holds the topics questions are matched to. Both are read with the standard library's `tomllib`;
`validate()` lists every problem (the `check` verb and the tests use it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bot.settings import LANGUAGES, SEEDS_DIR


@dataclass(frozen=True)
class Document:
    id: str
    path: Path
    title: dict[str, str]  # per language
    text: str


@dataclass(frozen=True)
class Fact:
    id: str
    document: str
    quote: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Topic:
    id: str
    scope: str
    facts: tuple[str, ...]
    menu: bool
    examples: dict[str, tuple[str, ...]]
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Knowledge:
    documents: dict[str, Document]
    facts: dict[str, Fact]
    topics: dict[str, Topic]

    @cached_property
    def fact_values(self) -> dict[str, dict[str, Any]]:
        """{fact id: values}, the way templates see facts (`facts.<id>.<name>`); built once."""
        return {fact.id: dict(fact.values, quote=fact.quote, document=fact.document)
                for fact in self.facts.values()}

    def documents_for(self, fact_ids: tuple[str, ...] | list[str]) -> list[Document]:
        """Returns the documents the given facts come from, in first-use order, without repeats."""
        seen: dict[str, Document] = {}
        for fact_id in fact_ids:
            fact = self.facts.get(fact_id)
            if fact and fact.document in self.documents:
                seen.setdefault(fact.document, self.documents[fact.document])
        return list(seen.values())

    def allowed_numbers(self) -> set[int]:
        """Returns every number some fact carries (in its values), for the grounding check."""
        numbers: set[int] = set()
        for fact in self.facts.values():
            for value in _flatten(fact.values):
                numbers.update(numbers_in(str(value)))
        return numbers


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flatten(item)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flatten(item)]
    return [value]


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d+(?:[,٬]\d{3})*")


def numbers_in(text: str) -> set[int]:
    """Returns the numbers written with digits in `text` (Arabic-Indic digits included)."""
    text = text.translate(_ARABIC_DIGITS)
    return {int(re.sub(r"[,٬]", "", match)) for match in _NUMBER.findall(text)}


def load_knowledge(seeds_dir: Path = SEEDS_DIR) -> Knowledge:
    """Reads documents, facts and topics from `seeds_dir`."""
    with open(seeds_dir / "facts.toml", "rb") as f:
        catalogue = tomllib.load(f)
    with open(seeds_dir / "topics.toml", "rb") as f:
        topics_data = tomllib.load(f)
    documents = {}
    for doc in catalogue.get("documents", []):
        path = seeds_dir / doc["file"]
        documents[doc["id"]] = Document(
            id=doc["id"], path=path, title=dict(doc.get("title", {})),
            text=path.read_text(encoding="utf-8") if path.exists() else "",
        )
    facts = {
        fact["id"]: Fact(id=fact["id"], document=fact["document"], quote=fact["quote"],
                         values=dict(fact.get("values", {})))
        for fact in catalogue.get("facts", [])
    }
    topics = {
        topic["id"]: Topic(
            id=topic["id"], scope=topic.get("scope", ""), facts=tuple(topic.get("facts", [])),
            menu=bool(topic.get("menu", False)),
            examples={lang: tuple(items) for lang, items in topic.get("examples", {}).items()},
            keywords={lang: tuple(items) for lang, items in topic.get("keywords", {}).items()},
        )
        for topic in topics_data.get("topics", [])
    }
    return Knowledge(documents=documents, facts=facts, topics=topics)


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    return load_knowledge()


def validate(knowledge: Knowledge, languages: tuple[str, ...] = LANGUAGES) -> list[str]:
    """Returns every problem in the documents, facts and topics (empty when all is well)."""
    problems: list[str] = []
    for doc in knowledge.documents.values():
        if not doc.text:
            problems.append(f"document {doc.id}: file {doc.path} is missing or empty")
        for lang in languages:
            if not doc.title.get(lang):
                problems.append(f"document {doc.id}: no title in {lang}")
    seen_fact_ids: set[str] = set()
    for fact in knowledge.facts.values():
        if fact.id in seen_fact_ids:
            problems.append(f"fact {fact.id}: duplicate id")
        seen_fact_ids.add(fact.id)
        doc = knowledge.documents.get(fact.document)
        if doc is None:
            problems.append(f"fact {fact.id}: unknown document {fact.document!r}")
        elif not fact.quote.strip():
            problems.append(f"fact {fact.id}: empty quote")
        elif fact.quote not in doc.text:
            problems.append(f"fact {fact.id}: quote not found verbatim in {fact.document}: {fact.quote[:60]!r}")
        if doc is not None:
            for value in _flatten(fact.values):
                missing = numbers_in(str(value)) - numbers_in(fact.quote)
                if missing:
                    problems.append(f"fact {fact.id}: value {value!r} has numbers not in its quote: {sorted(missing)}")
    if len(knowledge.topics) < 20:
        problems.append(f"only {len(knowledge.topics)} topics; at least 20 are expected")
    for topic in knowledge.topics.values():
        for fact_id in topic.facts:
            if fact_id not in knowledge.facts:
                problems.append(f"topic {topic.id}: unknown fact {fact_id!r}")
        for lang in languages:
            if len(topic.examples.get(lang, ())) < 5:
                problems.append(f"topic {topic.id}: fewer than 5 examples in {lang}")
    return problems
