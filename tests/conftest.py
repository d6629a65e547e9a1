"""Shared fixtures. End-to-end tests run the real bot against a local fake Bot API server.

    async def test_start(running_bot, fake_api):
        user = FakeUser(fake_api, "Omar", language_code="ar")
        await user.command("/start")
        welcome = await user.wait_reply()
        assert welcome.buttons

- `fake_api`: a started `FakeTelegramServer` (stopped after the test).
- `make_settings(**overrides)`: `bot.settings.Settings` pointing at `fake_api`, database in
  `tmp_path`, a fixed pseudonym secret; any Settings field can be overridden.
- `start_bot(settings=None, **overrides)`: builds the real Application with
  `bot.app.build_application` and polls inside the test's loop; returns a `BotHarness`
  (`.app`, `.services`, `.settings`, `.expect_errors`). Stopped after the test, which then fails
  if the fake server refused a call (bad HTML, long text, ...) or the bot logged an error, unless
  the test set `harness.expect_errors = True`.
- `running_bot`: `start_bot()` with the default settings.
- `bot_process(env=None, verb=("run",))`: `python -m bot run` as a child process pointed at
  `fake_api`; killed after the test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from fakeapi.harness import BotHarness, BotProcess, make_settings as _make_settings
from fakeapi.server import FakeTelegramServer

# python-telegram-bot 22.2+ warns (PTBDeprecationWarning) whenever it builds a `RetryAfter` or
# reads a duration, unless durations are opted in to `timedelta`. With warnings as errors, that
# warning would replace the very RetryAfter a flood test wants the bot to handle. Child processes
# (`bot_process`) inherit it.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def make_settings(tmp_path: Path, fake_api: FakeTelegramServer) -> Callable[..., Any]:
    def make(path: Path | None = None, /, **overrides: Any) -> Any:
        return _make_settings(path or tmp_path, fake_api, **overrides)
    return make


@pytest.fixture
async def start_bot(fake_api: FakeTelegramServer, make_settings: Callable[..., Any]
                    ) -> AsyncIterator[Callable[..., Awaitable[BotHarness]]]:
    harnesses: list[BotHarness] = []

    async def start(settings: Any = None, *, build: dict[str, Any] | None = None, **overrides: Any) -> BotHarness:
        harness = BotHarness(fake_api, settings or make_settings(**overrides), **(build or {}))
        harnesses.append(harness)
        return await harness.start()

    yield start
    problems: list[str] = []
    for harness in reversed(harnesses):
        await harness.stop()
        problems += harness.problems()
    if problems:
        pytest.fail("the bot misbehaved during the test:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
async def running_bot(start_bot: Callable[..., Awaitable[BotHarness]]) -> BotHarness:
    return await start_bot()


@pytest.fixture
async def bot_process(fake_api: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Callable[..., BotProcess]]:
    processes: list[BotProcess] = []

    def start(env: dict[str, str] | None = None, verb: tuple[str, ...] = ("run",)) -> BotProcess:
        process = BotProcess(fake_api, tmp_path, verb, env).start()
        processes.append(process)
        return process

    yield start
    for process in processes:
        await process.stop()
