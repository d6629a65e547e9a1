"""The getUpdates connection, made robust against updates python-telegram-bot can't read."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class SkipUnreadableUpdates(HTTPXRequest):
    """The getUpdates connection, with updates python-telegram-bot can't read emptied out.

    python-telegram-bot reads a whole batch of updates at once. One it can't read (a self-hosted
    Bot API server older than it expects, say, sends a poll without a field it now requires) fails
    the batch, which is then never confirmed: polling fetches the same batch again at once, and
    again, logging its content (user ids, texts) as CRITICAL each time, and nobody is answered
    any more. Here such an update is replaced by an empty one with the same id: it is logged by id
    only, the batch is confirmed, and everything else is handled.
    """

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code != 200 or not url.endswith("/getUpdates"):
            return code, payload
        try:
            body = json.loads(payload)
            updates = body["result"]
        except (ValueError, KeyError, TypeError):
            return code, payload  # python-telegram-bot reports a malformed answer itself
        changed = False
        for i, raw in enumerate(updates if isinstance(updates, list) else []):
            try:
                Update.de_json(json.loads(json.dumps(raw)), None)
            except Exception as exc:  # noqa: BLE001 - whatever python-telegram-bot fails on
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int):
                    continue
                log.warning("skipped update %d: this python-telegram-bot can't read it (%s)",
                            update_id, type(exc).__name__)
                updates[i] = {"update_id": update_id}
                changed = True
        return code, json.dumps(body).encode() if changed else payload
