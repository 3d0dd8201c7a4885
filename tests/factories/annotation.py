"""Annotation tasks (with real stored audio), annotations, and users holding annotation roles."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from annotation.models import Annotation, Task
from annotation.roles import grant_role
from tests.support import CLIPS

from .accounts import UserFactory

DEFAULT_CLIP = "demo-nogo"  # real Russian speech, 10.5 s

MACHINE_SEGMENTS = [
    {
        "start": 0.0,
        "end": 4.0,
        "text": "Подключение к серверу",
        "speaker": "A",
        "untranscribable": False,
        "words": [
            {"text": "Подключение", "language": "ru"},
            {"text": "к", "language": "ru"},
            {"text": "серверу", "language": "ru"},
        ],
    },
    {
        "start": 4.0,
        "end": 9.0,
        "text": "через консоли",
        "speaker": "A",
        "untranscribable": False,
        "words": [{"text": "через", "language": "ru"}, {"text": "консоли", "language": "ru"}],
    },
]


def annotator_user(**fields):
    user = UserFactory(**fields)
    grant_role(user, "annotator")
    return user


def reviewer_user(**fields):
    user = UserFactory(**fields)
    grant_role(user, "reviewer")
    return user


class TaskFactory(factory.django.DjangoModelFactory):
    """An open task of a manifest line: its own copy of a real recording (`audio_path`), two
    machine segments, no peaks yet (call task_compute_peaks)."""

    class Meta:
        model = Task

    class Params:
        audio_path = CLIPS[DEFAULT_CLIP].path

    id = factory.LazyFunction(uuid.uuid4)
    source = Task.Source.MANIFEST
    audio = factory.LazyAttribute(
        lambda o: ContentFile(Path(o.audio_path).read_bytes(), name=Path(o.audio_path).name)
    )
    original_name = factory.LazyAttribute(lambda o: Path(o.audio_path).name)
    duration_s = 10.54
    language = "ru"
    speaker_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
    machine_segments = factory.LazyFunction(lambda: [dict(s) for s in MACHINE_SEGMENTS])
    created_at = factory.LazyFunction(timezone.now)


class AnnotationFactory(factory.django.DjangoModelFactory):
    """A draft in progress, locked to its annotator for the configured lock time."""

    class Meta:
        model = Annotation

    task = factory.SubFactory(TaskFactory)
    annotator = factory.LazyFunction(annotator_user)
    segments = factory.LazyAttribute(lambda o: o.task.machine_segments)
    created_at = factory.LazyFunction(timezone.now)
    saved_at = factory.SelfAttribute("created_at")
    opened_at = factory.SelfAttribute("created_at")
    locked_until = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=30))
