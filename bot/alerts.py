"""Alerts to the admin chat for every new report.

The report flow calls `send_new_report_alert(bot, svc, report_id)` right after a report is
committed. The alert is a summary (user text escaped, never the reporter's identity) with
buttons to see the whole report and move its status; admins reply to it to write to a reporter
who agreed to be contacted. An alert that cannot be sent is logged, never raised: the report is
already safe in the database and the reporter must get their confirmation.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.admin import alert_reply, get_report
from bot.relay import remember_link
from bot.services import Services
from bot.ui import markup

log = logging.getLogger(__name__)


async def send_new_report_alert(bot: Bot, svc: Services, report_id: int) -> None:
    """Sends the alert for a newly stored report to `ADMIN_CHAT_ID`, when set."""
    chat_id = svc.settings.admin_chat_id
    if chat_id is None:
        return
    try:
        report = await svc.store.run(get_report, report_id)
        if report is None:
            return
        reply = alert_reply(svc.renderer, svc.settings.default_language, report)
        message = await bot.send_message(chat_id=chat_id, text=reply.text, parse_mode=ParseMode.HTML,
                                         reply_markup=markup(reply.buttons), protect_content=True)
        await remember_link(svc, chat_id, message.message_id, report_id)
    except TelegramError as exc:
        log.warning("could not send a new-report alert: %s", type(exc).__name__)
    except Exception:  # noqa: BLE001 - an alert must never break the reporter's confirmation
        log.exception("could not prepare a new-report alert")
