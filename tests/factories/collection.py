"""Prompts, volunteers and clips (with real stored audio), and votes."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from collection.models import Clip, Prompt, Volunteer, Vote
from collection.services import prompt_dedup_key
from tests.support import CLIPS

from .accounts import UserFactory

DEFAULT_CLIP = "usc_1131474547_2_29208_1"  # real Uzbek read speech, 4.4 s


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    text = factory.Sequence(lambda n: f"Bu {n}-jumla: ammo boshqa bir sabab bilan")
    dedup_key = factory.LazyAttribute(lambda o: prompt_dedup_key(o.text))
    language = "uz"
    created_at = factory.LazyFunction(timezone.now)


class VolunteerFactory(factory.django.DjangoModelFactory):
    """A web volunteer with a user account, consented, from Tashkent."""

    class Meta:
        model = Volunteer

    user = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    consented_at = factory.LazyFunction(timezone.now)
    dialect = "tashkent"
    age_band = "twenties"
    gender = "female"


class ClipFactory(factory.django.DjangoModelFactory):
    """A pending clip whose audio is a real recording (`audio_path`, an Uzbek test clip)."""

    class Meta:
        model = Clip

    class Params:
        audio_path = CLIPS[DEFAULT_CLIP].path
        audio_bytes = factory.LazyAttribute(lambda o: Path(o.audio_path).read_bytes())

    id = factory.LazyFunction(uuid.uuid4)
    prompt = factory.SubFactory(PromptFactory)
    volunteer = factory.SubFactory(VolunteerFactory)
    speaker_profile = factory.LazyAttribute(lambda o: o.volunteer.profile())
    source = Clip.Source.WEB
    status = Clip.Status.PENDING
    audio = factory.LazyAttribute(
        lambda o: ContentFile(o.audio_bytes, name=Path(o.audio_path).name)
    )
    duration_s = 4.4
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.audio_bytes).hexdigest())
    created_at = factory.LazyFunction(timezone.now)


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    clip = factory.SubFactory(ClipFactory)
    voter = factory.SubFactory(VolunteerFactory)
    is_valid = True
    created_at = factory.LazyFunction(timezone.now)
