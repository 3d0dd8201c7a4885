"""Writes for the collection app: prompts, volunteers, validation votes, leases and reports.

Validation follows Common Voice: a clip is validated with at least two counted votes and more up
than down, invalidated with at least two and more down than up; a tie waits for another vote.
One vote per person per clip, never on one's own clip; the clips with the fewest votes are
offered first, each leased to one validator for a while so two validators do not get the same.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import status

from uzwhisper.errors import ApplicationError

from .models import Clip, Prompt, Report, Volunteer, Vote

# Two counted votes decide a clip (Common Voice).
VOTES_TO_DECIDE = 2
# A prompt is hidden from recording after this many open reports.
REPORTS_TO_HIDE = 2
PROMPT_MAX_CHARS = 500

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


def clips_lease_for_validation(
    *,
    validator: Volunteer,
    limit: int = 5,
    language: str | None = None,
    exclude: Iterable[uuid.UUID | str] = (),
) -> list[Clip]:
    """Up to `limit` pending clips for `validator`: not their own, not voted on by them, not
    leased to someone else, not in `exclude` (the clips they skipped); the fewest votes first,
    then the oldest. Each is leased to them for COLLECTION_LEASE_SECONDS."""
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
        excluded = list(exclude)
        if excluded:
            candidates = candidates.exclude(id__in=excluded)
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


# --- the Telegram bot ---


def volunteer_set_interface_language(*, volunteer: Volunteer, language: str) -> Volunteer:
    """The language the bot speaks to them. Unlike volunteer_update_profile this is not
    consent: someone may switch language before deciding."""
    if language not in Volunteer.Interface.values:
        raise ApplicationError(
            "invalid_input", f"language must be one of {', '.join(Volunteer.Interface.values)}."
        )
    Volunteer.objects.filter(id=volunteer.id).update(interface_language=language)
    volunteer.interface_language = language
    return volunteer


def clip_lease_release(*, clip_id: uuid.UUID | str, validator: Volunteer) -> None:
    """A validator skipped the clip: another may take it at once. Releasing a lease they no
    longer hold changes nothing."""
    Clip.objects.filter(id=clip_id, leased_to=validator).update(leased_to=None, leased_until=None)
