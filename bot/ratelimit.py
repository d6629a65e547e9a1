"""Sending within Telegram's limits, and through passing network faults.

Telegram allows a bot about 30 messages a second overall (with short bursts) and 20 a minute in
one group; above that it answers 429 with `retry_after`. `RetryingRateLimiter` paces every request
that names a chat below those limits, first come first served, waits out a 429 (pausing every
request, as Telegram asks), and retries network errors and 5xx answers with backoff.

Why not `AIORateLimiter` as it is: it retries nothing but 429s, and while a 429 pause lasts its
limiter keeps handing out turns to requests that then all fire the moment the pause ends, which
trips flood control again (a burst, a 429, a pause, a burst...). Here a pause sends everyone
back to the queue, and the pace runs a little under Telegram's so that requests delayed between
their turn and the wire (a busy event loop) don't arrive bunched.

Never retried: `BadRequest` (a subclass of `NetworkError`: bad HTML, message too long),
`Forbidden` (blocked), `InvalidToken`, `ChatMigrated`: the same request can't succeed. A `TimedOut`
send may already have been delivered; it is retried anyway (a rare duplicate answer beats a lost
one) unless the caller says otherwise with `rate_limit_args={"retry_timeouts": False}`.
A button press Telegram calls too old to answer (after a restart, say) is not an error for the
handler: answering only stops the button's spinner, and the handler should carry on.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import random
import time
from typing import Any, Callable, Coroutine, Mapping

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

NOT_RETRIED = (BadRequest, Forbidden, InvalidToken, ChatMigrated)

# Telegram's documented limits are "about 30 messages per second" overall and 20 per minute per
# group. We pace a little under the overall one, with a burst smaller than Telegram's, so that
# requests delayed after their turn (a busy event loop, a slow network) still arrive in time.
OVERALL_RATE = 29.5
OVERALL_BURST = 20
GROUP_RATE = 20
GROUP_PERIOD = 60.0
# Added to every `retry_after`, as Telegram's clock and ours differ a little.
RETRY_AFTER_SLACK = 0.1

_TOO_OLD = ("query is too old", "query id is invalid")


class Pace:
    """At most `burst` turns at once and `rate` per second on average, in order of asking.

    The generic cell rate algorithm: each turn moves a "theoretical arrival time" on by one
    interval; a turn may start once that time is less than `burst` intervals ahead.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a pace needs a positive rate and a burst of at least 1")
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self._tat = float("-inf")

    def reserve(self, now: float) -> float:
        """Books the next turn at or after `now`; returns when it starts."""
        tat = max(self._tat, now)
        start = max(now, tat - self.tolerance)
        self._tat = tat + self.interval
        return start

    def idle(self, now: float) -> bool:
        """Tells whether every turn handed out has been paid back (the pace is as new)."""
        return self._tat <= now

    def reset(self) -> None:
        self._tat = float("-inf")


def _seconds(retry_after: int | float | dtm.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else float(retry_after)


class RetryingRateLimiter(BaseRateLimiter[Any]):
    """Paces requests under Telegram's limits and retries flood control and network faults.

    `max_retries`: how often one request waits out a 429; `network_retries`: how often it is
    retried after a network error or 5xx, with exponential backoff (from `first_backoff` up to
    `max_backoff` seconds, with jitter). `rate_limit_args` on a single call may be an int (its
    429 retries, as with `AIORateLimiter`) or a mapping with `max_retries`, `network_retries` and
    `retry_timeouts` (False: a `TimedOut` is raised at once, for sends that must not be doubled).
    """

    def __init__(self, *, overall_max_rate: float = OVERALL_RATE, overall_burst: int = OVERALL_BURST,
                 group_max_rate: float = GROUP_RATE, group_time_period: float = GROUP_PERIOD,
                 max_retries: int = 5, network_retries: int = 5, first_backoff: float = 0.25,
                 max_backoff: float = 8.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._overall = Pace(overall_max_rate, overall_burst) if overall_max_rate else None
        self._group_rate = group_max_rate / group_time_period if group_max_rate and group_time_period else 0.0
        self._group_burst = max(int(group_max_rate), 1)
        self._groups: dict[int | str, Pace] = {}
        self._max_retries = max_retries
        self._network_retries = network_retries
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._resume_at = float("-inf")
        # Set (and replaced) whenever a 429 pause begins: waiters queue again behind it.
        self._paused = asyncio.Event()
        self.flood_waits = 0  # 429s waited out, for logs and tests

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    # --- pacing -------------------------------------------------------------------------------

    def _group_pace(self, group: int | str) -> Pace:
        pace = self._groups.get(group)
        if pace is None:
            if len(self._groups) > 512:
                now = self._clock()
                for key in [k for k, p in self._groups.items() if p.idle(now)]:
                    del self._groups[key]
            pace = self._groups[group] = Pace(self._group_rate, self._group_burst)
        return pace

    async def _turn(self, pace: Pace | None) -> None:
        """Waits for a turn of `pace` (None: no pacing) that starts after any 429 pause."""
        while True:
            paused = self._paused
            now = self._clock()
            start = max(now, self._resume_at)
            if pace is not None:
                start = pace.reserve(start)
            if start <= now:
                return
            try:
                await asyncio.wait_for(paused.wait(), start - now)
            except TimeoutError:
                return
            # A new pause began while we waited: queue again behind it.

    def _pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, self._clock() + seconds)
        # Telegram's allowance refills during the pause: start afresh, in the order of asking.
        if self._overall is not None:
            self._overall.reset()
        paused, self._paused = self._paused, asyncio.Event()
        paused.set()

    # --- requests -----------------------------------------------------------------------------

    def _limits(self, rate_limit_args: Any) -> tuple[int, int, bool]:
        if isinstance(rate_limit_args, Mapping):
            return (int(rate_limit_args.get("max_retries", self._max_retries)),
                    int(rate_limit_args.get("network_retries", self._network_retries)),
                    bool(rate_limit_args.get("retry_timeouts", True)))
        if isinstance(rate_limit_args, int) and not isinstance(rate_limit_args, bool):
            return rate_limit_args, self._network_retries, True
        return self._max_retries, self._network_retries, True

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: Any) -> Any:
        flood_retries, network_retries, retry_timeouts = self._limits(rate_limit_args)
        chat_id = data.get("chat_id")
        group: int | str | None = None
        try:
            chat_id = int(chat_id) if chat_id is not None else None
        except (TypeError, ValueError):
            pass
        if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
            group = chat_id
        floods = faults = 0
        backoff = self._first_backoff
        while True:
            if group is not None and self._group_rate:
                await self._turn(self._group_pace(group))
            await self._turn(self._overall if chat_id is not None else None)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if floods >= flood_retries:
                    raise
                floods += 1
                self.flood_waits += 1
                wait = _seconds(exc.retry_after) + RETRY_AFTER_SLACK
                log.info("flood control on %s: every request waits %.1fs (retry %d)", endpoint, wait, floods)
                self._pause(wait)
            except BadRequest as exc:
                if endpoint == "answerCallbackQuery" and any(s in exc.message.lower() for s in _TOO_OLD):
                    log.info("a button press was too old to answer; carrying on")
                    return True
                raise
            except NOT_RETRIED:
                raise
            except NetworkError as exc:
                if faults >= network_retries or (isinstance(exc, TimedOut) and not retry_timeouts):
                    raise
                faults += 1
                delay = backoff * (0.5 + random.random())
                log.info("%s failed (%s: %s); retry %d in %.2fs", endpoint, type(exc).__name__, exc, faults, delay)
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, self._max_backoff)
