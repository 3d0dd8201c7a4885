"""REST API for transcription jobs (DRF). Views validate, call a service or selector, serialize."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .exports import EXPORT_FORMATS, transcript_export, transcript_json
from .models import Job
from .selectors import job_get_for_user, job_list
from .services.jobs import check_upload_size, job_cancel, job_create, job_delete


class JobPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class JobOutputSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "source",
            "status",
            "progress",
            "original_name",
            "size_bytes",
            "sha256",
            "duration_s",
            "codec",
            "language_requested",
            "language_detected",
            "language_probability",
            "beam_size",
            "vad_filter",
            "word_timestamps",
            "initial_prompt",
            "model_id",
            "code_mixing_index",
            "switch_points",
            "attempts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "processing_s",
            "real_time_factor",
            "links",
        ]

    def get_error(self, job: Job) -> dict | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_message}

    def get_links(self, job: Job) -> dict:
        transcript = {
            fmt: reverse("api:job-transcript", kwargs={"job_id": job.id, "fmt": fmt})
            for fmt in EXPORT_FORMATS
        }
        return {
            "self": reverse("api:job-detail", kwargs={"job_id": job.id}),
            "page": reverse("transcription:job-detail", kwargs={"job_id": job.id}),
            "websocket": f"/ws/jobs/{job.id}/",
            "transcript": transcript,
        }


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt option is an error, not silently ignored."""

    def to_internal_value(self, data):
        unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**unknown, **exc.detail}) from exc
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class JobListCreateApi(APIView):
    """GET lists the caller's jobs; POST creates one. One URL serves both, as REST clients expect
    (the style guide's one-view-per-operation bends here)."""

    parser_classes = [MultiPartParser, FormParser]
    source = Job.Source.API  # what POST records as the job's entry point

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
        source = serializers.ChoiceField(choices=Job.Source.choices, required=False)
        search = serializers.CharField(required=False, allow_blank=True, max_length=200)

    class InputSerializer(StrictSerializer):
        audio = serializers.FileField(allow_empty_file=True)
        language = serializers.ChoiceField(choices=Job.Language.choices, default="auto")
        beam_size = serializers.IntegerField(min_value=1, max_value=10, required=False)
        vad_filter = serializers.BooleanField(default=True)
        word_timestamps = serializers.BooleanField(default=True)
        initial_prompt = serializers.CharField(
            max_length=1000, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        parameters=[FilterSerializer, OpenApiParameter("page", int)],
        responses=JobOutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = job_list(user=request.user, **filters.validated_data)
        paginator = JobPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: JobOutputSerializer})
    def post(self, request):
        # Refuse an oversized body before reading it.
        check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_create(owner=request.user, source=self.source, **data.validated_data)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class JobUploadApi(JobListCreateApi):
    """What the upload page's form posts to: the same input and answer as `POST /api/v1/jobs/`,
    recorded as an upload rather than an API job. Not part of the public API."""

    schema = None
    http_method_names = ["post"]
    source = Job.Source.UPLOAD


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id):
        job = job_get_for_user(user=request.user, job_id=job_id)
        return Response(JobOutputSerializer(job).data)

    @extend_schema(responses={204: None})
    def delete(self, request, job_id):
        job = job_get_for_user(user=request.user, job_id=job_id)
        job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request, job_id):
        job = job_get_for_user(user=request.user, job_id=job_id)
        job = job_cancel(job=job)
        return Response(JobOutputSerializer(job).data)


class JobTranscriptApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(EXPORT_FORMATS)),
            OpenApiParameter("download", bool, description="Send as an attachment"),
        ],
        responses={200: inline_serializer("Transcript", {"text": serializers.CharField()})},
    )
    def get(self, request, job_id, fmt):
        job = job_get_for_user(user=request.user, job_id=job_id)
        export = transcript_export(job=job, fmt=fmt)
        response = HttpResponse(export.content, content_type=export.content_type)
        disposition = "attachment" if request.query_params.get("download") else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{export.filename}"'
        return response


class JobSegmentsApi(APIView):
    """The transcript so far, also while the job runs (for pages that reload mid-job)."""

    @extend_schema(responses=inline_serializer("Segments", {"segments": serializers.ListField()}))
    def get(self, request, job_id):
        job = job_get_for_user(user=request.user, job_id=job_id)
        return Response(transcript_json(job=job))
