"""Placeholder for the offers feature."""

from telegram.ext import Application


def register(application: Application) -> None:
    """Adds this feature's handlers."""
