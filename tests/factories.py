from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-1")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory)


def make_job(*, owner, path, original_name: str | None = None, **fields):
    """A job row with real stored audio, made without queueing it."""
    import uuid
    from pathlib import Path

    from django.core.files import File
    from django.utils import timezone

    from transcription.models import Job
    from uzwhisper.lib.audio import inspect_audio

    path = Path(path)
    info = inspect_audio(path, max_seconds=24 * 3600)
    job = Job(
        id=uuid.uuid4(),
        owner=owner,
        created_at=timezone.now(),
        original_name=original_name or path.name,
        sha256="0" * 64,
        size_bytes=path.stat().st_size,
        duration_s=info.duration_s,
        codec=info.codec,
        **fields,
    )
    with path.open("rb") as handle:
        job.audio.save(job.original_name, File(handle), save=False)
    job.save()
    return job


def make_segment(*, job, index: int, start: float, end: float, words: list[tuple[str, str]]):
    """A segment of `job` with words given as (text, language) pairs, spread evenly over it."""
    from transcription.models import Segment, Word

    text = "".join(word for word, _ in words).strip()
    segment = Segment.objects.create(
        job=job,
        index=index,
        start=start,
        end=end,
        text=text,
        text_latin=text,
        language=words[0][1] if words else "",
        avg_logprob=-0.2,
        no_speech_prob=0.01,
    )
    step = (end - start) / max(len(words), 1)
    Word.objects.bulk_create(
        Word(
            segment=segment,
            index=i,
            start=start + i * step,
            end=start + (i + 1) * step,
            text=word,
            probability=0.9,
            language=language,
        )
        for i, (word, language) in enumerate(words)
    )
    return segment
