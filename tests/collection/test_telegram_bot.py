"""The volunteers' Telegram bot: the real python-telegram-bot Application long-polling a Bot API
stand-in on loopback (tests/telegram_standin.py), against the test database; recordings are
checked by the real ASR worker. Each test plays volunteers: it sends updates and waits, by
condition, for what the bot sends back."""

from __future__ import annotations

import asyncio
import csv
import signal
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
from tests.support import CLIPS, PYTHON, ChildProcess, process_env
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
    fields.setdefault("native_language", "uz")
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


# --- recording, validating, export: the whole loop ------------------------------------------


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        return list(reader)


@pytest.mark.worker
async def test_a_recording_is_checked_confirmed_validated_by_two_others_and_exported(
    celery_worker_process, bot, standin, voice_bytes, ru_speech, tmp_path
):
    await orm(PromptFactory)(text=RU.text, language="ru")
    speaker = TelegramUser(2001)
    menu = await onboard(standin, speaker, dialect="tashkent", age_band="forties")

    mark = standin.mark()
    standin.press(speaker, menu, "menu:record")
    offered = await standin.reply(speaker, after=mark, button="rec:skip", within=REPLY_S)
    assert RU.text in offered.text
    take = voice_bytes(ru_speech)
    mark = standin.mark()
    standin.send_voice(speaker, take, duration=round(RU.duration_s))
    await standin.reply(speaker, after=mark, contains="tekshirilmoqda", within=REPLY_S)
    verdict = await standin.reply(
        speaker, after=mark, method="editMessageText", button="clip:ok:", within=CHECKS_S
    )
    assert "tekshiruvdan oʻtdi" in verdict.text
    assert verdict.buttons[1].startswith("clip:redo:")
    clip = await orm(Clip.objects.get)()
    assert (clip.status, clip.source) == ("unconfirmed", "telegram")
    assert await orm(lambda: clip.audio.read())() == take  # the voice message as sent

    mark = standin.mark()
    standin.press(speaker, verdict, "clip:ok:")
    await standin.reply(speaker, after=mark, contains="Yozuv saqlandi", within=REPLY_S)
    # That was the only prompt: none is left for them.
    await standin.reply(speaker, after=mark, contains="jumla qolmadi", within=REPLY_S)
    await orm(clip.refresh_from_db)()
    assert clip.status == "pending"

    for validator in (TelegramUser(2002), TelegramUser(2003)):
        await telegram_volunteer(validator)
        mark = standin.mark()
        standin.send_text(validator, "/validate")
        offered = await standin.reply(
            validator, after=mark, method="sendVoice", button="vote:up:", within=REPLY_S
        )
        assert RU.text in offered.text
        assert offered.uploads["voice"] == take
        mark = standin.mark()
        standin.press(validator, offered, "vote:up:")
        await standin.reply(validator, after=mark, contains="Ovozingiz", within=REPLY_S)
    await orm(clip.refresh_from_db)()
    assert (clip.status, clip.up_votes, clip.down_votes) == ("validated", 2, 0)

    mark = standin.mark()
    standin.send_text(speaker, "/stats")
    stats = await standin.reply(speaker, after=mark, contains="hissangiz", within=REPLY_S)
    assert "Oʻqilgan jumlalar: 1" in stats.text
    assert "Tasdiqlangan yozuvlaringiz: 1" in stats.text

    out = tmp_path / "dataset"
    await orm(call_command)("export_dataset", out=out)
    volunteer = await orm(Volunteer.objects.get)(telegram_id=speaker.id)
    (row,) = read_tsv(out / "validated.tsv")
    assert row["client_id"] == volunteer.pseudonym.hex  # pseudonymous: no Telegram id
    assert (row["sentence"], row["locale"], row["up_votes"]) == (RU.text, "ru", "2")
    assert (row["accents"], row["age"], row["gender"]) == ("tashkent", "forties", "female")
    # One speaker: all of them in train, none in dev or test.
    assert [r["client_id"] for r in read_tsv(out / "train.tsv")] == [volunteer.pseudonym.hex]
    assert read_tsv(out / "dev.tsv") == read_tsv(out / "test.tsv") == []
    exported = "".join(p.read_text() for p in out.glob("*.tsv"))
    assert str(speaker.id) not in exported
    assert standin.unknown_methods == []


# --- bad takes and faults ---------------------------------------------------------------------


@pytest.fixture
def ru_prompt(db) -> Prompt:
    return PromptFactory(text=RU.text, language="ru")


async def recording(standin: BotApiStandIn, user: TelegramUser) -> Call:
    """A volunteer (consented, with a profile) asks for a prompt; returns the prompt's message."""
    await telegram_volunteer(user)
    mark = standin.mark()
    standin.send_text(user, "/record")
    return await standin.reply(user, after=mark, button="rec:skip", within=REPLY_S)


def corrupt(speech: np.ndarray, encode: Callable[[np.ndarray], bytes]) -> bytes:
    return b"OggS" + bytes(range(256)) * 40


def short(speech: np.ndarray, encode: Callable[[np.ndarray], bytes]) -> bytes:
    return encode(speech[: int(0.3 * 16000)])


def silence(speech: np.ndarray, encode: Callable[[np.ndarray], bytes]) -> bytes:
    return encode(np.zeros(8 * 16000, dtype=np.float32))


@pytest.mark.parametrize(
    ("make_take", "reason"),
    [
        (corrupt, "fayl buzilgan"),
        (short, "juda qisqa"),
        (silence, "ovoz eshitilmayapti"),
    ],
    ids=["corrupt", "0.3 s", "silence"],
)
async def test_a_bad_take_is_refused_with_its_reason_and_a_rerecord_offer(
    bot, standin, ru_prompt, voice_bytes, ru_speech, make_take, reason
):
    user = TelegramUser(3001)
    await recording(standin, user)
    mark = standin.mark()
    standin.send_voice(user, make_take(ru_speech, voice_bytes), duration=8)
    refusal = await standin.reply(user, after=mark, contains="qabul qilinmadi", within=REPLY_S)
    assert reason in refusal.text
    assert refusal.buttons == ["rec:again", "rec:skip"]
    assert await count(Clip) == 0  # nothing stored
    mark = standin.mark()
    standin.press(user, refusal, "rec:again")
    again = await standin.reply(user, after=mark, button="rec:skip", within=REPLY_S)
    assert RU.text in again.text  # the same sentence, to read again


async def test_a_ten_minute_voice_message_is_refused_before_it_is_downloaded(
    bot, standin, ru_prompt
):
    user = TelegramUser(3002)
    await recording(standin, user)
    mark = standin.mark()
    standin.send_voice(user, b"\0" * 4096, duration=600, file_size=2_400_000)
    refusal = await standin.reply(user, after=mark, contains="juda uzun", within=REPLY_S)
    assert "600 soniya" in refusal.text
    # Telegram's word for its length and size is enough: the file was never fetched.
    mark = standin.mark()
    standin.send_voice(user, b"\0" * 4096, duration=20, file_size=50 * 1024 * 1024)
    await standin.reply(user, after=mark, contains="juda katta", within=REPLY_S)
    assert standin.find(lambda c: c.method == "getFile") is None
    assert standin.file_downloads == []
    assert await count(Clip) == 0


@pytest.mark.parametrize("kind", ["video note", "document", "text"])
async def test_anything_but_a_voice_message_is_answered_with_what_to_send(
    bot, standin, ru_prompt, voice_bytes, ru_speech, kind
):
    user = TelegramUser(3003)
    await recording(standin, user)
    mark = standin.mark()
    if kind == "video note":
        standin.send_video_note(user, b"\0" * 2048)
        expected = "dumaloq video"
    elif kind == "document":
        standin.send_document(
            user, voice_bytes(ru_speech), file_name="take.ogg", mime_type="audio/ogg"
        )
        expected = "Bu fayl"
    else:
        standin.send_text(user, "Salom!")
        expected = "ovozli xabar qilib yuboring"
    reply = await standin.reply(user, after=mark, contains=expected, within=REPLY_S)
    assert RU.text in reply.text  # the sentence to read, again
    assert await count(Clip) == 0


@pytest.mark.parametrize("fault", ["getFile", "download"])
async def test_a_failed_download_asks_to_send_again_and_stores_nothing(
    bot, standin, ru_prompt, voice_bytes, ru_speech, fault
):
    user = TelegramUser(3004)
    await recording(standin, user)
    mark = standin.mark()
    sent = standin.send_voice(user, voice_bytes(ru_speech), duration=11, fault=fault)
    await standin.reply(user, after=mark, contains="yana bir bor yuboring", within=REPLY_S)
    assert await count(Clip) == 0
    assert standin.find(lambda c: c.method == "getFile", after=mark) is not None
    # The file URL is fetched only once getFile has answered.
    assert standin.file_downloads == ([sent.path] if fault == "download" else [])


async def test_slow_checks_are_reported_and_the_verdict_can_be_asked_for_again(
    bot, bot_settings, standin, ru_prompt, voice_bytes, ru_speech
):
    from collection.model_checks import clip_run_checks

    # No waiting at all: the first look finds the clip still being checked (the model check
    # takes seconds, wherever it runs; the first look comes within milliseconds).
    bot_settings.COLLECTION_CHECK_WAIT_SECONDS = 0
    user = TelegramUser(3005)
    await recording(standin, user)
    mark = standin.mark()
    standin.send_voice(user, voice_bytes(ru_speech), duration=11)
    slow = await standin.reply(user, after=mark, button="clip:status:", within=REPLY_S)
    assert "choʻzilib ketdi" in slow.text
    clip = await orm(Clip.objects.get)()
    await orm(clip_run_checks)(clip_id=clip.id)  # the worker's work, here
    mark = standin.mark()
    standin.press(user, slow, "clip:status:")
    verdict = await standin.reply(user, after=mark, button="clip:ok:", within=REPLY_S)
    assert "tekshiruvdan oʻtdi" in verdict.text
    # A text meanwhile gets the take's standing again, with its buttons.
    mark = standin.mark()
    standin.send_text(user, "nima boʻldi?")
    again = await standin.reply(user, after=mark, button="clip:ok:", within=REPLY_S)
    assert "tekshiruvdan oʻtdi" in again.text


# --- validating ---------------------------------------------------------------------------------


async def test_a_double_tap_on_a_vote_counts_once_and_is_answered(bot, standin):
    clip = await orm(ClipFactory)()  # a web recording (WAV): sent as an audio file
    user = TelegramUser(4001)
    await telegram_volunteer(user)
    mark = standin.mark()
    standin.send_text(user, "/validate")
    offered = await standin.reply(
        user, after=mark, method="sendAudio", button="vote:up:", within=REPLY_S
    )
    assert offered.buttons[0] == f"vote:up:{clip.id.hex}"
    first = standin.press(user, offered, "vote:up:")
    second = standin.press(user, offered, "vote:up:")  # before the bot removed the buttons
    assert (await standin.answer(first, within=REPLY_S)).params["text"] == "Rahmat!"
    again = await standin.answer(second, within=REPLY_S)
    assert "allaqachon hisobga olingan" in again.params["text"]
    assert await count(Vote) == 1
    await orm(clip.refresh_from_db)()
    assert (clip.up_votes, clip.status) == (1, "pending")


async def test_skip_offers_another_clip_and_a_report_is_stored_with_its_reason(bot, standin):
    older = await orm(ClipFactory)()
    newer = await orm(ClipFactory)()
    user = TelegramUser(4002)
    await telegram_volunteer(user)
    mark = standin.mark()
    standin.send_text(user, "/validate")
    offered = await standin.reply(user, after=mark, button="vote:skip:", within=REPLY_S)
    assert f"vote:skip:{older.id.hex}" in offered.buttons  # the oldest first
    mark = standin.mark()
    standin.press(user, offered, "vote:skip:")
    offered = await standin.reply(user, after=mark, button="vote:report:", within=REPLY_S)
    assert f"vote:report:{newer.id.hex}" in offered.buttons

    mark = standin.mark()
    standin.press(user, offered, "vote:report:")
    reasons = await standin.reply(
        user, after=mark, method="editMessageReplyMarkup", button="report:", within=REPLY_S
    )
    assert len(reasons.buttons) == len(Report.Reason.values) + 1  # and "back"
    mark = standin.mark()
    query = standin.press(user, reasons, "report:grammar:")
    assert "qabul qilindi" in (await standin.answer(query, within=REPLY_S)).params["text"]
    # The skipped clip is not offered again at once: nothing is left.
    await standin.reply(user, after=mark, contains="tekshiriladigan yozuv yoʻq", within=REPLY_S)
    report = await orm(Report.objects.get)()
    assert (report.prompt_id, report.reason) == (newer.prompt_id, "grammar")
    assert await count(Vote) == 0


# --- coming back days later; a restart --------------------------------------------------------


async def test_buttons_from_days_ago_are_answered_and_the_menu_offered_again(
    bot, standin, ru_prompt
):
    from collection.services import vote_cast

    user = TelegramUser(5001)
    mark = standin.mark()
    standin.send_text(user, "/start")
    consent = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
    await onboard(standin, user)
    # The consent message as it first came, still on their screen, pressed after moving on.
    mark = standin.mark()
    standin.send_text(user, "/record")
    await standin.reply(user, after=mark, button="rec:skip", within=REPLY_S)
    mark = standin.mark()
    standin.press(user, consent, "consent:yes")
    await standin.reply(user, after=mark, contains="eskirgan", button="menu:", within=REPLY_S)

    # A clip offered to them, decided by others while they were away.
    clip = await orm(ClipFactory)()
    mark = standin.mark()
    standin.send_text(user, "/validate")
    offered = await standin.reply(user, after=mark, button="vote:down:", within=REPLY_S)
    for _ in range(2):
        await orm(vote_cast)(clip_id=clip.id, voter=await orm(VolunteerFactory)(), is_valid=True)
    mark = standin.mark()
    standin.press(user, offered, "vote:down:")
    await standin.reply(user, after=mark, contains="allaqachon baholangan", within=REPLY_S)
    await standin.reply(user, after=mark, contains="tekshiriladigan yozuv yoʻq", within=REPLY_S)
    assert await count(Vote, voter__telegram_id=user.id) == 0

    # Confirm on a take that no longer exists (re-recorded elsewhere, or erased).
    mark = standin.mark()
    standin.press_data(user, offered, "clip:ok:" + "0" * 32)
    await standin.reply(user, after=mark, contains="endi mavjud emas", within=REPLY_S)


async def test_the_conversation_survives_a_bot_restart(bot_settings, standin, ru_prompt):
    user = TelegramUser(6001)
    async with polling_bot():
        mark = standin.mark()
        standin.send_text(user, "/start")
        consent = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, consent, "consent:yes")
        age = await standin.reply(user, after=mark, button="age_band:", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, age, "age_band:twenties")
        gender = await standin.reply(user, after=mark, button="gender:", within=REPLY_S)

    key = conversation_row_key("volunteer", (user.id, user.id))
    state = await orm(TelegramState.objects.get)(kind="conversation", key=key)
    assert state.data == {"state": "gender"}

    async with polling_bot():  # a new process would start like this
        # The gender question, answered after the restart, goes on to the next question.
        mark = standin.mark()
        standin.press(user, gender, "gender:male")
        dialect = await standin.reply(user, after=mark, button="dialect:", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, dialect, "dialect:samarkand_bukhara")
        native = await standin.reply(user, after=mark, button="native_language:", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, native, "native_language:uz")
        menu = await standin.reply(user, after=mark, button="menu:record", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, menu, "menu:record")
        await standin.reply(user, after=mark, contains=RU.text, within=REPLY_S)

    async with polling_bot():
        # Still waiting for a voice for that sentence (kept in the user's data).
        mark = standin.mark()
        standin.send_text(user, "salom")
        reminder = await standin.reply(user, after=mark, contains="ovozli xabar", within=REPLY_S)
        assert RU.text in reminder.text
    volunteer = await orm(Volunteer.objects.get)(telegram_id=user.id)
    assert volunteer.dialect == "samarkand_bukhara"


async def test_a_verdict_awaited_when_the_bot_stopped_is_given_by_the_next_one(
    bot_settings, standin, ru_prompt, voice_bytes, ru_speech
):
    from collection.model_checks import clip_run_checks

    user = TelegramUser(6011)
    async with polling_bot():
        await recording(standin, user)
        mark = standin.mark()
        standin.send_voice(user, voice_bytes(ru_speech), duration=11)
        checking = await standin.reply(user, after=mark, contains="tekshirilmoqda", within=REPLY_S)
        # Stopped at once: the model check of 10 s of speech takes seconds, so the take is still
        # being checked (and the stop does not wait for it).
    assert [c for c in standin.sent_to(user, after=mark) if c.method == "editMessageText"] == []

    clip = await orm(Clip.objects.get)()
    await orm(clip_run_checks)(clip_id=clip.id)  # the worker's work (a no-op if it did it)
    mark = standin.mark()
    async with polling_bot():
        verdict = await standin.reply(user, after=mark, button="clip:ok:", within=REPLY_S)
    assert verdict.method == "editMessageText"
    assert int(verdict.params["message_id"]) == checking.result["message_id"]
    assert "tekshiruvdan oʻtdi" in verdict.text


async def until(condition: Callable[[], Any], *, within: float, what: str) -> None:
    """Poll `condition` (sync, run in a thread) until it is true, for up to `within` s."""
    async with asyncio.timeout(within):
        # The condition is in the database and another process: nothing here to await.
        while not await orm(condition)():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    assert await orm(condition)(), what


@pytest.mark.slow
async def test_run_telegram_bot_killed_mid_conversation_resumes_from_the_database(
    standin, ru_prompt
):
    env = {
        "TELEGRAM_BOT_TOKEN": standin.token,
        "TELEGRAM_API_BASE_URL": standin.url,
        "TELEGRAM_PERSISTENCE_SECONDS": "0.2",
    }
    args = [PYTHON, "manage.py", "run_telegram_bot"]
    ready = "Telegram bot polling"
    user = TelegramUser(6101)
    first = ChildProcess("telegram-bot-1", args, process_env(**env), ready)
    try:
        mark = standin.mark()
        standin.send_text(user, "/start")
        consent = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, consent, "consent:yes")
        age = await standin.reply(user, after=mark, button="age_band:", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, age, "age_band:fifties")
        gender = await standin.reply(user, after=mark, button="gender:", within=REPLY_S)
        key = conversation_row_key("volunteer", (user.id, user.id))
        await until(
            lambda: (
                TelegramState.objects.filter(
                    kind="conversation", key=key, data={"state": "gender"}
                ).exists()
                and standin.confirmed(standin.last_update_id)
            ),
            within=REPLY_S,
            what="the state is written and the update confirmed",
        )
    finally:
        first.kill(signal.SIGKILL)  # no chance to write anything on the way out
        first.stop()

    second = ChildProcess("telegram-bot-2", args, process_env(**env), ready)
    try:
        mark = standin.mark()
        standin.press(user, gender, "gender:female")
        await standin.reply(user, after=mark, button="dialect:", within=REPLY_S)
    finally:
        second.stop()
    volunteer = await orm(Volunteer.objects.get)(telegram_id=user.id)
    assert (volunteer.age_band, volunteer.gender) == ("fifties", "female")


# --- stats, erasure -----------------------------------------------------------------------------


async def test_stats_count_own_work_and_the_leaderboard_names_no_one(bot, standin):
    user = TelegramUser(7001, first_name="Dilnoza")
    volunteer = await telegram_volunteer(user)
    for status in ("validated", "validated", "pending", "unconfirmed"):
        await orm(ClipFactory)(volunteer=volunteer, status=status)
    other = await orm(ClipFactory)()
    await orm(
        lambda: Vote.objects.create(
            clip=other, voter=volunteer, is_valid=True, created_at=other.created_at
        )
    )()
    busiest = await orm(VolunteerFactory)()
    for _ in range(6):
        await orm(ClipFactory)(volunteer=busiest)
    mark = standin.mark()
    standin.send_text(user, "/stats")
    stats = await standin.reply(user, after=mark, contains="hissangiz", within=REPLY_S)
    assert "Oʻqilgan jumlalar: 3" in stats.text  # the unconfirmed take does not count
    assert "Tasdiqlangan yozuvlaringiz: 2" in stats.text
    assert "Bergan ovozlaringiz: 1" in stats.text
    board = stats.text.split("Eng faol koʻngillilar:")[1].strip().splitlines()
    assert board[0].startswith(f"1. {busiest.pseudonym.hex[:6]}: 6 ta yozuv")
    assert board[1] == f"2. {volunteer.pseudonym.hex[:6]}: 3 ta yozuv, 1 ta ovoz (siz)"
    assert "Dilnoza" not in stats.text
    assert str(user.id) not in stats.text


async def test_delete_erases_the_volunteer_their_clips_and_their_bot_state(bot_settings, standin):
    user = TelegramUser(8001)
    async with polling_bot():
        await onboard(standin, user)
        volunteer = await orm(Volunteer.objects.get)(telegram_id=user.id)
        for _ in range(2):
            await orm(ClipFactory)(volunteer=volunteer)
        mark = standin.mark()
        standin.send_text(user, "/delete")
        confirm = await standin.reply(user, after=mark, button="delete:yes", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, confirm, "delete:no")
        await standin.reply(user, after=mark, contains="Hech narsa oʻchirilmadi", within=REPLY_S)
        assert await count(Volunteer, telegram_id=user.id) == 1
        mark = standin.mark()
        standin.send_text(user, "/delete")
        confirm = await standin.reply(user, after=mark, button="delete:yes", within=REPLY_S)
        mark = standin.mark()
        standin.press(user, confirm, "delete:yes")
        await standin.reply(user, after=mark, contains="(2 ta yozuv)", within=REPLY_S)
    assert await count(Volunteer, telegram_id=user.id) == 0
    assert await count(Clip) == 0
    states = await orm(lambda: list(TelegramState.objects.values_list("kind", "key")))()
    assert [s for s in states if str(user.id) in s[1]] == []


# --- the webhook ------------------------------------------------------------------------------


async def test_the_webhook_checks_telegrams_secret_and_hands_the_update_to_the_bot(
    bot_settings, standin
):
    from django.test import AsyncClient

    from collection.telegram.webhook import WEBHOOK_HEADER, stop_webhook_application

    user = TelegramUser(9001)
    client = AsyncClient()
    # The update a volunteer's /start makes, as Telegram posts it.
    update = standin.make_update(
        "message",
        standin.message(
            user, text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
        ),
    )
    url = "/telegram/webhook/"
    try:
        for headers in ({}, {WEBHOOK_HEADER: "guessed"}):
            refused = await client.post(
                url, data=update, content_type="application/json", headers=headers
            )
            assert refused.status_code == 403
        assert (await client.get(url, headers={WEBHOOK_HEADER: "x"})).status_code == 405
        secret = {WEBHOOK_HEADER: bot_settings.TELEGRAM_WEBHOOK_SECRET}
        for junk in ("not json", '{"message": {}}'):
            rejected = await client.post(
                url, data=junk, content_type="application/json", headers=secret
            )
            assert rejected.status_code == 400
        mark = standin.mark()
        accepted = await client.post(
            url,
            data=update,
            content_type="application/json",
            headers={WEBHOOK_HEADER: bot_settings.TELEGRAM_WEBHOOK_SECRET},
        )
        assert accepted.status_code == 200
        consent = await standin.reply(user, after=mark, button="consent:yes", within=REPLY_S)
        # The next update of the conversation goes through the same Application.
        query = standin.callback_query(user, dict(consent.result), "consent:yes")
        mark = standin.mark()
        accepted = await client.post(
            url,
            data=standin.make_update("callback_query", query),
            content_type="application/json",
            headers={WEBHOOK_HEADER: bot_settings.TELEGRAM_WEBHOOK_SECRET},
        )
        assert accepted.status_code == 200
        await standin.reply(user, after=mark, button="age_band:", within=REPLY_S)
    finally:
        await stop_webhook_application()
    assert await count(Volunteer, telegram_id=user.id, consented_at__isnull=False) == 1
    # Without a configured secret nothing is accepted.
    bot_settings.TELEGRAM_WEBHOOK_SECRET = ""
    refused = await client.post(
        url, data=update, content_type="application/json", headers={WEBHOOK_HEADER: ""}
    )
    assert refused.status_code == 403
