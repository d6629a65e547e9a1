"""A local fake Telegram Bot API server and the helpers end-to-end tests drive the bot with.

- `server.FakeTelegramServer`: the server (aiohttp on 127.0.0.1, a random free port).
- `users.FakeUser`, `users.FakeGroup`, `users.FakeChannel`: people and chats that queue updates.
- `harness.BotHarness`, `harness.BotProcess`, `harness.make_settings`: the real bot against it.

The fixtures in `tests/conftest.py` wire these together (`fake_api`, `make_settings`,
`start_bot`, `running_bot`, `bot_process`).
"""

from .server import TEST_TOKEN, ApiError, Call, FakeTelegramServer, SentMessage, WaitTimeout
from .users import FakeChannel, FakeGroup, FakeUser, origin_channel, origin_chat, origin_hidden_user, origin_user

__all__ = [
    "TEST_TOKEN", "ApiError", "Call", "FakeTelegramServer", "SentMessage", "WaitTimeout",
    "FakeChannel", "FakeGroup", "FakeUser", "origin_channel", "origin_chat", "origin_hidden_user", "origin_user",
]
