"""Alerts to the admin chat for every new report (placeholder: the admin feature fills it in)."""

from __future__ import annotations

from telegram import Bot

from bot.services import Services


async def send_new_report_alert(bot: Bot, svc: Services, report_id: int) -> None:
    """Sends the alert for a newly stored report to `ADMIN_CHAT_ID`, when set."""
