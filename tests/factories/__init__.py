"""A factory per model (factory_boy), one module per app; the names are re-exported here."""

from __future__ import annotations

from .accounts import TokenFactory, UserFactory
from .annotation import AnnotationFactory, TaskFactory, annotator_user, reviewer_user
from .collection import ClipFactory, PromptFactory, VolunteerFactory, VoteFactory
from .training import EvaluationRunFactory
from .transcription import (
    JobFactory,
    ModelVersionFactory,
    SegmentFactory,
    WordFactory,
    make_job,
    make_segment,
)

__all__ = [
    "AnnotationFactory",
    "ClipFactory",
    "EvaluationRunFactory",
    "JobFactory",
    "ModelVersionFactory",
    "PromptFactory",
    "SegmentFactory",
    "TaskFactory",
    "TokenFactory",
    "UserFactory",
    "VolunteerFactory",
    "VoteFactory",
    "WordFactory",
    "annotator_user",
    "make_job",
    "make_segment",
    "reviewer_user",
]
