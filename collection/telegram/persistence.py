"""python-telegram-bot's persistence in the database (collection.models.TelegramState), as JSON:
conversation states, user data and chat data survive a bot restart without pickle files.

Everything the bot keeps in `context.user_data` must therefore be JSON: ints, strings, lists.
One bot process owns the state (DESIGN.md: the bot scales by one), so the `refresh_*` hooks do
not re-read the database: a row can lag the process's memory by up to `update_interval`, and
re-reading it would overwrite newer state with older."""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from collection.models import TelegramState
from uzwhisper.db import orm_in_thread

JsonDict = dict[str, Any]

CONVERSATION = "conversation"
USER = "user"
CHAT = "chat"
BOT = "bot"
BOT_KEY = "bot"


def conversation_row_key(name: str, key: ConversationKey) -> str:
    return f"{name}:{json.dumps(list(key))}"


def _rows(kind: str) -> dict[str, Any]:
    return dict(TelegramState.objects.filter(kind=kind).values_list("key", "data"))


def _store(kind: str, key: str, data: Any) -> None:
    TelegramState.objects.update_or_create(kind=kind, key=key, defaults={"data": data})


def _drop(kind: str, key: str) -> None:
    TelegramState.objects.filter(kind=kind, key=key).delete()


def _conversations(name: str) -> ConversationDict:
    prefix = f"{name}:"
    found: ConversationDict = {}
    rows = TelegramState.objects.filter(kind=CONVERSATION, key__startswith=prefix)
    for key, data in rows.values_list("key", "data"):
        found[tuple(json.loads(key[len(prefix) :]))] = data["state"]
    return found


class DatabasePersistence(BasePersistence[JsonDict, JsonDict, JsonDict]):
    """Stores user and chat data and conversation states in TelegramState rows. Bot data (unused
    here; it would be written on every interval) and arbitrary callback data are not stored: the
    bot's buttons carry plain strings."""

    def __init__(self, *, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                user_data=True, chat_data=True, bot_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )

    async def get_user_data(self) -> dict[int, JsonDict]:
        rows = await orm_in_thread(_rows)(USER)
        return {int(key): data for key, data in rows.items()}

    async def get_chat_data(self) -> dict[int, JsonDict]:
        rows = await orm_in_thread(_rows)(CHAT)
        return {int(key): data for key, data in rows.items()}

    async def get_bot_data(self) -> JsonDict:
        rows = await orm_in_thread(_rows)(BOT)
        return dict(rows.get(BOT_KEY, {}))

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        conversations: ConversationDict = await orm_in_thread(_conversations)(name)
        return conversations

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        row_key = conversation_row_key(name, key)
        if new_state is None:  # the conversation ended
            await orm_in_thread(_drop)(CONVERSATION, row_key)
        else:
            await orm_in_thread(_store)(CONVERSATION, row_key, {"state": new_state})

    async def update_user_data(self, user_id: int, data: JsonDict) -> None:
        if data:
            await orm_in_thread(_store)(USER, str(user_id), data)
        else:  # an empty dict (a volunteer who erased their data) leaves no row behind
            await orm_in_thread(_drop)(USER, str(user_id))

    async def update_chat_data(self, chat_id: int, data: JsonDict) -> None:
        if data:
            await orm_in_thread(_store)(CHAT, str(chat_id), data)
        else:
            await orm_in_thread(_drop)(CHAT, str(chat_id))

    async def update_bot_data(self, data: JsonDict) -> None:
        await orm_in_thread(_store)(BOT, BOT_KEY, data)

    async def update_callback_data(self, data: CDCData) -> None:
        """Not stored (callback_data=False)."""

    async def drop_user_data(self, user_id: int) -> None:
        await orm_in_thread(_drop)(USER, str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        await orm_in_thread(_drop)(CHAT, str(chat_id))

    async def refresh_user_data(self, user_id: int, user_data: JsonDict) -> None:
        """One process owns the state; see the module docstring."""

    async def refresh_chat_data(self, chat_id: int, chat_data: JsonDict) -> None:
        """One process owns the state; see the module docstring."""

    async def refresh_bot_data(self, bot_data: JsonDict) -> None:
        """One process owns the state; see the module docstring."""

    async def flush(self) -> None:
        """Every update is written as it comes: nothing is buffered here."""
