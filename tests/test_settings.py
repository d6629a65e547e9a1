"""Settings: defaults, parsing, and one clear line for bad values."""

import pytest

from bot.settings import Secret, Settings, SettingsError


def test_defaults_when_nothing_is_set():
    settings = Settings.from_env({})
    assert settings.default_language == "en"
    assert settings.admin_ids == frozenset()
    assert settings.admin_chat_id is None
    assert not settings.token
    assert str(settings.database_path) == "data/bot.db"
    assert not settings.webhook_mode


def test_admin_ids_are_parsed():
    settings = Settings.from_env({"ADMIN_IDS": " 12, 345 ,", "ADMIN_CHAT_ID": "-100123"})
    assert settings.admin_ids == frozenset({12, 345})
    assert settings.admin_chat_id == -100123
    assert settings.is_admin(12) and not settings.is_admin(13) and not settings.is_admin(None)


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"ADMIN_CHAT_ID": "admins"}, "ADMIN_CHAT_ID"),
        ({"DEFAULT_LANGUAGE": "fr"}, "DEFAULT_LANGUAGE"),
        ({"PORT": "99999"}, "PORT"),
        ({"WEBHOOK_URL": "http://insecure.example"}, "WEBHOOK_URL"),
        ({"WEBHOOK_SECRET": "has spaces"}, "WEBHOOK_SECRET"),
        ({"REPORT_RATE_PER_HOUR": "0"}, "REPORT_RATE_PER_HOUR"),
    ],
)
def test_bad_values_name_the_variable_in_one_line(env, variable):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    message = str(raised.value)
    assert variable in message and "\n" not in message


def test_the_token_never_shows_in_repr_or_str():
    token = "123456789:AAH-secret-token-value-abcdefghijkl"
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": token})
    assert token not in repr(settings) and token not in str(settings)
    assert settings.token.reveal() == token
    assert "secret" not in f"{Secret('secret')}"
