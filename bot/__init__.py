"""A Telegram bot that protects citizens from deceptive recruitment into foreign armies."""

import os

# python-telegram-bot 22 warns on every 429 unless durations are timedelta objects; we handle
# both shapes. Set before `telegram` is first imported, for every entry point.
os.environ.setdefault("PTB_TIMEDELTA", "1")

__version__ = "0.1.0"
