"""Reads for the collection app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet

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


# --- the Telegram bot ---


def volunteer_by_telegram_id(*, telegram_id: int) -> Volunteer | None:
    return Volunteer.objects.filter(telegram_id=telegram_id).first()


def prompt_for_volunteer(
    *, volunteer: Volunteer, exclude: list[int] | None = None
) -> Prompt | None:
    """The next prompt for `volunteer` to read: one they have not recorded (nor skipped, in
    `exclude`), with the fewest clips."""
    prompts = prompts_for_recording().exclude(clips__volunteer=volunteer)
    if exclude:
        prompts = prompts.exclude(id__in=exclude)
    return prompts.first()


def prompt_get(*, prompt_id: int) -> Prompt | None:
    return Prompt.objects.filter(id=prompt_id).first()


def clip_of_volunteer(*, clip_id: str, volunteer: Volunteer) -> Clip | None:
    """One of `volunteer`'s own clips, with its prompt; None when it is not theirs or gone."""
    return Clip.objects.filter(id=clip_id, volunteer=volunteer).select_related("prompt").first()


def clip_for_validation(*, clip_id: str) -> Clip | None:
    return Clip.objects.filter(id=clip_id).select_related("prompt").first()


def clip_audio_bytes(*, clip: Clip) -> bytes:
    with clip.audio.open("rb") as audio:
        return audio.read()


# Clips that count as recorded: confirmed by their speaker (see EXPORTED_STATUSES).
RECORDED_STATUSES = EXPORTED_STATUSES


@dataclass(frozen=True)
class VolunteerStats:
    recorded: int  # clips they recorded and confirmed
    validated: int  # of those, validated by others
    votes: int  # votes they cast


def volunteer_stats(*, volunteer: Volunteer) -> VolunteerStats:
    clips = Clip.objects.filter(volunteer=volunteer).aggregate(
        recorded=Count("id", filter=Q(status__in=RECORDED_STATUSES)),
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
            recorded=Count("clips", filter=Q(clips__status__in=RECORDED_STATUSES), distinct=True),
            voted=Count("votes", distinct=True),
        )
        .filter(Q(recorded__gt=0) | Q(voted__gt=0))
        .annotate(score=F("recorded") + F("voted"))
        .order_by("-score", "id")[:limit]
    )
    return [LeaderboardRow(v.id, v.pseudonym.hex[:6], v.recorded, v.voted) for v in rows]
