"""Writes for the collection app: prompts, volunteers, validation votes, leases and reports.

Validation follows Common Voice: a clip is validated with at least two counted votes and more up
than down, invalidated with at least two and more down than up; a tie waits for another vote.
One vote per person per clip, never on one's own clip; the clips with the fewest votes are
offered first, each leased to one validator for a while so two validators do not get the same.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError
from uzwhisper.lib.audio import AudioError, decode_to_array, inspect_audio

from .clip_checks import Refusal, SignalReport, signal_refusal, signal_report
from .models import Clip, Prompt, Report, Volunteer, Vote

# Two counted votes decide a clip (Common Voice).
VOTES_TO_DECIDE = 2
# A prompt is hidden from recording after this many open reports.
REPORTS_TO_HIDE = 2
PROMPT_MAX_CHARS = 500

logger = logging.getLogger(__name__)

_APOSTROPHES = re.compile("[ʻʼ'`‘’]")
_NOT_WORD = re.compile(r"[^\w\s]")


# --- prompts ---


def prompt_dedup_key(text: str) -> str:
    """Prompts that differ only in case, spacing, punctuation or the apostrophe used for oʻ/gʻ
    are the same prompt."""
    folded = unicodedata.normalize("NFC", text).casefold()
    folded = _APOSTROPHES.sub("ʻ", folded)
    folded = _NOT_WORD.sub(" ", folded.replace("ʻ", "\0")).replace("\0", "ʻ")
    return hashlib.sha256(" ".join(folded.split()).encode()).hexdigest()


@dataclass(frozen=True)
class PromptRow:
    text: str
    language: str
    domain: str = ""
    line: int = 0  # where it came from, for error messages


@dataclass
class PromptImport:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def prompts_import(*, rows: Iterable[PromptRow], source: str) -> PromptImport:
    """Add new prompts; a duplicate (of a stored prompt or of an earlier row) is counted and
    skipped; a bad row is reported with its line and the rest go on."""
    result = PromptImport()
    seen: set[str] = set()
    now = timezone.now()
    for row in rows:
        text = " ".join(row.text.split())
        problem = _prompt_problem(text, row.language)
        if problem:
            result.errors.append({"line": row.line, "error": problem})
            continue
        key = prompt_dedup_key(text)
        if key in seen or Prompt.objects.filter(dedup_key=key).exists():
            result.duplicates += 1
            continue
        seen.add(key)
        prompt = Prompt(
            text=text,
            dedup_key=key,
            language=row.language,
            domain=row.domain[:64],
            source=source[:255],
            created_at=now,
        )
        prompt.full_clean()
        prompt.save()
        result.created += 1
    return result


def _prompt_problem(text: str, language: str) -> str:
    if not any(char.isalpha() for char in text):
        return "the prompt holds no words"
    if len(text) > PROMPT_MAX_CHARS:
        return f"the prompt is longer than {PROMPT_MAX_CHARS} characters"
    if language not in Prompt.Language.values:
        return f"unknown language {language!r}: use uz, ru or mixed"
    return ""


@transaction.atomic
def prompt_report(*, prompt_id: int, reporter: Volunteer, reason: str) -> Report:
    """Report a prompt once per person; after REPORTS_TO_HIDE open reports it is hidden."""
    if reason not in Report.Reason.values:
        raise ApplicationError(
            "unknown_reason", f"reason must be one of {', '.join(Report.Reason.values)}."
        )
    recent_reports = Report.objects.filter(
        reporter=reporter, created_at__gt=timezone.now() - timedelta(hours=1)
    ).count()
    _rate_limited(
        what="reports",
        count=recent_reports,
        limit=settings.COLLECTION_REPORTS_PER_HOUR,
        per="hour",
    )
    prompt = Prompt.objects.select_for_update().filter(id=prompt_id).first()
    if prompt is None:
        raise ApplicationError("prompt_not_found", "No such prompt.", status_code=404)
    report, _ = Report.objects.get_or_create(
        prompt=prompt,
        reporter=reporter,
        defaults={"reason": reason, "created_at": timezone.now()},
    )
    if Report.objects.filter(prompt=prompt, resolved=False).count() >= REPORTS_TO_HIDE:
        Prompt.objects.filter(id=prompt.id).update(hidden=True)
    return report


def prompts_ban(*, prompt_ids: Iterable[int]) -> int:
    """Take prompts out of recording for good (admin, in bulk); returns how many."""
    return Prompt.objects.filter(id__in=list(prompt_ids)).update(banned=True)


def reports_resolve(*, report_ids: Iterable[int], uphold: bool) -> int:
    """An admin's decision on reports. Upheld: the reported prompts are banned. Dismissed: the
    reports are closed and prompts they hid are offered again (unless banned). Returns how many
    reports were resolved."""
    with transaction.atomic():
        reports = Report.objects.select_for_update().filter(id__in=list(report_ids), resolved=False)
        prompt_ids = set(reports.values_list("prompt_id", flat=True))
        resolved = reports.update(resolved=True)
        if uphold:
            prompts_ban(prompt_ids=prompt_ids)
        else:
            still_reported = set(
                Report.objects.filter(prompt_id__in=prompt_ids, resolved=False)
                .values("prompt_id")
                .annotate(open=Count("id"))
                .filter(open__gte=REPORTS_TO_HIDE)
                .values_list("prompt_id", flat=True)
            )
            Prompt.objects.filter(id__in=prompt_ids - still_reported).update(hidden=False)
    return resolved


# --- volunteers ---


def volunteer_for_user(*, user: User) -> Volunteer:
    volunteer, _ = Volunteer.objects.get_or_create(
        user=user, defaults={"created_at": timezone.now()}
    )
    return volunteer


def volunteer_for_telegram(*, telegram_id: int) -> Volunteer:
    volunteer, _ = Volunteer.objects.get_or_create(
        telegram_id=telegram_id, defaults={"created_at": timezone.now()}
    )
    return volunteer


def volunteer_update_profile(*, volunteer: Volunteer, **profile: str) -> Volunteer:
    """Set consent and profile fields; unknown fields or values raise ApplicationError."""
    allowed = {"age_band", "gender", "dialect", "native_language", "interface_language"}
    unknown = set(profile) - allowed
    if unknown:
        raise ApplicationError("invalid_input", f"Unknown profile fields: {sorted(unknown)}.")
    for name, value in profile.items():
        setattr(volunteer, name, value)
    if volunteer.consented_at is None:
        volunteer.consented_at = timezone.now()
    try:
        volunteer.full_clean()
    except Exception as exc:
        raise ApplicationError("invalid_input", str(exc)) from exc
    volunteer.save()
    return volunteer


# --- validation ---


def volunteers_discount_votes(*, volunteer_ids: Iterable[int], discounted: bool) -> int:
    """Discount (or count again) validators' votes, from now on and on clips still pending:
    their votes on pending clips stop (or start) counting, and those clips' tallies and verdicts
    follow. Decided clips keep their verdicts. Returns how many volunteers changed."""
    with transaction.atomic():
        volunteers = Volunteer.objects.select_for_update().filter(
            id__in=list(volunteer_ids), votes_discounted=not discounted
        )
        ids = list(volunteers.values_list("id", flat=True))
        volunteers.update(votes_discounted=discounted)
        votes = Vote.objects.select_related("clip").filter(
            voter_id__in=ids, clip__status=Clip.Status.PENDING, counted=discounted
        )
        touched: dict[uuid.UUID, Clip] = {}
        for vote in votes.select_for_update(of=("self",)):
            clip = touched.setdefault(
                vote.clip_id, Clip.objects.select_for_update().get(id=vote.clip_id)
            )
            step = -1 if discounted else 1
            if vote.is_valid:
                clip.up_votes += step
            else:
                clip.down_votes += step
            vote.counted = not discounted
            vote.save(update_fields=["counted"])
        for clip in touched.values():
            clip.status = clip_verdict(up=clip.up_votes, down=clip.down_votes)
            clip.save(update_fields=["up_votes", "down_votes", "status"])
    return len(ids)


def clips_lease_for_validation(
    *, validator: Volunteer, limit: int = 5, language: str | None = None
) -> list[Clip]:
    """Up to `limit` pending clips for `validator`: not their own, not voted on by them, not
    leased to someone else; the fewest votes first, then the oldest. Each is leased to them
    for COLLECTION_LEASE_SECONDS."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.COLLECTION_LEASE_SECONDS)
    with transaction.atomic():
        candidates = (
            Clip.objects.filter(status=Clip.Status.PENDING)
            .exclude(volunteer=validator)
            .exclude(votes__voter=validator)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now) | Q(leased_to=validator))
        )
        if language:
            candidates = candidates.filter(prompt__language=language)
        chosen = list(
            candidates.annotate(vote_count=F("up_votes") + F("down_votes"))
            .order_by("vote_count", "created_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:limit]
        )
        Clip.objects.filter(id__in=chosen).update(leased_to=validator, leased_until=lease_until)
    by_id = {clip.id: clip for clip in Clip.objects.filter(id__in=chosen).select_related("prompt")}
    return [by_id[clip_id] for clip_id in chosen]


def clip_verdict(*, up: int, down: int) -> str:
    """The status two or more counted votes give a clip (a tie waits for another vote)."""
    if up + down >= VOTES_TO_DECIDE:
        if up > down:
            return Clip.Status.VALIDATED
        if down > up:
            return Clip.Status.INVALIDATED
    return Clip.Status.PENDING


def vote_cast(*, clip_id: uuid.UUID | str, voter: Volunteer, is_valid: bool) -> Clip:
    """Record `voter`'s vote and decide the clip when the votes allow. A second vote by the same
    person (a double tap) changes nothing and says so; voting on one's own clip, or on a clip
    already decided, is refused."""
    recent_votes = Vote.objects.filter(
        voter=voter, created_at__gt=timezone.now() - timedelta(minutes=1)
    ).count()
    _rate_limited(
        what="votes", count=recent_votes, limit=settings.COLLECTION_VOTES_PER_MINUTE, per="minute"
    )
    try:
        with transaction.atomic():
            clip = Clip.objects.select_for_update().filter(id=clip_id).first()
            if clip is None:
                raise ApplicationError("clip_not_found", "No such clip.", status_code=404)
            if clip.volunteer_id == voter.id:
                raise ApplicationError(
                    "own_clip", "Your own clips are validated by others.", status_code=403
                )
            if clip.status != Clip.Status.PENDING:
                raise ApplicationError(
                    "clip_decided",
                    f"This clip is already {clip.status}.",
                    status_code=status.HTTP_409_CONFLICT,
                )
            counted = not voter.votes_discounted
            Vote.objects.create(
                clip=clip,
                voter=voter,
                is_valid=is_valid,
                counted=counted,
                created_at=timezone.now(),
            )
            if counted:
                if is_valid:
                    clip.up_votes += 1
                else:
                    clip.down_votes += 1
            clip.status = clip_verdict(up=clip.up_votes, down=clip.down_votes)
            if clip.leased_to_id == voter.id:
                clip.leased_to, clip.leased_until = None, None
            clip.save(
                update_fields=["up_votes", "down_votes", "status", "leased_to", "leased_until"]
            )
            return clip
    except IntegrityError as exc:
        raise ApplicationError(
            "already_voted",
            "Your vote on this clip is already counted.",
            status_code=status.HTTP_409_CONFLICT,
        ) from exc


# --- recording ---

CHECK_CLIP_TASK = "collection.tasks.check_clip"

# uzwhisper.lib.audio's codes for audio that cannot be used, as the volunteer hears them.
_AUDIO_REFUSALS = {
    "audio_too_long": "clip_too_long",
    "silent_audio": "clip_silent",
}


def _rate_limited(*, what: str, count: int, limit: int, per: str) -> None:
    if count >= limit:
        raise ApplicationError(
            "rate_limited",
            f"Too many {what} in a short time (at most {limit} per {per}). "
            "Take a short break and try again.",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )


def clip_submit(
    *, volunteer: Volunteer, prompt_id: int, audio: bytes, filename: str, source: str
) -> Clip:
    """Take a recording of a prompt. The signal checks (decodes; duration for the prompt's length;
    not silent; not clipped) run here: a failure raises ApplicationError with the reason and
    stores nothing. A clip that passes is stored in `checking` and handed to the ASR worker for
    the model checks (`clip_run_checks`); the volunteer confirms it afterwards (`clip_confirm`)."""
    if volunteer.consented_at is None:
        raise ApplicationError(
            "consent_required",
            "Agree to the terms before recording.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if source not in Clip.Source.values:
        raise ApplicationError("invalid_input", f"Unknown source {source!r}.")
    if len(audio) > settings.COLLECTION_MAX_CLIP_BYTES:
        raise ApplicationError(
            "file_too_large",
            f"The recording is {len(audio) / 1e6:.1f} MB; the limit is "
            f"{settings.COLLECTION_MAX_CLIP_BYTES / 1e6:.0f} MB.",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    prompt = Prompt.objects.filter(id=prompt_id, hidden=False, banned=False).first()
    if prompt is None:
        raise ApplicationError(
            "prompt_not_found",
            "This sentence is no longer offered for recording; take the next one.",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    recent = Clip.objects.filter(
        volunteer=volunteer, created_at__gt=timezone.now() - timedelta(minutes=1)
    ).count()
    _rate_limited(
        what="recordings", count=recent, limit=settings.COLLECTION_CLIPS_PER_MINUTE, per="minute"
    )

    duration_s, report = _signal_checked(audio, filename=filename, prompt_text=prompt.text)
    now = timezone.now()
    with transaction.atomic():
        clip = Clip(
            id=uuid.uuid4(),
            prompt=prompt,
            volunteer=volunteer,
            speaker_profile=volunteer.profile(),
            source=source,
            duration_s=duration_s,
            sha256=hashlib.sha256(audio).hexdigest(),
            checks={"signal": report.as_dict()},
            status=Clip.Status.CHECKING,
            created_at=now,
        )
        clip.audio.save(_clip_filename(filename), ContentFile(audio), save=False)
        clip.save(force_insert=True)
        transaction.on_commit(lambda: _clip_enqueue_checks(clip_id=clip.id))
    return clip


def _clip_filename(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return f"clip{suffix}" if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else "clip.bin"


def _signal_checked(audio: bytes, *, filename: str, prompt_text: str) -> tuple[float, SignalReport]:
    """Decode `audio` and run the signal checks; raise ApplicationError on the first failure."""
    with tempfile.NamedTemporaryFile(suffix=_clip_filename(filename)[4:]) as tmp:
        tmp.write(audio)
        tmp.flush()
        try:
            info = inspect_audio(tmp.name, max_seconds=settings.COLLECTION_MAX_CLIP_SECONDS)
            samples = decode_to_array(tmp.name, sample_rate=info.sample_rate)
        except AudioError as exc:
            code = _AUDIO_REFUSALS.get(exc.code, "audio_undecodable")
            message = exc.message
            if code == "audio_undecodable":
                message = f"The recording could not be read: {exc.message} Record it again."
            elif code == "clip_too_long":
                message = (
                    f"{exc.message} One sentence at a time: stop recording after the last word."
                )
            raise ApplicationError(code, message, details={"audio_error": exc.code}) from exc
    report = signal_report(samples, info.sample_rate)
    refusal = signal_refusal(
        report, prompt_text=prompt_text, max_clip_seconds=settings.COLLECTION_MAX_CLIP_SECONDS
    )
    if refusal is not None:
        raise ApplicationError(refusal.code, refusal.message, details=report.as_dict())
    return info.duration_s, report


def _clip_enqueue_checks(*, clip_id: uuid.UUID) -> None:
    from uzwhisper.celery import app

    try:
        app.send_task(CHECK_CLIP_TASK, args=[str(clip_id)])
    except Exception as exc:
        logger.exception("Could not queue the checks of clip %s", clip_id)
        clip_refuse(
            clip_id=clip_id,
            refusal=Refusal(
                "checks_unavailable",
                f"The recording could not be checked now ({exc.__class__.__name__}). "
                "Record it again in a moment.",
            ),
        )


def clip_refuse(*, clip_id: uuid.UUID | str, refusal: Refusal) -> None:
    """Refuse a clip still being checked: the reason is kept, the audio removed."""
    with transaction.atomic():
        clip = Clip.objects.select_for_update().filter(id=clip_id).first()
        if clip is None or clip.status != Clip.Status.CHECKING:
            return
        clip.checks = {**clip.checks, "refusal": refusal.as_dict()}
        clip.status = Clip.Status.REFUSED
        audio_name = clip.audio.name
        clip.audio = ""
        clip.save(update_fields=["checks", "status", "audio"])
        transaction.on_commit(lambda: _delete_stored(audio_name))


def _delete_stored(*names: str | None) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _own_clip(*, clip_id: uuid.UUID | str, volunteer: Volunteer) -> Clip:
    clip = Clip.objects.select_for_update().filter(id=clip_id, volunteer=volunteer).first()
    if clip is None:
        raise ApplicationError("clip_not_found", "No such recording.", status_code=404)
    return clip


def clip_confirm(*, clip_id: uuid.UUID | str, volunteer: Volunteer) -> Clip:
    """The speaker keeps a checked clip: it joins the validation queue. Confirming twice is
    harmless."""
    with transaction.atomic():
        clip = _own_clip(clip_id=clip_id, volunteer=volunteer)
        if clip.status == Clip.Status.CHECKING:
            raise ApplicationError(
                "clip_not_ready",
                "The recording is still being checked; a moment, please.",
                status_code=status.HTTP_409_CONFLICT,
            )
        if clip.status == Clip.Status.REFUSED:
            refusal = clip.checks.get("refusal", {})
            raise ApplicationError(
                "clip_refused",
                refusal.get("message", "This recording was refused; record it again."),
                status_code=status.HTTP_409_CONFLICT,
            )
        if clip.status == Clip.Status.UNCONFIRMED:
            clip.status = Clip.Status.PENDING
            clip.save(update_fields=["status"])
        return clip


def clip_discard(*, clip_id: uuid.UUID | str, volunteer: Volunteer) -> None:
    """The speaker records again: an unconfirmed (or refused, or still checked) clip is deleted
    with its audio. A confirmed clip stays (it may already carry votes)."""
    with transaction.atomic():
        clip = _own_clip(clip_id=clip_id, volunteer=volunteer)
        if clip.status not in (
            Clip.Status.CHECKING,
            Clip.Status.UNCONFIRMED,
            Clip.Status.REFUSED,
        ):
            raise ApplicationError(
                "clip_confirmed",
                "This recording is already submitted for validation.",
                status_code=status.HTTP_409_CONFLICT,
            )
        audio_name = clip.audio.name
        clip.delete()
        transaction.on_commit(lambda: _delete_stored(audio_name))


def volunteer_erase(*, volunteer: Volunteer) -> dict[str, int]:
    """Erase a volunteer: their clips (audio included), votes, reports and profile. Clips they
    voted on keep their counts and verdicts; their clips leave every later export."""
    with transaction.atomic():
        audio_names = list(Clip.objects.filter(volunteer=volunteer).values_list("audio", flat=True))
        erased = {
            "clips": Clip.objects.filter(volunteer=volunteer).count(),
            "votes": Vote.objects.filter(voter=volunteer).count(),
            "reports": Report.objects.filter(reporter=volunteer).count(),
        }
        volunteer.delete()
        transaction.on_commit(lambda: _delete_stored(*audio_names))
    return erased
