"""The volunteers' Telegram bot: the real python-telegram-bot Application long-polling a Bot API
stand-in on loopback (tests/telegram_standin.py), against the test database; recordings are
checked by the real ASR worker. Each test plays volunteers: it sends updates and waits, by
condition, for what the bot sends back."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from django.core.management import call_command

from collection.models import Clip, Prompt, Report, TelegramState, Volunteer, Vote
from collection.telegram.persistence import conversation_row_key
from tests.factories import ClipFactory, PromptFactory, VolunteerFactory
from tests.support import CLIPS
from tests.telegram_standin import BotApiStandIn, Call, polling_bot
from tests.telegram_standin import Volunteer as TelegramUser
from uzwhisper.db import orm_in_thread
from uzwhisper.lib.audio import decode_to_array, write_audio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

RU = CLIPS["demo-nogo"]  # Russian read speech the bundled model writes almost exactly
# Waits on the bot alone: a reply takes well under a second; a busy 2-core machine (the ASR
# worker decoding next door) can stall it for seconds.
REPLY_S = 30
# Waits that include the ASR worker's model check of a 10 s clip (about 2 s when idle).
CHECKS_S = 120


def orm(func: Callable[..., Any]) -> Callable[..., Any]:
    """ORM work from the test's event loop, giving the thread's connection back (so the test
    database can be dropped at the end)."""
    return orm_in_thread(func)


@pytest.fixture
def standin() -> Iterator[BotApiStandIn]:
    server = BotApiStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def bot_settings(settings, standin):
    settings.TELEGRAM_BOT_TOKEN = standin.token
    settings.TELEGRAM_API_BASE_URL = standin.url
    settings.TELEGRAM_WEBHOOK_SECRET = "webhook-secret-for-tests"
    settings.TELEGRAM_PERSISTENCE_SECONDS = 0.2
    return settings


@pytest_asyncio.fixture
async def bot(bot_settings) -> AsyncIterator[Any]:
    async with polling_bot() as application:
        yield application


@pytest.fixture(scope="module")
def voice_bytes(tmp_path_factory) -> Callable[[np.ndarray], bytes]:
    """Samples (16 kHz) as a Telegram voice message: OGG/Opus."""
    folder = tmp_path_factory.mktemp("voice")

    def encode(samples: np.ndarray) -> bytes:
        path = folder / f"take-{len(list(folder.iterdir()))}.ogg"
        return write_audio(samples, path, fmt="ogg").read_bytes()

    return encode


@pytest.fixture(scope="module")
def ru_speech() -> np.ndarray:
    return decode_to_array(RU.path)


async def onboard(standin: BotApiStandIn, user: TelegramUser, **answers: str) -> Call:
    """/start, consent and the four profile questions through the bot; returns the menu."""
    choices = {
        "age_band": "thirties",
        "gender": "female",
        "dialect": "fergana",
        "native_language": "uz",
        **answers,
    }
    mark = standin.mark()
    standin.send_text(user, "/start")
    question = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
    steps = [("consent", "yes"), *choices.items()]
    for number, (field, value) in enumerate(steps):
        mark = standin.mark()
        standin.press(user, question, f"{field}:{value}")
        if number + 1 < len(steps):
            following = steps[number + 1][0]
            question = await standin.reply(user, after=mark, button=f"{following}:", within=REPLY_S)
    return await standin.reply(user, after=mark, button="menu:record", within=REPLY_S)


async def telegram_volunteer(user: TelegramUser, **fields: Any) -> Volunteer:
    """A volunteer who consented and filled their profile earlier (by factory)."""
    volunteer: Volunteer = await orm(VolunteerFactory)(user=None, telegram_id=user.id, **fields)
    return volunteer


async def count(model: type, **filters: Any) -> int:
    return int(await orm(lambda: model.objects.filter(**filters).count())())


# --- consent, profile, language ------------------------------------------------------------


async def test_a_volunteer_consents_and_fills_their_profile_in_uzbek(bot, standin):
    alisher = TelegramUser(1001)
    mark = standin.mark()
    standin.send_text(alisher, "/start")
    consent = await standin.reply(alisher, after=mark, button="consent:", within=REPLY_S)
    # Uzbek by default, with the oʻ/gʻ letter (U+02BB), and the terms say what is published.
    assert "oʻzbek" in consent.text
    assert "taxallus" in consent.text
    assert consent.buttons == ["consent:yes", "consent:no"]

    menu = await onboard(standin, alisher, dialect="khorezm", native_language="ru")
    assert "Nima qilamiz?" in menu.text
    volunteer = await orm(Volunteer.objects.get)(telegram_id=alisher.id)
    assert volunteer.consented_at is not None
    assert volunteer.profile() == {
        "age_band": "thirties",
        "gender": "female",
        "dialect": "khorezm",
        "native_language": "ru",
    }
    assert volunteer.interface_language == "uz"
    # The dialect question offers every Dialect choice.
    dialects = standin.find(lambda c: any(b.startswith("dialect:") for b in c.buttons))
    assert dialects is not None
    assert len(dialects.buttons) == 7
    assert standin.unknown_methods == []


async def test_declining_consent_stores_no_volunteer(bot, standin):
    user = TelegramUser(1002)
    mark = standin.mark()
    standin.send_text(user, "/start")
    consent = await standin.reply(user, after=mark, button="consent:no", within=REPLY_S)
    mark = standin.mark()
    standin.press(user, consent, "consent:no")
    await standin.reply(user, after=mark, contains="Roziliksiz", within=REPLY_S)
    assert await count(Volunteer, telegram_id=user.id) == 0
    # Recording without consent leads back to the terms.
    mark = standin.mark()
    standin.send_text(user, "/record")
    await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)


async def test_language_switches_the_bot_to_russian_and_is_stored(bot, standin):
    user = TelegramUser(1003)
    await onboard(standin, user)
    mark = standin.mark()
    standin.send_text(user, "/language")
    choice = await standin.reply(user, after=mark, button="lang:ru", within=REPLY_S)
    mark = standin.mark()
    standin.press(user, choice, "lang:ru")
    await standin.reply(user, after=mark, contains="Язык интерфейса: русский", within=REPLY_S)
    volunteer = await orm(Volunteer.objects.get)(telegram_id=user.id)
    assert volunteer.interface_language == "ru"
    mark = standin.mark()
    standin.send_text(user, "/profile")
    profile = await standin.reply(user, after=mark, contains="Ваш профиль", within=REPLY_S)
    assert "Ферганская долина" in profile.text
    assert "Русский" in profile.text


async def test_profile_can_be_edited(bot, standin):
    user = TelegramUser(1004)
    await onboard(standin, user)
    mark = standin.mark()
    standin.send_text(user, "/profile")
    profile = await standin.reply(user, after=mark, button="profile:edit", within=REPLY_S)
    assert "Fargʻona vodiysi" in profile.text
    mark = standin.mark()
    standin.press(user, profile, "profile:edit")
    question = await standin.reply(user, after=mark, button="age_band:", within=REPLY_S)
    for field, value, following in [
        ("age_band", "sixties", "gender:"),
        ("gender", "male", "dialect:"),
        ("dialect", "karakalpakstan", "native_language:"),
    ]:
        mark = standin.mark()
        standin.press(user, question, f"{field}:{value}")
        question = await standin.reply(user, after=mark, button=following, within=REPLY_S)
    mark = standin.mark()
    standin.press(user, question, "native_language:other")
    await standin.reply(user, after=mark, button="menu:record", within=REPLY_S)
    volunteer = await orm(Volunteer.objects.get)(telegram_id=user.id)
    assert volunteer.profile() == {
        "age_band": "sixties",
        "gender": "male",
        "dialect": "karakalpakstan",
        "native_language": "other",
    }
