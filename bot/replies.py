"""A reply as plain data (HTML text and buttons), so logic can build it without `telegram`."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_CALLBACK_BYTES = 64


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None  # callback data, ASCII `feature:action[:id]`
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has exactly one of data or url")
        if self.data is not None and (not self.data.isascii() or len(self.data.encode()) > MAX_CALLBACK_BYTES):
            raise ValueError(f"callback data must be ASCII and at most {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram HTML
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
