"""The bot's handlers: one persistent ConversationHandler ("volunteer") whose state lives in the
database (persistence.DatabasePersistence), so a restarted bot picks up where a volunteer was.

Handlers stay thin: they read through collection.selectors, write through collection.services and
turn ApplicationError codes into replies (texts.py). Buttons carry plain strings
(`<kind>:<action>[:<clip id hex>]`), so a button from days ago still says what it was for: one
that no longer fits the conversation is answered as stale and the menu is offered again.

Commands and the buttons that name their clip (votes, reports, confirm/re-record) are entry
points with re-entry allowed: they work from any state. The states hold what only makes sense at
one step: consent, the profile questions, a voice for the prompt being read, erasure."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    Voice,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from collection import selectors, services
from collection.models import AgeBand, Clip, Dialect, Gender, Report, Volunteer
from uzwhisper.db import orm_in_thread
from uzwhisper.errors import ApplicationError

from . import texts

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

CONVERSATION_NAME = "volunteer"
# How often the bot looks at a clip's status while the checks run.
CHECK_POLL_SECONDS = 0.5
# The user's data key of the take whose verdict is awaited, and where its message is.
AWAITED_VERDICT = "awaited_verdict"
# How many skipped prompts and clips a volunteer's state remembers (so they are not offered
# again at once); older skips are offered again.
SKIPS_REMEMBERED = 50
NATIVE_LANGUAGES = ("uz", "ru", "other")


class State:
    """Conversation states: strings, so TelegramState rows read plainly."""

    CONSENT = "consent"
    AGE_BAND = "age_band"
    GENDER = "gender"
    DIALECT = "dialect"
    NATIVE_LANGUAGE = "native_language"
    MENU = "menu"
    RECORDING = "recording"  # a prompt is out; a voice message is expected
    REVIEW = "review"  # a clip is being checked or waits for Confirm / Re-record
    VALIDATING = "validating"
    DELETING = "deleting"


# The profile questions in the order they are asked; each one's state is its field's name.
PROFILE_CHOICES: dict[str, Sequence[str]] = {
    State.AGE_BAND: AgeBand.values,
    State.GENDER: Gender.values,
    State.DIALECT: Dialect.values,
    State.NATIVE_LANGUAGE: NATIVE_LANGUAGES,
}
PROFILE_FIELDS = tuple(PROFILE_CHOICES)
COMMANDS = ("start", "record", "validate", "stats", "profile", "language", "delete", "help")


# --- small helpers -------------------------------------------------------------------------


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _pairs(items: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    return [items[i : i + 2] for i in range(0, len(items), 2)]


def _user_id(update: Update) -> int:
    assert update.effective_user is not None  # every handled update comes from a person
    return update.effective_user.id


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _user_data(context: Context) -> dict[str, Any]:
    assert context.user_data is not None  # per-user updates only
    return context.user_data


def _remember(user_data: dict[str, Any], key: str, value: Any) -> None:
    remembered = [item for item in user_data.get(key, []) if item != value]
    user_data[key] = [*remembered, value][-SKIPS_REMEMBERED:]


async def _find_volunteer(update: Update) -> Volunteer | None:
    volunteer: Volunteer | None = await orm_in_thread(selectors.volunteer_by_telegram_id)(
        telegram_id=_user_id(update)
    )
    return volunteer


def _language(volunteer: Volunteer | None) -> str:
    return volunteer.interface_language if volunteer else texts.DEFAULT_LANGUAGE


async def _say(
    update: Update, context: Context, message: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    return await context.bot.send_message(
        chat_id=_chat_id(update), text=message, reply_markup=markup
    )


async def _edit(
    query: CallbackQuery, message: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace a bot message's text (and buttons). A message Telegram no longer lets us edit
    (too old, deleted, unchanged) is left as it is."""
    try:
        await query.edit_message_text(message, reply_markup=markup)
    except BadRequest as error:
        logger.info("could not edit message: %s", error)


async def _remove_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        logger.info("could not remove buttons: %s", error)


def _menu_keyboard(language: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(texts.text(language, "menu_record"), "menu:record")],
            [(texts.text(language, "menu_validate"), "menu:validate")],
        ]
    )


async def _show_menu(update: Update, context: Context, language: str, notice: str = "") -> str:
    message = (
        f"{notice}\n\n{texts.text(language, 'menu')}" if notice else texts.text(language, "menu")
    )
    await _say(update, context, message, _menu_keyboard(language))
    return State.MENU


# --- consent and profile -------------------------------------------------------------------


def _profile_question(language: str, field: str) -> tuple[str, InlineKeyboardMarkup]:
    choices = [
        (texts.label(language, field, value), f"{field}:{value}")
        for value in PROFILE_CHOICES[field]
    ]
    return texts.text(language, f"ask_{field}"), keyboard(_pairs(choices))


def _first_missing_field(volunteer: Volunteer) -> str | None:
    return next((field for field in PROFILE_FIELDS if not getattr(volunteer, field)), None)


async def _ask_consent(update: Update, context: Context, language: str) -> str:
    buttons = keyboard(
        [
            [
                (texts.text(language, "consent_yes"), "consent:yes"),
                (texts.text(language, "consent_no"), "consent:no"),
            ]
        ]
    )
    await _say(update, context, texts.text(language, "consent"), buttons)
    return State.CONSENT


async def _ask_field(update: Update, context: Context, language: str, field: str) -> str:
    question, buttons = _profile_question(language, field)
    await _say(update, context, question, buttons)
    return field


async def _ready_or_onboard(update: Update, context: Context) -> tuple[Volunteer | None, str]:
    """The volunteer when they have consented and filled their profile; otherwise (None, the
    state of the question just asked)."""
    volunteer = await _find_volunteer(update)
    if volunteer is None or volunteer.consented_at is None:
        return None, await _ask_consent(update, context, _language(volunteer))
    missing = _first_missing_field(volunteer)
    if missing:
        return None, await _ask_field(update, context, volunteer.interface_language, missing)
    return volunteer, State.MENU


async def start(update: Update, context: Context) -> str:
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    return await _show_menu(update, context, volunteer.interface_language)


async def consent_chosen(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    existing = await _find_volunteer(update)
    language = _language(existing)
    if query.data == "consent:no":
        await _edit(query, texts.text(language, "consent_declined"))
        return ConversationHandler.END
    volunteer = await orm_in_thread(services.volunteer_for_telegram)(telegram_id=_user_id(update))
    # Consent is recorded by the profile service (it stamps consented_at on first use).
    volunteer = await orm_in_thread(services.volunteer_update_profile)(volunteer=volunteer)
    question, buttons = _profile_question(language, PROFILE_FIELDS[0])
    await _edit(query, question, buttons)
    return PROFILE_FIELDS[0]


async def profile_chosen(update: Update, context: Context) -> str:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    field, value = query.data.split(":", 1)
    volunteer = await _find_volunteer(update)
    if volunteer is None or volunteer.consented_at is None:
        return await _ask_consent(update, context, _language(volunteer))
    volunteer = await orm_in_thread(services.volunteer_update_profile)(
        volunteer=volunteer, **{field: value}
    )
    language = volunteer.interface_language
    following = PROFILE_FIELDS[PROFILE_FIELDS.index(field) + 1 :]
    if following:
        question, buttons = _profile_question(language, following[0])
        await _edit(query, question, buttons)
        return following[0]
    await _edit(query, texts.text(language, "profile_saved"))
    return await _show_menu(update, context, language)


async def profile(update: Update, context: Context) -> str | None:
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    language = volunteer.interface_language
    values = {
        field: texts.label(language, field, getattr(volunteer, field))
        if getattr(volunteer, field)
        else texts.text(language, "not_set")
        for field in (*PROFILE_FIELDS, "interface_language")
    }
    buttons = keyboard([[(texts.text(language, "profile_edit"), "profile:edit")]])
    await _say(update, context, texts.text(language, "profile", **values), buttons)
    return None


async def profile_edit(update: Update, context: Context) -> str:
    query = update.callback_query
    assert query is not None
    await query.answer()
    volunteer = await _find_volunteer(update)
    if volunteer is None or volunteer.consented_at is None:
        return await _ask_consent(update, context, _language(volunteer))
    await _remove_buttons(query)
    return await _ask_field(update, context, volunteer.interface_language, PROFILE_FIELDS[0])


# --- recording -----------------------------------------------------------------------------


async def _offer_prompt(
    update: Update, context: Context, volunteer: Volunteer, *, prompt_id: int | None = None
) -> str:
    """Send a prompt to read: `prompt_id`, or the next one for them."""
    language = volunteer.interface_language
    user_data = _user_data(context)
    if prompt_id is not None:
        prompt = await orm_in_thread(selectors.prompt_get)(prompt_id=prompt_id)
    else:
        skipped = user_data.get("skipped_prompts", [])
        candidates = await orm_in_thread(selectors.prompts_to_record)(
            volunteer=volunteer, limit=len(skipped) + 1
        )
        prompt = next((p for p in candidates if p.id not in skipped), None)
    if prompt is None:
        user_data.pop("prompt_id", None)
        return await _show_menu(update, context, language, texts.text(language, "no_prompts"))
    user_data["prompt_id"] = prompt.id
    user_data["prompt_text"] = prompt.text
    buttons = keyboard([[(texts.text(language, "skip_prompt"), "rec:skip")]])
    await _say(update, context, texts.text(language, "prompt", text=prompt.text), buttons)
    return State.RECORDING


async def record(update: Update, context: Context) -> str:
    if update.callback_query:
        await update.callback_query.answer()
        await _remove_buttons(update.callback_query)
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    await _discard_pending_take(context, volunteer)
    return await _offer_prompt(update, context, volunteer)


async def _own_clip(clip_hex: str, volunteer: Volunteer) -> Clip | None:
    """`volunteer`'s clip, or None when it is gone (recorded again, erased) or not theirs."""
    try:
        clip: Clip = await orm_in_thread(selectors.clip_get_for_volunteer)(
            volunteer=volunteer, clip_id=clip_hex
        )
    except ApplicationError:
        return None
    return clip


async def _discard_pending_take(context: Context, volunteer: Volunteer) -> None:
    """Drop the take awaiting Confirm (a volunteer who records again or moves on)."""
    clip_id = _user_data(context).pop("clip_id", None)
    if clip_id is None:
        return
    try:
        await orm_in_thread(services.clip_discard)(clip_id=clip_id, volunteer=volunteer)
    except ApplicationError as gone:  # confirmed meanwhile, or already discarded
        logger.info("take %s not discarded: %s", clip_id, gone.code)


async def recording_button(update: Update, context: Context) -> str:
    """`rec:skip` (another prompt) and `rec:again` (read the same prompt again)."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    await _remove_buttons(query)
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    user_data = _user_data(context)
    prompt_id = user_data.get("prompt_id")
    await _discard_pending_take(context, volunteer)
    if query.data == "rec:skip":
        if prompt_id is not None:
            _remember(user_data, "skipped_prompts", prompt_id)
        return await _offer_prompt(update, context, volunteer)
    return await _offer_prompt(update, context, volunteer, prompt_id=prompt_id)


def _voice_seconds(voice: Voice) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that `duration` will become a timedelta; both forms are read here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration = voice.duration
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


def _prompt_reminder(context: Context) -> str:
    return str(_user_data(context).get("prompt_text", ""))


async def not_a_voice(update: Update, context: Context) -> None:
    """A text, video note, file or audio file where a voice message is expected."""
    volunteer = await _find_volunteer(update)
    language = _language(volunteer)
    message = update.effective_message
    assert message is not None
    if message.video_note or message.video:
        key = "video_note_not_voice"
    elif message.document or message.audio:
        key = "file_not_voice"
    else:
        key = "voice_expected"
    await message.reply_text(texts.text(language, key, text=_prompt_reminder(context)))


async def voice_received(update: Update, context: Context) -> str | None:
    """A take of the prompt being read: refused at once when Telegram says it is too long or
    too big (before downloading it), otherwise downloaded and submitted; the checks' verdict
    comes later (`_report_checks`)."""
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    language = volunteer.interface_language
    user_data = _user_data(context)
    prompt_id = user_data.get("prompt_id")
    if prompt_id is None:
        return await _offer_prompt(update, context, volunteer)
    message = update.effective_message
    assert message is not None
    assert message.voice is not None
    voice = message.voice
    limit_seconds = settings.COLLECTION_MAX_CLIP_SECONDS
    seconds = _voice_seconds(voice)
    if seconds > limit_seconds:
        await message.reply_text(
            texts.text(language, "voice_too_long", seconds=int(seconds), limit=int(limit_seconds))
        )
        return None
    if voice.file_size and voice.file_size > settings.COLLECTION_MAX_CLIP_BYTES:
        await message.reply_text(texts.text(language, "voice_too_large"))
        return None
    try:
        telegram_file = await voice.get_file()
        audio = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as error:
        logger.warning("voice %s not downloaded: %s", voice.file_id, error)
        await message.reply_text(texts.text(language, "download_failed"))
        return None

    await _discard_pending_take(context, volunteer)  # a new take replaces the one in review
    try:
        clip = await orm_in_thread(services.clip_submit)(
            volunteer=volunteer,
            prompt_id=prompt_id,
            audio=audio,
            filename=f"{voice.file_unique_id}.ogg",
            source=Clip.Source.TELEGRAM,
        )
    except ApplicationError as refused:
        if refused.code == "prompt_not_found":  # hidden or banned since it was offered
            user_data.pop("prompt_id", None)
            await message.reply_text(
                texts.text(
                    language,
                    "refused",
                    reason=texts.refusal(language, refused.code, refused.message),
                )
            )
            return await _offer_prompt(update, context, volunteer)
        reason = texts.refusal(language, refused.code, refused.message)
        buttons = keyboard(
            [
                [
                    (texts.text(language, "rerecord"), "rec:again"),
                    (texts.text(language, "skip_prompt"), "rec:skip"),
                ]
            ]
        )
        await message.reply_text(
            texts.text(language, "refused", reason=reason), reply_markup=buttons
        )
        return State.RECORDING

    user_data["clip_id"] = clip.id.hex
    checking = await message.reply_text(texts.text(language, "checking"))
    # Kept with the user's data, so that a restarted bot still turns this message into the
    # verdict (resume_verdicts).
    user_data[AWAITED_VERDICT] = {
        "clip_id": clip.id.hex,
        "chat_id": checking.chat_id,
        "message_id": checking.message_id,
    }
    # The verdict is awaited off the update's path: the volunteer's other updates (/stats,
    # another take) are not held up for the checks' duration.
    _watch_verdict(context.application, user_data, volunteer)
    return State.REVIEW


def _verdict(language: str, clip: Clip) -> tuple[str, InlineKeyboardMarkup | None]:
    """What to tell the speaker of `clip` now, with the buttons that fit."""
    clip_hex = clip.id.hex
    rerecord = (texts.text(language, "rerecord"), f"clip:redo:{clip_hex}")
    if clip.status == Clip.Status.UNCONFIRMED:
        return texts.text(language, "passed", text=clip.prompt.text), keyboard(
            [[(texts.text(language, "confirm"), f"clip:ok:{clip_hex}"), rerecord]]
        )
    if clip.status == Clip.Status.REFUSED:
        refusal = clip.checks.get("refusal") or {}
        reason = texts.refusal(language, refusal.get("code", ""), refusal.get("message", ""))
        return texts.text(language, "refused", reason=reason), keyboard([[rerecord]])
    if clip.status == Clip.Status.CHECKING:
        return texts.text(language, "check_slow"), keyboard(
            [[(texts.text(language, "check_status"), f"clip:status:{clip_hex}"), rerecord]]
        )
    return texts.text(language, "confirmed"), None


async def _report_checks(
    application: Application[Any, Any, Any, Any, Any, Any],
    user_data: dict[str, Any],
    volunteer: Volunteer,
) -> None:
    """Wait (up to COLLECTION_CHECK_WAIT_SECONDS) for the checks of the take in
    `user_data[AWAITED_VERDICT]`, then turn its "checking…" message into the verdict with its
    buttons."""
    awaited = dict(user_data.get(AWAITED_VERDICT) or {})
    if not awaited:
        return
    clip_hex = awaited["clip_id"]
    language = volunteer.interface_language
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.COLLECTION_CHECK_WAIT_SECONDS
    while True:
        clip = await _own_clip(clip_hex, volunteer)
        if clip is None or clip.status != Clip.Status.CHECKING or loop.time() >= deadline:
            break
        await asyncio.sleep(CHECK_POLL_SECONDS)
    if clip is None:  # recorded again or erased meanwhile: say so where it said "checking"
        message, buttons = texts.text(language, "discarded"), None
    else:
        message, buttons = _verdict(language, clip)
    try:
        await application.bot.edit_message_text(
            message,
            chat_id=awaited["chat_id"],
            message_id=awaited["message_id"],
            reply_markup=buttons,
        )
    except BadRequest as error:
        logger.info("verdict for %s not shown: %s", clip_hex, error)
    if (user_data.get(AWAITED_VERDICT) or {}).get("clip_id") == clip_hex:
        user_data.pop(AWAITED_VERDICT, None)
        if volunteer.telegram_id is not None:
            application.mark_data_for_update_persistence(user_ids=[volunteer.telegram_id])


# Per application (by id): the tasks waiting for verdicts. Not Application.create_task: its
# tasks are awaited by stop(), which would hold a restart up to COLLECTION_CHECK_WAIT_SECONDS;
# these are cancelled instead (stop_verdict_watchers) and the next process resumes them.
_verdict_watchers: dict[int, set[asyncio.Task[None]]] = {}


def _watch_verdict(
    application: Application[Any, Any, Any, Any, Any, Any],
    user_data: dict[str, Any],
    volunteer: Volunteer,
) -> None:
    watchers = _verdict_watchers.setdefault(id(application), set())
    task = asyncio.get_running_loop().create_task(
        _report_checks(application, user_data, volunteer),
        name=f"clip-checks-{volunteer.telegram_id}",
    )
    watchers.add(task)
    task.add_done_callback(watchers.discard)


async def stop_verdict_watchers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop waiting for verdicts (the bot is stopping); the takes stay in the users' data, so
    the next process gives their verdicts."""
    watchers = _verdict_watchers.pop(id(application), set())
    for task in watchers:
        task.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)


async def resume_verdicts(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After a restart: the takes whose verdict the previous process was still waiting for
    (their "checking…" message kept in the user's data) get it now, or when their checks end."""
    for user_id, user_data in list(application.user_data.items()):
        if not user_data.get(AWAITED_VERDICT):
            continue
        volunteer = await orm_in_thread(selectors.volunteer_by_telegram_id)(telegram_id=user_id)
        if volunteer is None:
            user_data.pop(AWAITED_VERDICT, None)
            continue
        _watch_verdict(application, user_data, volunteer)


async def clip_button(update: Update, context: Context) -> str | None:
    """`clip:ok|redo|status:<clip>`: confirm a checked take, record it again, or ask how its
    checks are going. The clip is named in the button, so an old button still works or says
    why it cannot."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    _, action, clip_hex = query.data.split(":", 2)
    volunteer = await _find_volunteer(update)
    if volunteer is None:
        await query.answer(texts.text(texts.DEFAULT_LANGUAGE, "stale_button"))
        await _remove_buttons(query)
        return None
    language = volunteer.interface_language
    user_data = _user_data(context)
    clip = await _own_clip(clip_hex, volunteer)
    if clip is None:
        await query.answer(texts.text(language, "stale_button"))
        await _edit(query, texts.text(language, "clip_gone"))
        if user_data.get("clip_id") == clip_hex:
            user_data.pop("clip_id")
        return await _offer_prompt(update, context, volunteer, prompt_id=user_data.get("prompt_id"))
    if action == "status":
        await query.answer()
        message, buttons = _verdict(language, clip)
        await _edit(query, message, buttons)
        return None
    if action == "redo":
        await query.answer()
        if clip.status in selectors.PROGRESS_STATUSES:  # confirmed already: nothing to redo
            await _edit(query, texts.text(language, "confirmed"))
            return None
        await orm_in_thread(services.clip_discard)(clip_id=clip_hex, volunteer=volunteer)
        if user_data.get("clip_id") == clip_hex:
            user_data.pop("clip_id")
        await _edit(query, texts.text(language, "discarded"))
        return await _offer_prompt(update, context, volunteer, prompt_id=clip.prompt_id)
    try:
        await orm_in_thread(services.clip_confirm)(clip_id=clip_hex, volunteer=volunteer)
    except ApplicationError as refused:
        if refused.code == "clip_not_ready":
            await query.answer(texts.text(language, "still_checking"))
            return None
        await query.answer()
        message, buttons = _verdict(language, clip)
        await _edit(query, message, buttons)
        return None
    await query.answer(texts.text(language, "vote_thanks"))
    await _edit(query, texts.text(language, "confirmed"))
    if user_data.get("clip_id") == clip_hex:
        user_data.pop("clip_id")
        user_data.pop("prompt_id", None)
    return await _offer_prompt(update, context, volunteer)


# --- validating ----------------------------------------------------------------------------


def _vote_keyboard(language: str, clip_hex: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                (texts.text(language, "vote_up"), f"vote:up:{clip_hex}"),
                (texts.text(language, "vote_down"), f"vote:down:{clip_hex}"),
            ],
            [
                (texts.text(language, "vote_skip"), f"vote:skip:{clip_hex}"),
                (texts.text(language, "vote_report"), f"vote:report:{clip_hex}"),
            ],
        ]
    )


def _report_keyboard(language: str, clip_hex: str) -> InlineKeyboardMarkup:
    reasons = [
        [(texts.label(language, "reason", reason), f"report:{reason}:{clip_hex}")]
        for reason in Report.Reason.values
    ]
    return keyboard([*reasons, [(texts.text(language, "report_back"), f"report:back:{clip_hex}")]])


VOICE_SUFFIXES = (".ogg", ".oga", ".opus")


async def _offer_clip(update: Update, context: Context, volunteer: Volunteer) -> str:
    """Lease the next clip to validate and send it with its prompt and vote buttons."""
    language = volunteer.interface_language
    skipped = _user_data(context).get("skipped_clips", [])
    clips = await orm_in_thread(services.clips_lease_for_validation)(
        validator=volunteer, limit=1, exclude=skipped
    )
    if not clips:
        return await _show_menu(update, context, language, texts.text(language, "no_clips"))
    clip = clips[0]
    audio = await orm_in_thread(selectors.clip_audio_bytes)(clip=clip)
    caption = texts.text(language, "validate_clip", text=clip.prompt.text)
    buttons = _vote_keyboard(language, clip.id.hex)
    if clip.audio.name.lower().endswith(VOICE_SUFFIXES):
        await context.bot.send_voice(
            chat_id=_chat_id(update), voice=audio, caption=caption, reply_markup=buttons
        )
    else:  # a web recording (WebM, WAV …): Telegram plays it as an audio file
        await context.bot.send_audio(
            chat_id=_chat_id(update),
            audio=audio,
            filename=clip.audio.name.rsplit("/", 1)[-1],
            caption=caption,
            reply_markup=buttons,
        )
    return State.VALIDATING


async def validate(update: Update, context: Context) -> str:
    if update.callback_query:
        await update.callback_query.answer()
        await _remove_buttons(update.callback_query)
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    await _discard_pending_take(context, volunteer)
    return await _offer_clip(update, context, volunteer)


async def _ready_for_buttons(update: Update, query: CallbackQuery) -> Volunteer | None:
    """The volunteer pressing a clip's button, or None (answered) when they are gone or have
    not consented (a button from before /delete)."""
    volunteer = await _find_volunteer(update)
    if volunteer is None or volunteer.consented_at is None:
        await query.answer(texts.text(_language(volunteer), "need_start"), show_alert=True)
        await _remove_buttons(query)
        return None
    return volunteer


async def vote_button(update: Update, context: Context) -> str | None:
    """`vote:up|down|skip|report:<clip>`."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    _, action, clip_hex = query.data.split(":", 2)
    volunteer = await _ready_for_buttons(update, query)
    if volunteer is None:
        return None
    language = volunteer.interface_language
    if action == "report":
        await query.answer()
        try:
            await query.edit_message_reply_markup(reply_markup=_report_keyboard(language, clip_hex))
        except BadRequest as error:
            logger.info("report reasons not shown: %s", error)
        return None
    if action == "skip":
        await query.answer(texts.text(language, "skipped"))
        await _skip_clip(context, volunteer, clip_hex)
        await _remove_buttons(query)
        return await _offer_clip(update, context, volunteer)
    is_valid = action == "up"
    try:
        await orm_in_thread(services.vote_cast)(
            clip_id=clip_hex, voter=volunteer, is_valid=is_valid
        )
    except ApplicationError as refused:
        if refused.code == "already_voted":  # a double tap: the first one counted
            await query.answer(texts.text(language, "already_voted"))
            return None
        if refused.code in ("clip_decided", "clip_not_found"):  # decided or erased meanwhile
            await query.answer(texts.text(language, "stale_button"))
            await _remove_buttons(query)
            notice = "clip_decided" if refused.code == "clip_decided" else "clip_gone"
            await _say(update, context, texts.text(language, notice))
            return await _offer_clip(update, context, volunteer)
        if refused.code == "rate_limited":
            await query.answer(texts.text(language, "rate_limited"), show_alert=True)
            return None
        await query.answer(texts.refusal(language, refused.code, refused.message), show_alert=True)
        await _remove_buttons(query)
        return None
    await query.answer(texts.text(language, "vote_thanks"))
    caption = query.message.caption if isinstance(query.message, Message) else None
    verdict = texts.text(language, "voted_up" if is_valid else "voted_down")
    try:
        await query.edit_message_caption(
            caption=f"{caption or ''}\n\n{verdict}".strip(), reply_markup=None
        )
    except BadRequest as error:
        logger.info("vote not shown on the clip: %s", error)
    return await _offer_clip(update, context, volunteer)


async def _skip_clip(context: Context, volunteer: Volunteer, clip_hex: str) -> None:
    _remember(_user_data(context), "skipped_clips", clip_hex)
    await orm_in_thread(services.clip_lease_release)(clip_id=clip_hex, validator=volunteer)


async def report_button(update: Update, context: Context) -> str | None:
    """`report:<reason>|back:<clip>`: report the clip's prompt (then the next clip), or go
    back to the vote buttons."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    _, reason, clip_hex = query.data.split(":", 2)
    volunteer = await _ready_for_buttons(update, query)
    if volunteer is None:
        return None
    language = volunteer.interface_language
    if reason == "back":
        await query.answer()
        try:
            await query.edit_message_reply_markup(reply_markup=_vote_keyboard(language, clip_hex))
        except BadRequest as error:
            logger.info("vote buttons not restored: %s", error)
        return None
    clip = await orm_in_thread(selectors.clip_for_validation)(clip_id=clip_hex)
    if clip is None:
        await query.answer(texts.text(language, "stale_button"))
        await _remove_buttons(query)
        return await _offer_clip(update, context, volunteer)
    try:
        await orm_in_thread(services.prompt_report)(
            prompt_id=clip.prompt_id, reporter=volunteer, reason=reason
        )
    except ApplicationError as refused:
        await query.answer(texts.refusal(language, refused.code, refused.message), show_alert=True)
        return None
    await query.answer(texts.text(language, "reported"))
    # A clip of a broken prompt is not voted on: skip it.
    await _skip_clip(context, volunteer, clip_hex)
    await _remove_buttons(query)
    return await _offer_clip(update, context, volunteer)


# --- stats, language, erasure, help ---------------------------------------------------------


def _stats_and_leaderboard(
    volunteer: Volunteer,
) -> tuple[selectors.VolunteerStats, list[selectors.LeaderboardRow]]:
    return selectors.volunteer_stats(volunteer=volunteer), selectors.volunteers_leaderboard()


async def stats(update: Update, context: Context) -> None:
    volunteer = await _find_volunteer(update)
    if volunteer is None:
        await _say(update, context, texts.text(texts.DEFAULT_LANGUAGE, "need_start"))
        return
    language = volunteer.interface_language
    own, board = await orm_in_thread(_stats_and_leaderboard)(volunteer)
    rows = [
        texts.text(
            language,
            "leaderboard_row",
            place=place,
            name=row.name,
            recorded=row.recorded,
            votes=row.votes,
            you=texts.text(language, "leaderboard_you") if row.volunteer_id == volunteer.id else "",
        )
        for place, row in enumerate(board, start=1)
    ]
    leaderboard = "\n".join(rows) or texts.text(language, "leaderboard_empty")
    await _say(
        update,
        context,
        texts.text(
            language,
            "stats",
            recorded=own.recorded,
            validated=own.validated,
            votes=own.votes,
            leaderboard=leaderboard,
        ),
    )


async def language(update: Update, context: Context) -> None:
    choices = [
        (texts.label(texts.DEFAULT_LANGUAGE, "interface_language", value), f"lang:{value}")
        for value in Volunteer.Interface.values
    ]
    await _say(
        update, context, texts.text(texts.DEFAULT_LANGUAGE, "choose_language"), keyboard([choices])
    )


async def language_chosen(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    chosen = query.data.split(":", 1)[1]
    # The choice is kept before consent too: it is how they read the consent text.
    volunteer = await orm_in_thread(services.volunteer_for_telegram)(telegram_id=_user_id(update))
    await orm_in_thread(services.volunteer_set_interface_language)(
        volunteer=volunteer, language=chosen
    )
    await query.answer()
    await _edit(query, texts.text(chosen, "language_set"))


async def delete(update: Update, context: Context) -> str:
    volunteer = await _find_volunteer(update)
    language = _language(volunteer)
    buttons = keyboard(
        [
            [
                (texts.text(language, "delete_yes"), "delete:yes"),
                (texts.text(language, "delete_no"), "delete:no"),
            ]
        ]
    )
    await _say(update, context, texts.text(language, "delete_confirm"), buttons)
    return State.DELETING


async def delete_chosen(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    volunteer = await _find_volunteer(update)
    language = _language(volunteer)
    if query.data == "delete:no":
        await _edit(query, texts.text(language, "delete_cancelled"))
        return State.MENU
    erased: dict[str, int] = {}
    if volunteer is not None:
        erased = await orm_in_thread(services.volunteer_erase)(volunteer=volunteer)
    # Their bot state goes too: an empty user_data leaves no TelegramState row (persistence).
    _user_data(context).clear()
    if context.chat_data is not None:
        context.chat_data.clear()
    await _edit(query, texts.text(language, "deleted", clips=erased.get("clips", 0)))
    return ConversationHandler.END


async def help_command(update: Update, context: Context) -> None:
    volunteer = await _find_volunteer(update)
    await _say(update, context, texts.text(_language(volunteer), "help"))


# --- what fits no state ----------------------------------------------------------------------


async def stale_button(update: Update, context: Context) -> str | None:
    """A button from another step of the conversation (pressed days later, or after a newer
    message moved on): say so and offer the menu again."""
    query = update.callback_query
    assert query is not None
    volunteer = await _find_volunteer(update)
    language = _language(volunteer)
    await query.answer(texts.text(language, "stale_button"))
    await _remove_buttons(query)
    if volunteer is None or volunteer.consented_at is None:
        await _say(update, context, texts.text(language, "need_start"))
        return None
    return await _show_menu(update, context, language, texts.text(language, "stale_button"))


async def unexpected_message(update: Update, context: Context) -> str | None:
    """A message no step is waiting for: a voice outside recording, a text in the menu …"""
    volunteer = await _find_volunteer(update)
    language = _language(volunteer)
    if volunteer is None or volunteer.consented_at is None:
        await _say(update, context, texts.text(language, "need_start"))
        return None
    message = update.effective_message
    if message is not None and message.voice is not None:
        return await _show_menu(update, context, language, texts.text(language, "record_first"))
    return await _show_menu(update, context, language)


async def review_text(update: Update, context: Context) -> str | None:
    """A text while a take awaits its verdict or Confirm: show where that take stands, with
    its buttons (again: the message that had them may be far up, or, after a restart during
    the checks, was never updated)."""
    volunteer, state = await _ready_or_onboard(update, context)
    if volunteer is None:
        return state
    message = update.effective_message
    assert message is not None
    clip_hex = _user_data(context).get("clip_id")
    clip = await _own_clip(clip_hex, volunteer) if clip_hex else None
    if clip is None:
        return await _offer_prompt(
            update, context, volunteer, prompt_id=_user_data(context).get("prompt_id")
        )
    verdict, buttons = _verdict(volunteer.interface_language, clip)
    await message.reply_text(verdict, reply_markup=buttons)
    return None


async def on_error(update: object, context: Context) -> None:
    logger.error("update %s failed", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        volunteer = await _find_volunteer(update) if update.effective_user else None
        try:
            await context.bot.send_message(
                chat_id=update.effective_chat.id, text=texts.text(_language(volunteer), "error")
            )
        except TelegramError:
            logger.exception("could not tell the volunteer about the failure")


# --- assembly --------------------------------------------------------------------------------


def conversation() -> ConversationHandler[Context]:
    take_handlers: list[BaseHandler[Update, Context, Any]] = [
        MessageHandler(filters.VOICE, voice_received),
        MessageHandler(filters.VIDEO_NOTE | filters.VIDEO, not_a_voice),
        MessageHandler(filters.Document.ALL | filters.AUDIO, not_a_voice),
        CallbackQueryHandler(recording_button, pattern=r"^rec:(skip|again)$"),
    ]
    states: dict[object, list[BaseHandler[Update, Context, Any]]] = {
        State.CONSENT: [CallbackQueryHandler(consent_chosen, pattern=r"^consent:(yes|no)$")],
        **{
            field: [CallbackQueryHandler(profile_chosen, pattern=rf"^{field}:")]
            for field in PROFILE_FIELDS
        },
        State.MENU: [],
        State.RECORDING: [
            *take_handlers,
            MessageHandler(filters.TEXT & ~filters.COMMAND, not_a_voice),
        ],
        State.REVIEW: [
            *take_handlers,
            MessageHandler(filters.TEXT & ~filters.COMMAND, review_text),
        ],
        State.VALIDATING: [],
        State.DELETING: [CallbackQueryHandler(delete_chosen, pattern=r"^delete:(yes|no)$")],
    }
    entry_points: list[BaseHandler[Update, Context, Any]] = [
        CommandHandler("start", start),
        CommandHandler("record", record),
        CommandHandler("validate", validate),
        CommandHandler("stats", stats),
        CommandHandler("profile", profile),
        CommandHandler("language", language),
        CommandHandler("delete", delete),
        CommandHandler("help", help_command),
        CallbackQueryHandler(record, pattern=r"^menu:record$"),
        CallbackQueryHandler(validate, pattern=r"^menu:validate$"),
        CallbackQueryHandler(profile_edit, pattern=r"^profile:edit$"),
        CallbackQueryHandler(language_chosen, pattern=r"^lang:(uz|ru)$"),
        CallbackQueryHandler(clip_button, pattern=r"^clip:(ok|redo|status):[0-9a-f]{32}$"),
        CallbackQueryHandler(vote_button, pattern=r"^vote:(up|down|skip|report):[0-9a-f]{32}$"),
        CallbackQueryHandler(report_button, pattern=r"^report:\w+:[0-9a-f]{32}$"),
    ]
    fallbacks: list[BaseHandler[Update, Context, Any]] = [
        CallbackQueryHandler(stale_button),
        MessageHandler(filters.ALL & ~filters.COMMAND, unexpected_message),
    ]
    with warnings.catch_warnings():
        # PTB warns that with per_message=False a CallbackQueryHandler is tracked per chat, not
        # per message: that is the intent here (buttons name their clip; stale ones are caught).
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            allow_reentry=True,
            name=CONVERSATION_NAME,
            persistent=True,
        )


def add_handlers(application: Application[Any, Context, Any, Any, Any, Any]) -> None:
    application.add_handler(conversation())
    # Outside any conversation (never started, declined, erased): point to /start.
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(MessageHandler(filters.ALL, unexpected_message))
    application.add_error_handler(on_error)


def bot_commands(language: str) -> list[BotCommand]:
    return [BotCommand(command, texts.text(language, f"command_{command}")) for command in COMMANDS]
