"""The annotation task lifecycle over REST (DRF): next task, draft saves against a version,
submit, release, review, and task creation for admins. Each view checks its role
(annotation.roles), validates, calls one service or selector and serializes."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collection.models import Dialect
from uzwhisper.errors import ApplicationError

from .audio import task_audio_response
from .models import CREATABLE_SOURCES, Annotation, Review, Task
from .roles import ADMIN, ANNOTATOR, REVIEWER, RolePermission
from .segments import SPEAKERS, WORD_LANGUAGES
from .selectors import annotation_get_for_user, review_view, task_get_for_review, task_get_for_user
from .services import (
    annotation_release,
    annotation_save_draft,
    annotation_submit,
    review_decide,
    task_next_for_annotator,
    tasks_create_from_clips,
    tasks_create_from_jobs,
)


class RoleApi(APIView):
    permission_classes = [IsAuthenticated, RolePermission]
    required_role = ANNOTATOR


class WordSerializer(serializers.Serializer):
    text = serializers.CharField()
    # null: not tagged yet (typed since the last save); the server's tagger tags it.
    language = serializers.ChoiceField(choices=WORD_LANGUAGES, allow_null=True)


class SegmentSerializer(serializers.Serializer):
    """Documents the shape; the rules are checked in annotation.segments (one place)."""

    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField(allow_blank=True)
    speaker = serializers.ChoiceField(choices=SPEAKERS, default="A")
    untranscribable = serializers.BooleanField(default=False)
    words = WordSerializer(many=True, required=False)


class TaskOutputSerializer(serializers.ModelSerializer):
    links = serializers.SerializerMethodField()
    peaks_ready = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "source",
            "status",
            "original_name",
            "duration_s",
            "language",
            "required_annotations",
            "peaks_ready",
            "peaks_per_second",
            "peaks_duration_s",
            "peaks_error",
            "machine_segments",
            "created_at",
            "links",
        ]

    def get_peaks_ready(self, task: Task) -> bool:
        return bool(task.peaks)

    def get_links(self, task: Task) -> dict[str, str]:
        return {
            "audio": reverse("annotation-api:task-audio", kwargs={"task_id": task.id}),
            "peaks": reverse("annotation-api:task-peaks", kwargs={"task_id": task.id}),
        }


class AnnotationOutputSerializer(serializers.ModelSerializer):
    task = TaskOutputSerializer()
    annotator = serializers.CharField(source="annotator.get_username")
    review_comment = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id",
            "task",
            "annotator",
            "status",
            "version",
            "segments",
            "dialect",
            "locked_until",
            "saved_at",
            "submitted_at",
            "edit_rate",
            "review_comment",
            "links",
        ]

    def get_review_comment(self, annotation: Annotation) -> str:
        review = annotation.reviews.order_by("-created_at").first()
        return review.comment if review and review.decision == Review.Decision.REJECT else ""

    def get_links(self, annotation: Annotation) -> dict[str, str]:
        kwargs = {"annotation_id": annotation.id}
        return {
            "self": reverse("annotation-api:annotation-detail", kwargs=kwargs),
            "draft": reverse("annotation-api:annotation-draft", kwargs=kwargs),
            "submit": reverse("annotation-api:annotation-submit", kwargs=kwargs),
            "page": reverse("annotation:editor", kwargs=kwargs),
        }


class SaveInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    segments = SegmentSerializer(many=True)
    dialect = serializers.ChoiceField(choices=Dialect.choices, required=False, allow_blank=True)


def _raw_segments(request: Request) -> Any:
    # The serializer documents and type-checks; the segments are taken as sent so that
    # annotation.segments reports a rule broken by segment number, not DRF's nested errors.
    return request.data.get("segments")


class TaskNextApi(RoleApi):
    required_role = ANNOTATOR

    @extend_schema(request=None, responses={200: AnnotationOutputSerializer, 204: None})
    def post(self, request: Request) -> Response:
        annotation = task_next_for_annotator(user=request.user)
        if annotation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AnnotationOutputSerializer(annotation).data)


class AnnotationDetailApi(RoleApi):
    required_role = ANNOTATOR

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()]  # annotators (their own) and reviewers: the selector decides

    @extend_schema(responses=AnnotationOutputSerializer)
    def get(self, request: Request, annotation_id: str) -> Response:
        annotation = annotation_get_for_user(user=request.user, annotation_id=annotation_id)
        return Response(AnnotationOutputSerializer(annotation).data)


class AnnotationDraftApi(RoleApi):
    required_role = ANNOTATOR

    @extend_schema(request=SaveInputSerializer, responses=AnnotationOutputSerializer)
    def put(self, request: Request, annotation_id: str) -> Response:
        data = SaveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = annotation_save_draft(
            user=request.user,
            annotation_id=annotation_id,
            version=data.validated_data["version"],
            segments=_raw_segments(request),
            dialect=data.validated_data.get("dialect", ""),
        )
        return Response(AnnotationOutputSerializer(annotation).data)


class AnnotationSubmitApi(RoleApi):
    required_role = ANNOTATOR

    @extend_schema(request=SaveInputSerializer, responses=AnnotationOutputSerializer)
    def post(self, request: Request, annotation_id: str) -> Response:
        data = SaveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = annotation_submit(
            user=request.user,
            annotation_id=annotation_id,
            version=data.validated_data["version"],
            segments=_raw_segments(request),
            dialect=data.validated_data.get("dialect", ""),
        )
        return Response(AnnotationOutputSerializer(annotation).data)


class AnnotationReleaseApi(RoleApi):
    required_role = ANNOTATOR

    class AnnotationReleaseInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)

    @extend_schema(request=AnnotationReleaseInputSerializer, responses=AnnotationOutputSerializer)
    def post(self, request: Request, annotation_id: str) -> Response:
        data = self.AnnotationReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = annotation_release(
            user=request.user, annotation_id=annotation_id, version=data.validated_data["version"]
        )
        return Response(AnnotationOutputSerializer(annotation).data)


class ReviewDecideApi(RoleApi):
    required_role = REVIEWER

    class ReviewDecideInputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=Review.Decision.choices)
        comment = serializers.CharField(required=False, allow_blank=True, default="")

    class ReviewDecideOutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Review
            fields = ["id", "annotation", "decision", "comment", "version", "wer", "agreement"]

    @extend_schema(
        request=ReviewDecideInputSerializer, responses={201: ReviewDecideOutputSerializer}
    )
    def post(self, request: Request, annotation_id: str) -> Response:
        data = self.ReviewDecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = review_decide(
            reviewer=request.user, annotation_id=annotation_id, **data.validated_data
        )
        return Response(
            self.ReviewDecideOutputSerializer(review).data, status=status.HTTP_201_CREATED
        )


class ReviewTaskApi(RoleApi):
    required_role = REVIEWER

    @extend_schema(
        responses=inline_serializer(
            "ReviewComparison",
            {
                "task": TaskOutputSerializer(),
                "machine_text": serializers.CharField(),
                "agreement": serializers.FloatField(allow_null=True),
                "annotations": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request: Request, task_id: str) -> Response:
        view = review_view(task=task_get_for_review(user=request.user, task_id=task_id))
        return Response(
            {
                "task": TaskOutputSerializer(view.task).data,
                "machine_text": view.machine_text,
                "agreement": view.agreement,
                "annotations": [
                    {
                        "id": str(row["annotation"].id),
                        "annotator": row["annotation"].annotator.get_username(),
                        "status": row["annotation"].status,
                        "version": row["annotation"].version,
                        "text": row["text"],
                        "wer": row["wer"],
                        "diff": row["diff"],
                    }
                    for row in view.annotations
                ],
            }
        )


class TaskCreateApi(RoleApi):
    required_role = ADMIN

    class TaskCreateInputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(choices=CREATABLE_SOURCES)
        ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
        required_annotations = serializers.IntegerField(min_value=1, max_value=2, default=1)

    @extend_schema(
        request=TaskCreateInputSerializer, responses={201: TaskOutputSerializer(many=True)}
    )
    def post(self, request: Request) -> Response:
        data = self.TaskCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        create = tasks_create_from_jobs if values["source"] == "job" else tasks_create_from_clips
        ids_key = "job_ids" if values["source"] == "job" else "clip_ids"
        tasks = create(
            **{ids_key: values["ids"]},
            created_by=request.user,
            required_annotations=values["required_annotations"],
        )
        return Response(TaskOutputSerializer(tasks, many=True).data, status=status.HTTP_201_CREATED)


class TaskAudioApi(APIView):
    """The task's audio, whole or one byte range (the editor's media element streams it)."""

    @extend_schema(responses={(200, "audio/*"): bytes, (206, "audio/*"): bytes})
    def get(self, request: Request, task_id: str) -> Any:
        task = task_get_for_user(user=request.user, task_id=task_id)
        return task_audio_response(task=task, range_header=request.headers.get("Range"))


class TaskPeaksApi(APIView):
    """The waveform peaks: signed bytes 0..127, `peaks_per_second` of them per second."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, task_id: str) -> HttpResponse:
        task = task_get_for_user(user=request.user, task_id=task_id)
        if task.peaks_error:
            raise ApplicationError(
                "peaks_failed", task.peaks_error, status_code=status.HTTP_410_GONE
            )
        if not task.peaks:
            raise ApplicationError(
                "peaks_not_ready",
                "The waveform is still being prepared.",
                status_code=status.HTTP_409_CONFLICT,
            )
        with task.peaks.open("rb") as handle:
            data = handle.read()
        response = HttpResponse(data, content_type="application/octet-stream")
        response["X-Peaks-Per-Second"] = str(task.peaks_per_second)
        response["X-Duration"] = str(task.peaks_duration_s)
        response["Cache-Control"] = "private, max-age=86400"
        return response
