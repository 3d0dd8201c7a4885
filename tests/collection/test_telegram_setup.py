"""The bot's database persistence (TelegramState rows, JSON), its texts, and its commands'
configuration errors and webhook registration."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from collection.models import TelegramState
from collection.telegram import texts
from collection.telegram.persistence import DatabasePersistence
from uzwhisper.db import orm_in_thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_what_one_process_stored_the_next_one_reads():
    before = DatabasePersistence()
    await before.update_conversation("volunteer", (42, 42), "recording")
    await before.update_conversation("volunteer", (43, 43), "gender")
    await before.update_conversation("other", (42, 42), 3)
    await before.update_user_data(42, {"prompt_id": 7, "skipped_clips": ["ab"]})
    await before.update_chat_data(42, {"seen": True})
    await before.update_conversation("volunteer", (43, 43), None)  # ended

    after = DatabasePersistence()
    assert await after.get_conversations("volunteer") == {(42, 42): "recording"}
    assert await after.get_conversations("other") == {(42, 42): 3}
    assert await after.get_user_data() == {42: {"prompt_id": 7, "skipped_clips": ["ab"]}}
    assert await after.get_chat_data() == {42: {"seen": True}}

    # Emptied data (an erased volunteer) and dropped data leave no rows.
    await after.update_user_data(42, {})
    await after.drop_chat_data(42)
    assert await after.get_user_data() == {}
    assert await after.get_chat_data() == {}
    rows = orm_in_thread(TelegramState.objects.filter(kind__in=["user", "chat"]).exists)
    assert not await rows()


def test_a_missing_token_is_named_with_what_to_do(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(CommandError, match=r"TELEGRAM_BOT_TOKEN is not set\..*@BotFather"):
        call_command("run_telegram_bot")


def test_every_text_exists_in_both_languages_and_uzbek_uses_the_okina():
    assert set(texts.TEXTS[texts.UZBEK]) - set(texts.TEXTS[texts.RUSSIAN]) == {"choose_language"}
    assert set(texts.TEXTS[texts.RUSSIAN]) <= set(texts.TEXTS[texts.UZBEK])
    uzbek = " ".join(texts.TEXTS[texts.UZBEK].values())
    # oʻ and gʻ with U+02BB, never an ASCII apostrophe or a right quote.
    assert "oʻ" in uzbek
    assert "gʻ" in uzbek
    for wrong in ("o'", "g'", "o’", "g’", "o‘", "g‘"):
        assert wrong not in uzbek
    for language in (texts.UZBEK, texts.RUSSIAN):
        assert set(texts.LABELS[language]) == set(texts.LABELS[texts.UZBEK])
    assert texts.refusal("ru", "clip_silent", "fallback") != "fallback"
    assert texts.refusal("ru", "a_new_code", "The service says why.") == "The service says why."


@pytest.mark.django_db
def test_set_webhook_registers_the_url_with_the_secret(settings):
    from tests.telegram_standin import BotApiStandIn

    standin = BotApiStandIn().start()
    try:
        settings.TELEGRAM_BOT_TOKEN = standin.token
        settings.TELEGRAM_API_BASE_URL = standin.url
        settings.TELEGRAM_WEBHOOK_SECRET = ""
        url = "https://uzwhisper.example/telegram/webhook/"
        with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET is not set"):
            call_command("run_telegram_bot", set_webhook=url)
        settings.TELEGRAM_WEBHOOK_SECRET = "s3cret-for-tests"
        call_command("run_telegram_bot", set_webhook=url)
    finally:
        standin.stop()
    (registered,) = [c for c in standin.calls if c.method == "setWebhook"]
    assert registered.params["url"] == url
    assert registered.params["secret_token"] == "s3cret-for-tests"
