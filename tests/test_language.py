"""Choosing the answer language: script first, then the user's choice, Telegram's, the default."""

from bot.db import open_database
from bot.language import (from_language_code, get_language_choice, resolve_language, script_language,
                          set_language_choice)


def test_script_decides_when_it_is_clear():
    assert script_language("كم أردني قتل؟") == "ar"
    assert script_language("how many died?") == "en"
    assert script_language("شو يعني contract") == "ar"
    assert script_language("12345 !!") is None
    assert script_language("") is None


def test_resolution_order():
    assert resolve_language("مرحبا", "en", "en", "en") == "ar"
    assert resolve_language("123", "ar", "en", "en") == "ar"
    assert resolve_language(None, None, "ar-JO", "en") == "ar"
    assert resolve_language(None, None, "de", "ar") == "ar"


def test_language_code_mapping():
    assert from_language_code("en-US") == "en"
    assert from_language_code("AR") == "ar"
    assert from_language_code("fr") is None
    assert from_language_code(None) is None


def test_choice_is_kept_under_the_pseudonym():
    db = open_database(":memory:")
    assert get_language_choice(db, "k1") is None
    set_language_choice(db, "k1", "ar")
    set_language_choice(db, "k1", "en")
    assert get_language_choice(db, "k1") == "en"
    assert db["users"].count == 1
