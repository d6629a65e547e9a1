"""The grounded knowledge: facts quote their documents, topics have examples, answers are safe.

Every answer is rendered in every language and checked the way Telegram and the grounding rule
would: only numbers some fact carries, under Telegram's length limit, only Telegram's HTML tags,
balanced.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.i18n import TELEGRAM_MAX_TEXT, Renderer
from bot.knowledge import load_knowledge, numbers_in, validate
from bot.questions import answer_topic
from bot.settings import LANGUAGES

ALLOWED_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}
MIN_EXAMPLES = 20
MAX_BUTTON_LABEL = 30
CONNECTIVES = {"and", "but"}  # words between two quoted clauses of one sentence
KNOWLEDGE = load_knowledge()
TOPICS = list(KNOWLEDGE.topics)


class _TagChecker(HTMLParser):
    """Collects the problems Telegram's HTML parse mode would reject."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> without href")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open tag {self.stack[-1:] or 'none'}")
            return
        self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"entity &{name}; is not supported by Telegram")


def html_problems(text: str) -> list[str]:
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    problems = checker.problems + [f"<{tag}> is never closed" for tag in checker.stack]
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        problems.append("a bare & (Telegram needs &amp;)")
    return problems


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_knowledge_validates_with_no_problems():
    assert validate(KNOWLEDGE) == []


def test_every_fact_quote_is_verbatim_in_its_document():
    for fact in KNOWLEDGE.facts.values():
        assert fact.quote in KNOWLEDGE.documents[fact.document].text, fact.id


def test_every_sentence_of_every_document_is_covered_by_some_fact():
    for doc in KNOWLEDGE.documents.values():
        covered = [False] * len(doc.text)
        for fact in KNOWLEDGE.facts.values():
            if fact.document == doc.id:
                start = doc.text.find(fact.quote)
                covered[start:start + len(fact.quote)] = [True] * len(fact.quote)
        uncovered = "".join(ch if not seen else "\0" for ch, seen in zip(doc.text, covered))
        leftovers = [part for part in uncovered.split("\0")
                     if set(re.findall(r"\w+", part.lower())) - CONNECTIVES]
        assert leftovers == [], f"{doc.id}: text no fact quotes: {leftovers}"


def test_every_document_has_facts_and_titles_in_every_language():
    for doc in KNOWLEDGE.documents.values():
        assert any(f.document == doc.id for f in KNOWLEDGE.facts.values()), doc.id
        for lang in LANGUAGES:
            assert doc.title.get(lang), (doc.id, lang)


def test_every_topic_has_enough_distinct_examples_in_every_language():
    for topic in KNOWLEDGE.topics.values():
        for lang in LANGUAGES:
            examples = topic.examples.get(lang, ())
            assert len(examples) >= MIN_EXAMPLES, (topic.id, lang, len(examples))
            assert len(set(examples)) == len(examples), (topic.id, lang, "duplicate examples")


def test_no_example_is_shared_by_two_topics():
    owner: dict[tuple[str, str], str] = {}
    for topic in KNOWLEDGE.topics.values():
        for lang, examples in topic.examples.items():
            for example in examples:
                key = (lang, example.strip().lower())
                assert owner.setdefault(key, topic.id) == topic.id, (example, owner[key], topic.id)


def test_topics_with_numbers_in_their_scope_rest_on_facts():
    bot_topics = {"about_bot", "privacy", "how_to_report", "sources"}
    for topic in KNOWLEDGE.topics.values():
        if topic.id not in bot_topics:
            assert topic.facts, f"{topic.id} has no facts"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("topic_id", TOPICS)
def test_answer_renders_grounded_and_telegram_safe(renderer: Renderer, topic_id: str, lang: str):
    assert renderer.has(lang, f"answers/{topic_id}"), f"messages/{lang}/answers/{topic_id}.j2 is missing"
    text = answer_topic(KNOWLEDGE, renderer, topic_id, lang).text
    assert text.strip()
    assert len(text) < TELEGRAM_MAX_TEXT
    assert numbers_in(text) <= KNOWLEDGE.allowed_numbers(), sorted(numbers_in(text) - KNOWLEDGE.allowed_numbers())
    assert html_problems(text) == []
    assert "/report" in text  # the shared footer's next step


@pytest.mark.parametrize("lang", LANGUAGES)
def test_answers_name_their_sources_only_when_they_have_facts(renderer: Renderer, lang: str):
    for topic in KNOWLEDGE.topics.values():
        text = answer_topic(KNOWLEDGE, renderer, topic.id, lang).text
        for doc in KNOWLEDGE.documents_for(topic.facts):
            assert doc.title[lang] in text, (topic.id, lang, doc.id)
        if not topic.facts:
            assert not any(doc.title[lang] in text for doc in KNOWLEDGE.documents.values()), topic.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_topic_has_a_short_button_label(renderer: Renderer, lang: str):
    for topic_id in TOPICS:
        assert renderer.has(lang, f"buttons/topics/{topic_id}"), (lang, topic_id)
        label = renderer.text(lang, f"buttons/topics/{topic_id}")
        assert label and "\n" not in label and len(label) <= MAX_BUTTON_LABEL, (lang, topic_id, label)


def test_html_checker_catches_what_telegram_rejects():
    assert html_problems("<b>ok</b> <i>fine</i> <a href=\"https://example.org\">x</a>") == []
    assert html_problems("<p>para</p>") == ["tag <p> is not allowed"]
    assert html_problems("<b>open") == ["<b> is never closed"]
    assert html_problems("<b><i>x</b></i>") != []
    assert html_problems("Tom & Jerry") == ["a bare & (Telegram needs &amp;)"]
