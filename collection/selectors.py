"""Reads for the collection app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import CharField, Count, F, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from uzwhisper.errors import ApplicationError

from .models import Clip, Prompt, Volunteer, Vote


def prompts_for_recording(*, language: str | None = None) -> QuerySet[Prompt]:
    """Prompts a volunteer may be asked to read: not hidden by reports, not banned; the ones
    with the fewest clips first."""
    prompts = Prompt.objects.filter(hidden=False, banned=False)
    if language:
        prompts = prompts.filter(language=language)
    return prompts.annotate(clip_count=Count("clips")).order_by("clip_count", "id")


@dataclass(frozen=True)
class ValidatorAgreement:
    volunteer: Volunteer
    decided_votes: int  # votes on clips that have a verdict now
    disagreements: int  # of those, votes against the verdict

    @property
    def disagreement_rate(self) -> float:
        return self.disagreements / self.decided_votes if self.decided_votes else 0.0


def validators_disagreement(*, minimum_votes: int = 10) -> list[ValidatorAgreement]:
    """Each validator with at least `minimum_votes` votes on decided clips, and how often they
    voted against the verdict; the most disagreeing first."""
    decided = (Clip.Status.VALIDATED, Clip.Status.INVALIDATED)
    against = Q(votes__clip__status=Clip.Status.VALIDATED, votes__is_valid=False) | Q(
        votes__clip__status=Clip.Status.INVALIDATED, votes__is_valid=True
    )
    rows = (
        Volunteer.objects.annotate(
            decided_votes=Count("votes", filter=Q(votes__clip__status__in=decided)),
            disagreements=Count("votes", filter=against),
        )
        .filter(decided_votes__gte=minimum_votes)
        .order_by("-disagreements")
    )
    found = [ValidatorAgreement(v, v.decided_votes, v.disagreements) for v in rows]
    return sorted(found, key=lambda row: row.disagreement_rate, reverse=True)


def validators_to_review(*, minimum_votes: int = 10) -> list[ValidatorAgreement]:
    """Validators whose disagreement rate is above COLLECTION_DISAGREEMENT_THRESHOLD: an admin
    looks at them and may discount their votes."""
    threshold = settings.COLLECTION_DISAGREEMENT_THRESHOLD
    return [
        row
        for row in validators_disagreement(minimum_votes=minimum_votes)
        if row.disagreement_rate > threshold
    ]


# Confirmed clips: waiting for votes (Common Voice's "other"), validated or invalidated.
EXPORTED_STATUSES = (Clip.Status.PENDING, Clip.Status.VALIDATED, Clip.Status.INVALIDATED)


def clips_for_export(*, since: datetime | None = None) -> QuerySet[Clip]:
    """Every clip with its prompt and speaker, oldest first; with `since`, only those recorded
    after it (a dated delta). Erased volunteers' clips are gone with them; clips still being
    checked, refused by the checks or not confirmed by their speaker are not exported."""
    clips = (
        Clip.objects.filter(status__in=EXPORTED_STATUSES)
        .select_related("prompt", "volunteer")
        .order_by("created_at", "id")
    )
    if since is not None:
        clips = clips.filter(created_at__gt=since)
    return clips


def votes_of(*, volunteer: Volunteer) -> QuerySet[Vote]:
    return Vote.objects.filter(voter=volunteer).select_related("clip")


# --- the web recorder and validator ---


def prompts_to_record(
    *, volunteer: Volunteer, language: str | None = None, limit: int = 5
) -> list[Prompt]:
    """The next `limit` prompts for `volunteer`: those `prompts_for_recording` offers, less the
    ones they have already recorded (a clip of theirs in any status but refused, which they may
    read again)."""
    recorded = Clip.objects.filter(volunteer=volunteer).exclude(status=Clip.Status.REFUSED)
    prompts = prompts_for_recording(language=language).exclude(id__in=recorded.values("prompt_id"))
    return list(prompts[:limit])


def clip_get_for_volunteer(*, volunteer: Volunteer, clip_id: uuid.UUID | str) -> Clip:
    """`volunteer`'s own clip; the same 404 whether it is missing or someone else's."""
    clip_uuid = _uuid_or_none(clip_id)
    clip = (
        Clip.objects.select_related("prompt").filter(id=clip_uuid, volunteer=volunteer).first()
        if clip_uuid
        else None
    )
    if clip is None:
        raise ApplicationError("clip_not_found", "No such clip.", status_code=404)
    return clip


def clips_of(*, volunteer: Volunteer) -> QuerySet[Clip]:
    """`volunteer`'s clips, newest first."""
    return (
        Clip.objects.filter(volunteer=volunteer)
        .select_related("prompt")
        .order_by("-created_at", "id")
    )


def clip_get_for_validator(*, validator: Volunteer, clip_id: uuid.UUID | str) -> Clip:
    """A clip `validator` may hear: pending and leased to them now. Anything else (missing,
    leased to someone else, lease run out, decided) is the same 404, so a validator cannot
    fetch audio outside the batch they were given."""
    clip_uuid = _uuid_or_none(clip_id)
    clip = (
        Clip.objects.select_related("prompt")
        .filter(
            id=clip_uuid,
            status=Clip.Status.PENDING,
            leased_to=validator,
            leased_until__gt=timezone.now(),
        )
        .first()
        if clip_uuid
        else None
    )
    if clip is None:
        raise ApplicationError("clip_not_found", "No such clip in your batch.", status_code=404)
    return clip


def _uuid_or_none(value: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- progress, for admins ---

# Clips that count towards the data set's progress: confirmed by their speaker, not yet refused
# by validators. (Checking/unconfirmed/refused clips are the recorder's business.)
PROGRESS_STATUSES = (Clip.Status.PENDING, Clip.Status.VALIDATED, Clip.Status.INVALIDATED)


@dataclass(frozen=True)
class ProgressRow:
    """Confirmed clips with one value of a breakdown (a dialect, say; "" when not given)."""

    key: str
    validated_clips: int
    validated_seconds: float
    pending_clips: int
    invalidated_clips: int

    @property
    def validated_hours(self) -> float:
        return self.validated_seconds / 3600


@dataclass(frozen=True)
class CollectionProgress:
    total: ProgressRow
    by_dialect: list[ProgressRow]
    by_gender: list[ProgressRow]
    by_age_band: list[ProgressRow]
    by_language: list[ProgressRow]
    volunteers: int  # volunteers with at least one confirmed clip


_VALIDATED = Q(status=Clip.Status.VALIDATED)


def _progress_rows(breakdown: Any) -> list[ProgressRow]:
    """One query: the figures grouped by `breakdown` (an expression), the most validated
    first."""
    rows = (
        Clip.objects.filter(status__in=PROGRESS_STATUSES)
        .annotate(breakdown_key=Coalesce(breakdown, Value(""), output_field=CharField()))
        .values("breakdown_key")
        .annotate(
            validated_clips=Count("id", filter=_VALIDATED),
            validated_seconds=Coalesce(Sum("duration_s", filter=_VALIDATED), Value(0.0)),
            pending_clips=Count("id", filter=Q(status=Clip.Status.PENDING)),
            invalidated_clips=Count("id", filter=Q(status=Clip.Status.INVALIDATED)),
        )
        .order_by("-validated_seconds", "-pending_clips", "breakdown_key")
    )
    return [
        ProgressRow(
            key=row["breakdown_key"],
            validated_clips=row["validated_clips"],
            validated_seconds=row["validated_seconds"],
            pending_clips=row["pending_clips"],
            invalidated_clips=row["invalidated_clips"],
        )
        for row in rows
    ]


def collection_progress() -> CollectionProgress:
    """What has been collected, overall and by the speaker's dialect, gender and age band (as
    the clip recorded them) and by the prompt's language. Five queries, whatever the data."""
    confirmed = Clip.objects.filter(status__in=PROGRESS_STATUSES)
    totals = confirmed.aggregate(
        validated_clips=Count("id", filter=_VALIDATED),
        validated_seconds=Coalesce(Sum("duration_s", filter=_VALIDATED), Value(0.0)),
        pending_clips=Count("id", filter=Q(status=Clip.Status.PENDING)),
        invalidated_clips=Count("id", filter=Q(status=Clip.Status.INVALIDATED)),
        volunteers=Count("volunteer_id", distinct=True),
    )
    return CollectionProgress(
        total=ProgressRow(
            key="",
            validated_clips=totals["validated_clips"],
            validated_seconds=totals["validated_seconds"],
            pending_clips=totals["pending_clips"],
            invalidated_clips=totals["invalidated_clips"],
        ),
        by_dialect=_progress_rows(KeyTextTransform("dialect", "speaker_profile")),
        by_gender=_progress_rows(KeyTextTransform("gender", "speaker_profile")),
        by_age_band=_progress_rows(KeyTextTransform("age_band", "speaker_profile")),
        by_language=_progress_rows(F("prompt__language")),
        volunteers=totals["volunteers"],
    )


# --- the Telegram bot ---


def volunteer_by_telegram_id(*, telegram_id: int) -> Volunteer | None:
    return Volunteer.objects.filter(telegram_id=telegram_id).first()


def prompt_get(*, prompt_id: int) -> Prompt | None:
    return Prompt.objects.filter(id=prompt_id).first()


def clip_for_validation(*, clip_id: str) -> Clip | None:
    return Clip.objects.filter(id=clip_id).select_related("prompt").first()


def clip_audio_bytes(*, clip: Clip) -> bytes:
    with clip.audio.open("rb") as audio:
        return audio.read()


@dataclass(frozen=True)
class VolunteerStats:
    recorded: int  # clips they recorded and confirmed
    validated: int  # of those, validated by others
    votes: int  # votes they cast


def volunteer_stats(*, volunteer: Volunteer) -> VolunteerStats:
    clips = Clip.objects.filter(volunteer=volunteer).aggregate(
        recorded=Count("id", filter=Q(status__in=PROGRESS_STATUSES)),
        validated=Count("id", filter=Q(status=Clip.Status.VALIDATED)),
    )
    return VolunteerStats(
        recorded=clips["recorded"],
        validated=clips["validated"],
        votes=Vote.objects.filter(voter=volunteer).count(),
    )


@dataclass(frozen=True)
class LeaderboardRow:
    volunteer_id: int
    name: str  # the start of their pseudonym: never a Telegram name or id
    recorded: int
    votes: int


def volunteers_leaderboard(*, limit: int = 10) -> list[LeaderboardRow]:
    """The volunteers who contributed most (confirmed clips plus votes), most first."""
    rows = (
        Volunteer.objects.annotate(
            recorded=Count("clips", filter=Q(clips__status__in=PROGRESS_STATUSES), distinct=True),
            voted=Count("votes", distinct=True),
        )
        .filter(Q(recorded__gt=0) | Q(voted__gt=0))
        .annotate(score=F("recorded") + F("voted"))
        .order_by("-score", "id")[:limit]
    )
    return [LeaderboardRow(v.id, v.pseudonym.hex[:6], v.recorded, v.voted) for v in rows]


def clips_validated(*, clip_ids: list | None = None) -> QuerySet[Clip]:
    """Validated clips with prompt and speaker, oldest first; only `clip_ids` when given."""
    clips = Clip.objects.filter(status=Clip.Status.VALIDATED).select_related("prompt", "volunteer")
    if clip_ids is not None:
        clips = clips.filter(id__in=clip_ids)
    return clips.order_by("created_at", "id")
