"""Sending within Telegram's limits, and through passing network faults.

`AIORateLimiter` keeps under Telegram's global rate and waits out a 429's `retry_after`, but it
retries nothing else. This subclass also retries network errors and 5xx answers with backoff.
`BadRequest` (a subclass of `NetworkError`: bad HTML, message too long) and `Forbidden` (blocked)
are never retried: sending the same thing again cannot succeed. A `TimedOut` send may already
have been delivered; we retry anyway, since a rare duplicate answer beats a lost one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Callable, Coroutine

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

NOT_RETRIED = (BadRequest, Forbidden, InvalidToken, ChatMigrated)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries network faults with exponential backoff and jitter."""

    def __init__(self, *, max_retries: int = 5, network_retries: int = 5, first_backoff: float = 0.25,
                 max_backoff: float = 8.0, **kwargs: Any) -> None:
        super().__init__(max_retries=max_retries, **kwargs)
        self._network_retries = network_retries
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        delay = self._first_backoff
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NOT_RETRIED:
                raise
            except NetworkError as exc:
                if attempt == self._network_retries:
                    raise
                log.info("%s failed (%s); retry %d in %.2fs", endpoint, type(exc).__name__, attempt + 1, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable")
