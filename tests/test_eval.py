"""The question matcher against the independent evaluation sets.

tests/eval/questions.toml: the evaluation set the matcher was developed against.
tests/eval/holdout.toml: a second, blind held-out set, written later from the source documents only;
its misses are read only for categories of failure, never copied into the examples.

Accuracy per language: the share of on-topic questions matched to their labelled topic (a refusal
counts as a miss). Refusal: the share of off-topic questions for which the matcher declines
(`topic_id is None`). The figures of both sets are printed (also without `-s`) and asserted:
on the evaluation set accuracy >= 0.95 per language and refusal >= 0.90; on the held-out set
what was honestly reached (see HOLDOUT_MIN_ACCURACY, HOLDOUT_MIN_REFUSAL).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.knowledge import default_knowledge
from bot.matching import Matcher
from bot.textnorm import normalize

EVAL_PATH = Path(__file__).parent / "eval" / "questions.toml"
HOLDOUT_PATH = Path(__file__).parent / "eval" / "holdout.toml"
MIN_ACCURACY = 0.95
MIN_REFUSAL = 0.90
HOLDOUT_MIN_ACCURACY = 0.94  # reached: en 0.949, ar 0.948
HOLDOUT_MIN_REFUSAL = 0.95  # reached: 1.000
SETS = {"questions": (EVAL_PATH, MIN_ACCURACY, MIN_REFUSAL),
        "holdout": (HOLDOUT_PATH, HOLDOUT_MIN_ACCURACY, HOLDOUT_MIN_REFUSAL)}


@dataclass(frozen=True)
class Result:
    section: str  # en, ar, offtopic
    question: str
    expected: str | None
    got: str | None
    nearest: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.got == self.expected


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.from_knowledge(default_knowledge())


@pytest.fixture(scope="module", params=list(SETS))
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def evaluation(name) -> dict:
    path = SETS[name][0]
    if not path.exists():
        pytest.skip(f"{path} is not there yet")
    with open(path, "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def results(matcher, evaluation) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for section in ("en", "ar", "offtopic"):
        rows = []
        for item in evaluation.get(section, []):
            match = matcher.match(item["q"], item.get("lang", section if section != "offtopic" else None))
            rows.append(Result(section, item["q"], item.get("topic"), match.topic_id, match.nearest))
        out[section] = rows
    return out


def _share(rows: list[Result]) -> float:
    return sum(r.ok for r in rows) / len(rows) if rows else 0.0


def test_the_evaluation_set_is_well_formed(evaluation):
    topics = set(default_knowledge().topics)
    for lang in ("en", "ar"):
        assert evaluation.get(lang), f"no [[{lang}]] questions"
        unknown = {item["topic"] for item in evaluation[lang]} - topics
        assert not unknown, f"[[{lang}]] labels name unknown topics: {sorted(unknown)}"
    assert evaluation.get("offtopic"), "no [[offtopic]] questions"


def test_no_evaluation_question_is_a_topic_example(evaluation):
    knowledge = default_knowledge()
    examples = {normalize(ex) for topic in knowledge.topics.values()
                for exs in topic.examples.values() for ex in exs}
    shared = [item["q"] for section in ("en", "ar", "offtopic") for item in evaluation.get(section, [])
              if normalize(item["q"]) in examples]
    assert not shared, f"evaluation questions copied into the examples: {shared}"


def test_print_the_figures(name, results, capsys):
    lines = ["", f"question matching on {SETS[name][0].relative_to(Path(__file__).parent.parent)}:"]
    for lang in ("en", "ar"):
        rows = results[lang]
        refused = sum(r.got is None for r in rows)
        lines.append(f"  accuracy {lang}: {_share(rows):.3f} ({sum(r.ok for r in rows)}/{len(rows)}; "
                     f"{refused} declined, {len(rows) - refused - sum(r.ok for r in rows)} wrong topic)")
    rows = results["offtopic"]
    lines.append(f"  off-topic refusal: {_share(rows):.3f} ({sum(r.ok for r in rows)}/{len(rows)})")
    misses = [r for section in ("en", "ar", "offtopic") for r in results[section] if not r.ok]
    if misses:
        lines.append("  misses (expected -> got | question):")
        lines += [f"    [{r.section}] {r.expected} -> {r.got} | {r.question}" for r in misses]
    with capsys.disabled():
        print("\n".join(lines))


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_accuracy_per_language(name, results, lang):
    accuracy, minimum = _share(results[lang]), SETS[name][1]
    assert accuracy >= minimum, f"{name} {lang} accuracy {accuracy:.3f} < {minimum}"


def test_off_topic_refusal(name, results):
    refusal, minimum = _share(results["offtopic"]), SETS[name][2]
    assert refusal >= minimum, f"{name} off-topic refusal {refusal:.3f} < {minimum}"
