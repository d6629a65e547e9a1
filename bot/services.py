"""What every handler needs, built once per Application and reached through the context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.db import Store
from bot.i18n import Renderer
from bot.knowledge import Knowledge
from bot.language import get_language_choice, resolve_language, script_language, set_language_choice
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.matching import Matcher

SERVICES_KEY = "services"


@dataclass
class Services:
    settings: Settings
    store: Store
    renderer: Renderer
    knowledge: Knowledge
    pseudonyms: Pseudonymizer
    matcher: "Matcher"
    # Language choices cached in memory: answering a question needs no database round trip.
    _language_choices: dict[str, str | None] = field(default_factory=dict, repr=False)
    _last_seen_language: dict[str, str] = field(default_factory=dict, repr=False)
    # Anything a feature keeps in memory only (never persisted), by feature name.
    memory: dict[str, Any] = field(default_factory=dict, repr=False)

    def user_key(self, user_id: int) -> str:
        return self.pseudonyms.key(user_id)

    async def language_choice(self, user_key: str) -> str | None:
        if user_key not in self._language_choices:
            self._language_choices[user_key] = await self.store.run(get_language_choice, user_key)
        return self._language_choices[user_key]

    async def choose_language(self, user_key: str, language: str) -> None:
        await self.store.run(set_language_choice, user_key, language)
        self._language_choices[user_key] = language
        self._last_seen_language[user_key] = language

    def forget_language(self, user_key: str) -> None:
        self._language_choices.pop(user_key, None)
        self._last_seen_language.pop(user_key, None)

    async def language_for(self, update: Update, text: str | None = None) -> str:
        """Returns the language to answer this update in (see `bot.language`).

        A language seen in the user's own writing is remembered (in memory) so that the buttons
        under an Arabic answer keep answering in Arabic.
        """
        user = update.effective_user
        if user is None:
            return resolve_language(text, None, None, self.settings.default_language)
        key = self.user_key(user.id)
        seen = script_language(text)
        if seen:
            self._last_seen_language[key] = seen
            return seen
        if key in self._last_seen_language:
            return self._last_seen_language[key]
        chosen = await self.language_choice(key)
        return resolve_language(None, chosen, user.language_code, self.settings.default_language)


    async def language_for_quoted(self, update: Update, text: str | None) -> str:
        """Returns the language to answer about someone else's text (a forwarded or pasted offer).

        The user's own language (as seen in their writing, or chosen) comes before the script of
        the quoted text: an Arabic offer forwarded by someone who writes to us in English is
        explained in English. With nothing else to go on, the text's script decides, and the
        buttons under the answer keep that language.
        """
        user = update.effective_user
        if user is None:
            return resolve_language(text, None, None, self.settings.default_language)
        key = self.user_key(user.id)
        own = self._last_seen_language.get(key) or await self.language_choice(key)
        if own:
            return own
        return await self.language_for(update, text)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """Returns the Application's services."""
    return context.application.bot_data[SERVICES_KEY]
