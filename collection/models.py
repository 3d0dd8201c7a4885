"""Crowdsourced speech: prompts volunteers read, their profiles, the clips they record, and the
votes, leases and reports through which other volunteers validate them (Common Voice's rules)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from uzwhisper.asr.languages import LANGUAGE_MODE_LABELS


class Dialect(models.TextChoices):
    TASHKENT = "tashkent", "Tashkent"
    FERGANA = "fergana", "Fergana valley"
    KHOREZM = "khorezm", "Khorezm"
    SAMARKAND_BUKHARA = "samarkand_bukhara", "Samarkand–Bukhara"
    SURKHANDARYA_KASHKADARYA = "surkhandarya_kashkadarya", "Surkhandarya–Kashkadarya"
    KARAKALPAKSTAN = "karakalpakstan", "Karakalpakstan"
    OTHER = "other", "Other"


class AgeBand(models.TextChoices):
    TEENS = "teens", "under 19"
    TWENTIES = "twenties", "19–29"
    THIRTIES = "thirties", "30–39"
    FORTIES = "forties", "40–49"
    FIFTIES = "fifties", "50–59"
    SIXTIES = "sixties", "60 and over"


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


class Prompt(models.Model):
    """A sentence to read aloud. Uzbek, Russian, or Uzbek carrying Russian words (mixed)."""

    class Language(models.TextChoices):
        UZBEK = "uz", LANGUAGE_MODE_LABELS["uz"]
        RUSSIAN = "ru", LANGUAGE_MODE_LABELS["ru"]
        MIXED = "mixed", LANGUAGE_MODE_LABELS["mixed"]

    text = models.TextField()
    # The text as compared for duplicates (see services.prompt_dedup_key).
    dedup_key = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=8, choices=Language.choices)
    domain = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=255, blank=True)  # where it came from, with its licence
    created_at = models.DateTimeField()
    # Hidden after enough reports; banned by an admin. Neither is offered for recording.
    hidden = models.BooleanField(default=False)
    banned = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["language", "hidden", "banned"])]

    def __str__(self) -> str:
        return self.text[:60]


class Volunteer(models.Model):
    """Someone who records or validates, from Telegram or the web. Exports name them only by
    `pseudonym`."""

    class Interface(models.TextChoices):
        UZBEK = "uz", "Oʻzbekcha"
        RUSSIAN = "ru", "Русский"

    pseudonym = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="volunteer",
    )
    telegram_id = models.BigIntegerField(null=True, blank=True, unique=True)
    interface_language = models.CharField(
        max_length=2, choices=Interface.choices, default=Interface.UZBEK
    )
    consented_at = models.DateTimeField(null=True, blank=True)
    age_band = models.CharField(max_length=16, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    dialect = models.CharField(max_length=32, choices=Dialect.choices, blank=True)
    native_language = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    # Votes of validators who disagree with final verdicts too often can be discounted.
    votes_discounted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(telegram_id__isnull=False),
                name="volunteer_has_an_identity",
            )
        ]

    def __str__(self) -> str:
        return f"volunteer {self.pseudonym.hex[:8]}"

    def profile(self) -> dict[str, str]:
        """What a clip keeps of its speaker at recording time."""
        return {
            "age_band": self.age_band,
            "gender": self.gender,
            "dialect": self.dialect,
            "native_language": self.native_language,
        }


def clip_audio_path(clip: Clip, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"clips/{clip.created_at:%Y/%m/%d}/{clip.id}.{suffix[:8]}"


class Clip(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking"  # stored; the model's transcript (CER) is being computed
        UNCONFIRMED = "unconfirmed"  # passed the checks; the volunteer has not confirmed it yet
        REFUSED = "refused"  # failed a check (checks["refusal"] says which); audio removed
        PENDING = "pending"  # confirmed; waiting for votes
        VALIDATED = "validated"
        INVALIDATED = "invalidated"

    class Source(models.TextChoices):
        TELEGRAM = "telegram"
        WEB = "web"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="clips")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="clips")
    speaker_profile = models.JSONField(default=dict)  # Volunteer.profile() when recorded
    source = models.CharField(max_length=16, choices=Source.choices)
    audio = models.FileField(upload_to=clip_audio_path, max_length=255)
    duration_s = models.FloatField()
    sha256 = models.CharField(max_length=64)
    checks = models.JSONField(default=dict)  # the automatic checks' results
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CHECKING, db_index=True
    )
    up_votes = models.PositiveIntegerField(default=0)
    down_votes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # Offered to one validator until then, so two validators do not get the same clip.
    leased_to = models.ForeignKey(
        Volunteer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "up_votes", "down_votes", "created_at"])]

    def __str__(self) -> str:
        return f"clip {self.id.hex[:8]} ({self.status})"


class Vote(models.Model):
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="votes")
    is_valid = models.BooleanField()
    # False when the voter's votes were discounted at the time: kept, not counted.
    counted = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip", "voter"], name="one_vote_per_person_per_clip")
        ]

    def __str__(self) -> str:
        return f"{'up' if self.is_valid else 'down'} vote on {self.clip_id}"


class Report(models.Model):
    """A volunteer's report of a prompt, with Common Voice's reasons."""

    class Reason(models.TextChoices):
        OFFENSIVE = "offensive", "Offensive language"
        GRAMMAR = "grammar", "Grammatical or spelling errors"
        DIFFERENT_LANGUAGE = "different_language", "Different language"
        HARD_TO_PRONOUNCE = "hard_to_pronounce", "Difficult to pronounce"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    created_at = models.DateTimeField()
    resolved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "reporter"], name="one_report_per_person_per_prompt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} report on prompt {self.prompt_id}"


class TelegramState(models.Model):
    """python-telegram-bot's persistence (conversation states, user and chat data), one JSON
    document per key, so a conversation survives a bot restart and several bot processes share
    it. `kind` is one of conversation/user/chat/bot/callback; `key` the conversation name plus
    its key, the user id or the chat id."""

    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=128)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_telegram_state_per_key")
        ]

    def __str__(self) -> str:
        return f"telegram {self.kind} {self.key}"
