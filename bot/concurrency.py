"""Updates run concurrently across users and one at a time per user.

ConversationHandler assumes one update at a time per conversation, and a user who floods the bot
must not slow the others. The Application's own semaphore is set high; what limits work is our
semaphore, taken only once the user's turn has come, so a flooder's queued updates wait on their
own lock without holding a place anyone else needs. Past a cap, a flooder's extra updates are
dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


def update_owner(update: object) -> int | None:
    """Returns the id updates are serialised by: the user, else the chat."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Processes different users' updates concurrently and each user's in order."""

    def __init__(self, running: int = 64, pending_per_user: int = 30, queued_total: int = 20_000) -> None:
        super().__init__(max_concurrent_updates=queued_total)
        self._running = asyncio.Semaphore(running)
        self.pending_limit = pending_per_user
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}
        self._shedding: set[int] = set()  # users whose flood is being dropped (logged once per flood)
        self.dropped = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        owner = update_owner(update)
        if owner is None:
            async with self._running:
                await coroutine
            return
        if self._pending.get(owner, 0) >= self.pending_limit:
            self.dropped += 1
            if owner not in self._shedding:
                self._shedding.add(owner)
                log.warning("a user has %d updates queued; dropping more until they are handled", self.pending_limit)
            coroutine.close()  # type: ignore[attr-defined]
            return
        self._pending[owner] = self._pending.get(owner, 0) + 1
        lock = self._locks.setdefault(owner, asyncio.Lock())
        try:
            async with lock:
                async with self._running:
                    await coroutine
        finally:
            self._pending[owner] -= 1
            if self._pending[owner] == 0:
                del self._pending[owner]
                self._locks.pop(owner, None)
                self._shedding.discard(owner)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
