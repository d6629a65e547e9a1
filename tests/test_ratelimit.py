"""The sending layer on its own: pacing, flood control, and which failures are retried.

The limiter is driven with a stand-in for python-telegram-bot's request callback that records
every attempt and fails as told; timings are real but short.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.ratelimit import Pace, RetryingRateLimiter


class Endpoint:
    """A fake Bot API call: fails with the queued errors in turn, then answers `result`."""

    def __init__(self, *errors: Exception, result: object = None) -> None:
        self.errors = list(errors)
        self.result = {"message_id": 1} if result is None else result
        self.attempts: list[float] = []

    async def __call__(self, *args: object, **kwargs: object) -> object:
        self.attempts.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def limiter(**overrides: object) -> RetryingRateLimiter:
    settings = {"first_backoff": 0.01, "max_backoff": 0.02} | overrides
    return RetryingRateLimiter(**settings)


async def send(rl: RetryingRateLimiter, endpoint: Endpoint, chat_id: object = 42, method: str = "sendMessage",
               rate_limit_args: object = None) -> object:
    data = {"chat_id": chat_id, "text": "hi"} if chat_id is not None else {}
    return await rl.process_request(endpoint, (method, data), {}, method, data, rate_limit_args)


def test_a_pace_allows_a_burst_then_its_rate():
    pace = Pace(rate=10, burst=3)
    assert [pace.reserve(0.0) for _ in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.2])


def test_a_pace_refills_while_idle():
    pace = Pace(rate=10, burst=2)
    pace.reserve(0.0), pace.reserve(0.0)
    assert pace.reserve(0.05) == pytest.approx(0.1)
    assert not pace.idle(0.1)
    assert pace.idle(10.0)
    assert [pace.reserve(10.0), pace.reserve(10.0)] == [10.0, 10.0]


def test_a_pace_needs_a_rate_and_a_burst():
    with pytest.raises(ValueError):
        Pace(rate=0, burst=1)
    with pytest.raises(ValueError):
        Pace(rate=1, burst=0)


async def test_network_faults_are_retried_with_backoff_until_the_send_goes_through():
    endpoint = Endpoint(NetworkError("Bad Gateway"), NetworkError("httpx.RemoteProtocolError: Server disconnected"),
                        TimedOut())
    assert await send(limiter(), endpoint) == {"message_id": 1}
    assert len(endpoint.attempts) == 4
    gaps = [b - a for a, b in zip(endpoint.attempts, endpoint.attempts[1:])]
    assert all(gap >= 0.004 for gap in gaps)  # backoff, with jitter down to half the step


@pytest.mark.parametrize("error", [BadRequest("Can't parse entities: unclosed tag"),
                                   Forbidden("Forbidden: bot was blocked by the user"),
                                   InvalidToken(), ChatMigrated(-100123)])
async def test_what_cannot_succeed_is_attempted_once(error):
    endpoint = Endpoint(error, error, error)
    with pytest.raises(type(error)):
        await send(limiter(), endpoint)
    assert len(endpoint.attempts) == 1


async def test_network_retries_give_up_after_the_limit():
    endpoint = Endpoint(*[NetworkError("Internal Server Error (500)")] * 10)
    with pytest.raises(NetworkError):
        await send(limiter(network_retries=2), endpoint)
    assert len(endpoint.attempts) == 3


async def test_a_timed_out_send_is_retried_unless_the_caller_must_not_send_twice():
    endpoint = Endpoint(TimedOut())
    assert await send(limiter(), endpoint) == {"message_id": 1}
    assert len(endpoint.attempts) == 2

    endpoint = Endpoint(TimedOut())
    with pytest.raises(TimedOut):
        await send(limiter(), endpoint, rate_limit_args={"retry_timeouts": False})
    assert len(endpoint.attempts) == 1


async def test_flood_control_pauses_every_request_for_retry_after():
    rl = limiter()
    flooded = Endpoint(RetryAfter(dtm.timedelta(seconds=0.3)))
    other, unpaced = Endpoint(), Endpoint(result=True)
    first = asyncio.create_task(send(rl, flooded))
    await asyncio.sleep(0.05)
    paused_at = time.monotonic()
    await asyncio.gather(first, send(rl, other, chat_id=43), send(rl, unpaced, chat_id=None, method="getMe"))
    assert len(flooded.attempts) == 2
    assert flooded.attempts[1] - flooded.attempts[0] >= 0.35  # retry_after plus a little slack
    # Requests made during the pause, paced or not, waited for its end.
    assert other.attempts[0] >= flooded.attempts[0] + 0.35
    assert unpaced.attempts[0] >= flooded.attempts[0] + 0.35
    assert paused_at < other.attempts[0]
    assert rl.flood_waits == 1


async def test_flood_retries_are_limited_per_request():
    endpoint = Endpoint(*[RetryAfter(dtm.timedelta(seconds=0.01))] * 5)
    with pytest.raises(RetryAfter):
        await send(limiter(max_retries=2), endpoint)
    assert len(endpoint.attempts) == 3

    endpoint = Endpoint(*[RetryAfter(dtm.timedelta(seconds=0.01))] * 5)
    with pytest.raises(RetryAfter):
        await send(limiter(max_retries=5), endpoint, rate_limit_args=1)
    assert len(endpoint.attempts) == 2


async def test_a_button_press_too_old_to_answer_does_not_fail_the_handler():
    old = BadRequest("Query is too old and response timeout expired or query id is invalid")
    endpoint = Endpoint(old)
    data = {"callback_query_id": "1"}
    assert await limiter().process_request(endpoint, ("answerCallbackQuery", data), {}, "answerCallbackQuery",
                                           data, None) is True
    assert len(endpoint.attempts) == 1
    # The same words from any other method are an error as usual.
    with pytest.raises(BadRequest):
        await send(limiter(), Endpoint(old))


async def test_sends_are_paced_in_order_of_asking():
    rl = limiter(overall_max_rate=50, overall_burst=2)
    endpoints = [Endpoint() for _ in range(8)]
    await asyncio.gather(*(send(rl, e, chat_id=i) for i, e in enumerate(endpoints)))
    times = [e.attempts[0] for e in endpoints]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 6 * 0.02 * 0.9  # two at once, then one every 20 ms
    assert times[1] - times[0] < 0.01


async def test_a_group_gets_its_own_slower_pace_without_holding_up_private_chats():
    rl = limiter(group_max_rate=2, group_time_period=1)
    group = [Endpoint() for _ in range(3)]
    private = Endpoint()
    started = time.monotonic()
    await asyncio.gather(*(send(rl, e, chat_id=-100555) for e in group), send(rl, private, chat_id=7))
    assert private.attempts[0] - started < 0.1
    assert group[1].attempts[0] - started < 0.1
    assert group[2].attempts[0] - started >= 0.45  # two a second in one group
