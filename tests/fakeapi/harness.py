"""Running the real bot against the fake server: in the test's event loop, or as a process.

`BotHarness` builds the Application with `bot.app.build_application(settings)` and polls inside
the running loop (`initialize`, `start`, `updater.start_polling`; never `run_polling()`, which
closes the loop). `BotProcess` starts `python -m bot run` with the environment pointing at the
fake server and always kills it on teardown. `make_settings` builds `bot.settings.Settings` for
a test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dtm
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from .server import FakeTelegramServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PSEUDONYM_SECRET = "fixed-test-pseudonym-secret-0123456789abcdef"
# The contract's variables: a child process gets every one of them set, so nothing leaks in from
# the developer's shell or a `.env` file (python-dotenv never overrides a set variable).
CONTRACT_VARIABLES = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_API_FILE_URL", "DATABASE_PATH", "ADMIN_IDS",
    "ADMIN_CHAT_ID", "PSEUDONYM_SECRET", "WEBHOOK_URL", "WEBHOOK_SECRET", "PORT", "DEFAULT_LANGUAGE",
    "REPORT_RATE_PER_HOUR", "DRAFT_TTL_HOURS", "SEND_MAX_RETRIES",
)


def make_settings(tmp_path: Path, server: FakeTelegramServer | None = None, **overrides: Any):
    """Settings for one test: the test token, the fake server's URLs, a database in `tmp_path`.

    Any `Settings` field can be overridden: `admin_ids={1, 2}` (any iterable), `token="..."` (a
    str is wrapped in `Secret`), `default_language="ar"`, ...
    """
    from bot.settings import Secret, Settings

    from .server import TEST_TOKEN

    values: dict[str, Any] = {
        "token": Secret(server.token if server else TEST_TOKEN),
        "api_base_url": server.base_url if server else None,
        "api_file_url": server.file_url if server else None,
        "database_path": Path(tmp_path) / "bot.db",
        "pseudonym_secret": Secret(PSEUDONYM_SECRET),
    }
    for key in ("token", "pseudonym_secret", "webhook_secret"):
        if isinstance(overrides.get(key), str):
            overrides[key] = Secret(overrides[key])
    if "admin_ids" in overrides:
        overrides["admin_ids"] = frozenset(int(i) for i in overrides["admin_ids"])
    if "database_path" in overrides:
        overrides["database_path"] = Path(overrides["database_path"])
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"Settings has no field(s) {sorted(unknown)}")
    values.update(overrides)
    return Settings(**values)


class _ErrorLog(logging.Handler):
    """Collects ERROR records so a test fails when a handler crashed behind a polite answer."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class BotHarness:
    """The real Application, polling the fake server from inside the test's event loop."""

    def __init__(self, server: FakeTelegramServer, settings: Any = None, *, application: Any = None,
                 **build_kwargs: Any) -> None:
        """`settings` for the project's bot (built with `build_application(settings, **build_kwargs)`),
        or a ready `application` (any python-telegram-bot Application pointed at `server`)."""
        if (settings is None) == (application is None):
            raise ValueError("give either settings (the project's bot) or an application")
        self.server = server
        self.settings = settings
        self.build_kwargs = build_kwargs
        self.app: Any = application
        # Set to True in tests that expect errors (faults, flood, a crashing handler on purpose).
        self.expect_errors = False
        self._errors = _ErrorLog()
        self._started = False

    @property
    def services(self) -> Any:
        from bot.services import SERVICES_KEY

        return self.app.bot_data[SERVICES_KEY]

    @property
    def error_records(self) -> list[logging.LogRecord]:
        return list(self._errors.records)

    async def start(self, *, poll_timeout: float = 1.0) -> "BotHarness":
        """Starts the bot the way `run_polling()` does, minus the loop handling.

        `initialize` and `shutdown` do not call `post_init`/`post_stop`/`post_shutdown` (only
        `run_polling` does), so they are called here in the same order.
        """
        from telegram import Update

        logging.getLogger().addHandler(self._errors)
        if self.app is None:
            from bot.app import build_application

            self.app = build_application(self.settings, **self.build_kwargs)
        try:
            await self.app.initialize()
            self._started = True
            if self.app.post_init:
                await self.app.post_init(self.app)
            # Every update type, as `bot.runner` polls in production.
            await self.app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=poll_timeout),
                                                 bootstrap_retries=0, allowed_updates=Update.ALL_TYPES)
            await self.app.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stops polling and the Application; runs `post_stop` and `post_shutdown`."""
        try:
            if self.app is not None and self._started:
                self._started = False
                if self.app.updater is not None and self.app.updater.running:
                    await self.app.updater.stop()
                if self.app.running:
                    await self.app.stop()
                    if self.app.post_stop:
                        await self.app.post_stop(self.app)
                await self.app.shutdown()
                if self.app.post_shutdown:
                    await self.app.post_shutdown(self.app)
        finally:
            logging.getLogger().removeHandler(self._errors)

    def problems(self) -> list[str]:
        """What went wrong without a test asking for it: refused API calls, logged errors."""
        if self.expect_errors:
            return []
        found = [f"the fake Bot API refused: {call!r}" for call in self.server.errors()]
        found += [f"logged error: {record.name}: {record.getMessage()}"
                  + (f" ({record.exc_info[1]!r})" if record.exc_info and record.exc_info[1] else "")
                  for record in self._errors.records]
        return found


class BotProcess:
    """`python -m bot VERB` as a child process talking to the fake server."""

    def __init__(self, server: FakeTelegramServer, tmp_path: Path, verb: Iterable[str] = ("run",),
                 env: dict[str, str] | None = None) -> None:
        self.server = server
        self.tmp_path = Path(tmp_path)
        self.args = [sys.executable, "-m", "bot", *verb]
        self.log_path = self.tmp_path / "bot-process.log"
        self.env = self._environment(env or {})
        self.proc: subprocess.Popen | None = None
        self._log = None

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
        env.update({name: "" for name in CONTRACT_VARIABLES})
        env.update({
            "TELEGRAM_BOT_TOKEN": self.server.token,
            "TELEGRAM_API_BASE_URL": self.server.base_url,
            "TELEGRAM_API_FILE_URL": self.server.file_url,
            "DATABASE_PATH": str(self.tmp_path / "bot.db"),
            "PSEUDONYM_SECRET": PSEUDONYM_SECRET,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        env.update(extra)
        return env

    def start(self) -> "BotProcess":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, cwd=self.tmp_path, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        return self

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    async def wait(self, timeout: float) -> int | None:
        """Waits for the process to exit without blocking the loop (the fake server runs in it)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.proc.poll()

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (a clean shutdown), then SIGKILL after `timeout` seconds."""
        if self.proc is None:
            return None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                if await self.wait(timeout) is None:
                    self.proc.kill()
                    await self.wait(5)
            return self.proc.returncode
        finally:
            if self.proc.poll() is None:  # pragma: no cover - kill failed
                self.proc.kill()
                self.proc.wait(5)
            if self._log is not None:
                self._log.close()
                self._log = None
