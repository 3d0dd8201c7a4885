"""Evaluation runs, made without the model."""

from __future__ import annotations

import factory
from django.utils import timezone

from training.models import EvaluationRun


class EvaluationRunFactory(factory.django.DjangoModelFactory):
    """A run still `running` over /data/dev.jsonl, started now, as `evaluation_run_create`
    leaves it; no items. Trait `done=True` for a finished one."""

    class Meta:
        model = EvaluationRun

    class Params:
        done = factory.Trait(
            status=EvaluationRun.Status.DONE,
            finished_at=factory.LazyFunction(timezone.now),
        )

    created_at = factory.LazyFunction(timezone.now)
    started_at = factory.SelfAttribute("created_at")
    heartbeat_at = factory.SelfAttribute("created_at")
    status = EvaluationRun.Status.RUNNING
    model_path = "/models/whisper-base"
    name = "dev"
    manifest_name = "dev.jsonl"
    manifest_path = factory.LazyAttribute(lambda o: f"/data/{o.manifest_name}")
