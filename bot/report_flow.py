"""Placeholder for the report_flow feature."""

from telegram.ext import Application


def register(application: Application) -> None:
    """Adds this feature's handlers."""
