"""The update processor on its own: users run side by side, each user's updates in order, and a
flooder's excess is shed without holding anyone up."""

from __future__ import annotations

import asyncio
import datetime as dtm

from telegram import Chat, Message, Update, User

from bot.concurrency import PerUserUpdateProcessor, update_owner


def update(update_id: int, user_id: int | None, chat_id: int | None = None) -> Update:
    chat = Chat(chat_id if chat_id is not None else (user_id or -1001), "private" if user_id else "channel")
    user = User(user_id, "U", False) if user_id else None
    message = Message(update_id, dtm.datetime.now(dtm.timezone.utc), chat, from_user=user, text="hi")
    return Update(update_id, channel_post=message) if user is None else Update(update_id, message=message)


class Recorder:
    """Handler stand-ins that record when they start and finish."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.running = 0
        self.most_running = 0

    async def handle(self, update_id: int, seconds: float = 0.05) -> None:
        self.events.append(("start", update_id))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await asyncio.sleep(seconds)
        self.running -= 1
        self.events.append(("end", update_id))


def test_updates_belong_to_their_user_else_their_chat():
    assert update_owner(update(1, 42)) == 42
    assert update_owner(update(2, None, chat_id=-100777)) == -100777
    assert update_owner(object()) is None


async def test_different_users_run_side_by_side_and_each_user_in_order():
    processor, rec = PerUserUpdateProcessor(), Recorder()
    await asyncio.gather(*(processor.process_update(update(i, 100 + i % 3), rec.handle(i)) for i in range(9)))
    assert rec.most_running == 3  # one per user at a time
    for user in range(3):
        mine = [e for e in rec.events if e[1] % 3 == user]
        assert mine == [(kind, i) for i in range(user, 9, 3) for kind in ("start", "end")]
    assert processor.dropped == 0


async def test_a_flood_is_shed_past_the_limit_while_others_go_on():
    processor, rec = PerUserUpdateProcessor(pending_per_user=5), Recorder()
    flood = [asyncio.create_task(processor.process_update(update(i, 1), rec.handle(i, 0.02))) for i in range(50)]
    await asyncio.sleep(0)
    other = asyncio.create_task(processor.process_update(update(1000, 2), rec.handle(1000, 0)))
    await asyncio.wait_for(other, 0.1)  # not behind the flooder's five
    await asyncio.gather(*flood)
    handled = [i for kind, i in rec.events if kind == "end" and i < 1000]
    assert handled == [0, 1, 2, 3, 4]
    assert processor.dropped == 45
    # Once the flood is handled, the user is served again.
    await processor.process_update(update(51, 1), rec.handle(51, 0))
    assert rec.events[-1] == ("end", 51)


async def test_running_updates_are_capped_overall():
    processor, rec = PerUserUpdateProcessor(running=4), Recorder()
    await asyncio.gather(*(processor.process_update(update(i, 500 + i), rec.handle(i, 0.02)) for i in range(12)))
    assert rec.most_running == 4
    assert len([e for e in rec.events if e[0] == "end"]) == 12


async def test_an_update_without_a_user_or_chat_still_runs():
    processor, rec = PerUserUpdateProcessor(), Recorder()
    await processor.process_update(object(), rec.handle(7, 0))
    assert rec.events == [("start", 7), ("end", 7)]


async def test_a_failing_update_frees_its_users_turn():
    processor, rec = PerUserUpdateProcessor(pending_per_user=1), Recorder()

    async def fail() -> None:
        raise RuntimeError("handler bug")

    try:
        await processor.process_update(update(1, 9), fail())
    except RuntimeError:
        pass
    await processor.process_update(update(2, 9), rec.handle(2, 0))
    assert rec.events == [("start", 2), ("end", 2)]
    assert processor.dropped == 0
