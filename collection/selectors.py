"""Reads for the collection app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q, QuerySet

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


def clips_validated(*, clip_ids: list | None = None) -> QuerySet[Clip]:
    """Validated clips with prompt and speaker, oldest first; only `clip_ids` when given."""
    clips = Clip.objects.filter(status=Clip.Status.VALIDATED).select_related("prompt", "volunteer")
    if clip_ids is not None:
        clips = clips.filter(id__in=clip_ids)
    return clips.order_by("created_at", "id")
