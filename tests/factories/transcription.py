"""Jobs with real stored audio, and their segments and words, made without queueing anything."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.support import CLIPS
from transcription.models import Job, ModelVersion, Segment, Word
from uzwhisper.lib.audio import inspect_audio

from .accounts import UserFactory

# What a job holds unless told otherwise: real speech (10.5 s, Russian) a worker can transcribe.
DEFAULT_CLIP = "demo-nogo"


class JobFactory(factory.django.DjangoModelFactory):
    """A queued job (no task sent) whose audio is stored like an upload's: the file at
    `audio_path` (a clip of tests/data/speech unless given). Name, size, hash, duration and codec
    are that file's."""

    class Meta:
        model = Job

    class Params:
        audio_path = CLIPS[DEFAULT_CLIP].path
        audio_bytes = factory.LazyAttribute(lambda o: Path(o.audio_path).read_bytes())
        audio_info = factory.LazyAttribute(
            lambda o: inspect_audio(Path(o.audio_path), max_seconds=24 * 3600)
        )

    id = factory.LazyFunction(uuid.uuid4)
    owner = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    original_name = factory.LazyAttribute(lambda o: Path(o.audio_path).name)
    # Saved under job_audio_path (from id and created_at) when the row is saved.
    audio = factory.LazyAttribute(lambda o: ContentFile(o.audio_bytes, name=o.original_name))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.audio_bytes).hexdigest())
    size_bytes = factory.LazyAttribute(lambda o: len(o.audio_bytes))
    duration_s = factory.LazyAttribute(lambda o: o.audio_info.duration_s)
    codec = factory.LazyAttribute(lambda o: o.audio_info.codec)


class SegmentFactory(factory.django.DjangoModelFactory):
    """A two-second segment, its index following the last one made."""

    class Meta:
        model = Segment

    job = factory.SubFactory(JobFactory)
    index = factory.Sequence(int)
    start = factory.LazyAttribute(lambda o: 2.0 * o.index)
    end = factory.LazyAttribute(lambda o: o.start + 2.0)
    text = " Salom dunyo"
    text_latin = factory.SelfAttribute("text")
    language = "uz"
    avg_logprob = -0.2
    no_speech_prob = 0.01


class WordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Word

    segment = factory.SubFactory(SegmentFactory)
    index = factory.Sequence(int)
    start = factory.SelfAttribute("segment.start")
    end = factory.SelfAttribute("segment.end")
    text = " Salom"
    probability = 0.9
    language = "uz"


def make_job(*, owner, path, original_name: str | None = None, **fields) -> Job:
    """A job of `owner` with the audio at `path` stored, made without queueing it."""
    if original_name is not None:
        fields["original_name"] = original_name
    return JobFactory(owner=owner, audio_path=path, **fields)


def make_segment(
    *, job: Job, index: int, start: float, end: float, words: list[tuple[str, str]]
) -> Segment:
    """A segment of `job` with words given as (text, language) pairs, spread evenly over it."""
    text = "".join(word for word, _ in words).strip()
    segment = SegmentFactory(
        job=job,
        index=index,
        start=start,
        end=end,
        text=text,
        language=words[0][1] if words else "",
    )
    step = (end - start) / max(len(words), 1)
    for i, (word, language) in enumerate(words):
        WordFactory(
            segment=segment,
            index=i,
            start=start + i * step,
            end=start + (i + 1) * step,
            text=word,
            language=language,
        )
    return segment


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A candidate version at `path` (a directory the test made; none checked here), checksum
    made up. Use `transcription.services.registry.model_version_register` for a real one."""

    class Meta:
        model = ModelVersion

    name = factory.Sequence(lambda n: f"version-{n}")
    created_at = factory.LazyFunction(timezone.now)
    status = ModelVersion.Status.CANDIDATE
    path = factory.Sequence(lambda n: f"/models/version-{n}")
    checksum = factory.LazyFunction(lambda: hashlib.sha256(uuid.uuid4().bytes).hexdigest())
