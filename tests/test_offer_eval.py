"""The offer-check evaluation: tests/eval/offers.toml and offers_blind.toml against bot/signs.py.

Per language, sign recall and precision (micro-averaged over signs) must be at least 0.90 on
offers.toml and on offers.toml and the blind batch together, and no harmless offer of either may
get the "may be a recruitment attempt" verdict. The figures are printed per language and per batch
(`main`, then the two held-out batches written after tuning; see the file's comments; then the
blind batch, offers_blind.toml, written without seeing the patterns, and both files together):
run `pytest tests/test_offer_eval.py -s` to see them.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from bot.signs import LIKELY, check_offer, default_catalogue, looks_like_offer, verdict

EVAL = Path(__file__).parent / "eval" / "offers.toml"
BLIND = EVAL.parent / "offers_blind.toml"
LANGS = ("en", "ar")


@pytest.fixture(scope="module")
def offers() -> list[dict]:
    with open(EVAL, "rb") as f:
        return tomllib.load(f)["offers"]


@pytest.fixture(scope="module")
def blind() -> list[dict]:
    with open(BLIND, "rb") as f:
        return tomllib.load(f)["offers"]


def figures(entries: list[dict]) -> dict[str, float | int]:
    catalogue = default_catalogue()
    tp = fp = fn = caught = recruitment = flagged_harmless = 0
    for entry in entries:
        found = set(catalogue.sign_ids(entry["text"]))
        wanted = set(entry["signs"])
        tp += len(found & wanted)
        fp += len(found - wanted)
        fn += len(wanted - found)
        likely = verdict(catalogue, found) == LIKELY
        if entry["harmless"]:
            flagged_harmless += likely
        else:
            recruitment += 1
            caught += likely
    return {
        "offers": len(entries),
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recruitment_flagged": caught / recruitment if recruitment else 1.0,
        "harmless_flagged": flagged_harmless,
    }


def _line(name: str, f: dict) -> str:
    return (f"{name:<14} offers {f['offers']:>3}  sign recall {f['recall']:.3f}  precision {f['precision']:.3f}  "
            f"recruitment flagged {f['recruitment_flagged']:.0%}  harmless flagged {f['harmless_flagged']}")


def test_the_evaluation_set_is_big_enough_and_uses_known_signs(offers, blind):
    known = set(default_catalogue().ids)
    assert {sign for o in blind for sign in o["signs"]} <= known
    assert all(o["lang"] in LANGS for o in blind)
    counts = Counter((o["lang"], o["harmless"]) for o in offers)
    for lang in LANGS:
        assert counts[(lang, False)] + counts[(lang, True)] >= 45
        assert counts[(lang, True)] >= 15
    unknown = {sign for o in offers for sign in o["signs"]} - known
    assert not unknown, f"labels name signs the catalogue lacks: {sorted(unknown)}"
    assert {sign for o in offers for sign in o["signs"]} == known, "every sign is evaluated"


@pytest.mark.parametrize("lang", LANGS)
def test_sign_recall_and_precision(offers, blind, lang):
    entries = [o for o in offers if o["lang"] == lang]
    blind_entries = [o for o in blind if o["lang"] == lang]
    overall = figures(entries)
    together = figures(entries + blind_entries)
    print()
    print(_line(f"{lang} all", overall))
    for batch in ("main", "holdout", "holdout2"):
        part = [o for o in entries if o.get("set", "main") == batch]
        if part:
            print(_line(f"{lang} {batch}", figures(part)))
    print(_line(f"{lang} blind", figures(blind_entries)))
    print(_line(f"{lang} all+blind", together))
    for f in (overall, together):
        assert f["recall"] >= 0.90
        assert f["precision"] >= 0.90


@pytest.mark.parametrize("lang", LANGS)
def test_no_harmless_offer_is_called_recruitment(offers, blind, lang):
    catalogue = default_catalogue()
    flagged = [o["style"] for o in offers + blind if o["lang"] == lang and o["harmless"]
               and verdict(catalogue, catalogue.sign_ids(o["text"])) == LIKELY]
    assert flagged == []


def _reads_like_offer(text: str) -> bool:
    result = check_offer(default_catalogue(), text)
    return looks_like_offer(text, len(result.signs), len(result.contacts))


def test_pasted_offers_are_told_from_questions(offers, blind):
    """Pasted recruitment offers get "Check this offer?"; the questions people ask don't."""
    with open(EVAL.parent / "questions.toml", "rb") as f:
        questions = tomllib.load(f)
    asked = [e["q"] for key in ("en", "ar", "offtopic") for e in questions.get(key, [])]
    taken = [q for q in asked if _reads_like_offer(q)]
    recruitment = [o["text"] for o in offers + blind if not o["harmless"]]
    detected = sum(_reads_like_offer(text) for text in recruitment)
    print(f"\nquestions taken for offers: {len(taken)} of {len(asked)}; "
          f"recruitment offers read as offers: {detected} of {len(recruitment)}")
    assert len(taken) <= len(asked) // 100, taken
    assert detected >= 0.95 * len(recruitment)
