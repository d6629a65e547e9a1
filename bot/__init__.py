"""A Telegram bot that protects citizens from deceptive recruitment into foreign armies."""

__version__ = "0.1.0"
