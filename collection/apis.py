"""REST API for volunteers (DRF), under /api/v1/collection/: their profile and consent, prompts
to read, their recordings (submit, poll the automatic checks, confirm or discard), and
validation (lease a batch, hear a leased clip, vote, report a prompt). Views validate, call a
service or selector, serialize. A volunteer is the caller's account (`volunteer_for_user`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.http.response import HttpResponseBase
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from uzwhisper.audio_responses import audio_file_response
from uzwhisper.errors import ApplicationError

from . import selectors, services
from .models import AgeBand, Clip, Dialect, Gender, Prompt, Report, Volunteer

# Recordings are uploaded as the browser's MediaRecorder makes them (WebM/Opus, Ogg) or as
# files from other clients; the stored name's suffix tells the player what it is.
CLIP_CONTENT_TYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "flac": "audio/flac",
}
# Room for the multipart envelope and the other fields around the audio.
FORM_OVERHEAD_BYTES = 64 * 1024


def _volunteer(request: Request) -> Volunteer:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated, the default permission, let it in
    return services.volunteer_for_user(user=user)


class ClipPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


# --- output shapes ---


class PromptOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prompt
        fields = ["id", "text", "language", "domain"]


class RefusalSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ClipOutputSerializer(serializers.ModelSerializer):
    """A recording as its speaker sees it."""

    prompt = PromptOutputSerializer()
    refusal = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Clip
        fields = [
            "id",
            "prompt",
            "status",
            "duration_s",
            "checks",
            "refusal",
            "source",
            "created_at",
            "links",
        ]

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_refusal(self, clip: Clip) -> dict | None:
        refusal = (clip.checks or {}).get("refusal")
        return refusal if isinstance(refusal, dict) else None

    def get_links(self, clip: Clip) -> dict[str, str]:
        kwargs = {"clip_id": clip.id}
        return {
            "self": reverse("collection-api:clip-detail", kwargs=kwargs),
            "confirm": reverse("collection-api:clip-confirm", kwargs=kwargs),
            "discard": reverse("collection-api:clip-discard", kwargs=kwargs),
        }


class ValidationClipOutputSerializer(serializers.ModelSerializer):
    """A clip as a validator gets it in a batch: no speaker, the audio while the lease lasts."""

    prompt = PromptOutputSerializer()
    audio = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Clip
        fields = ["id", "prompt", "duration_s", "leased_until", "audio", "links"]

    def get_audio(self, clip: Clip) -> str:
        return reverse("collection-api:validation-audio", kwargs={"clip_id": clip.id})

    def get_links(self, clip: Clip) -> dict[str, str]:
        return {
            "vote": reverse("collection-api:clip-vote", kwargs={"clip_id": clip.id}),
            "report_prompt": reverse(
                "collection-api:prompt-report", kwargs={"prompt_id": clip.prompt_id}
            ),
        }


class VolunteerOutputSerializer(serializers.ModelSerializer):
    consented = serializers.SerializerMethodField()

    class Meta:
        model = Volunteer
        fields = [
            "pseudonym",
            "consented",
            "consented_at",
            "age_band",
            "gender",
            "dialect",
            "native_language",
            "interface_language",
        ]

    def get_consented(self, volunteer: Volunteer) -> bool:
        return volunteer.consented_at is not None


class VoteOutputSerializer(serializers.Serializer):
    clip = serializers.UUIDField(source="id")
    status = serializers.CharField()


# --- profile ---


class VolunteerProfileApi(APIView):
    """The caller's volunteer profile. Recording needs consent: the first PATCH must carry
    `"consent": true`; later ones may change the profile alone."""

    @extend_schema_serializer(component_name="VolunteerProfileInput")
    class InputSerializer(serializers.Serializer):
        consent = serializers.BooleanField(required=False)
        age_band = serializers.ChoiceField(choices=AgeBand.choices, required=False)
        gender = serializers.ChoiceField(choices=Gender.choices, required=False)
        dialect = serializers.ChoiceField(choices=Dialect.choices, required=False)
        native_language = serializers.CharField(max_length=32, required=False, allow_blank=True)
        interface_language = serializers.ChoiceField(
            choices=Volunteer.Interface.choices, required=False
        )

    @extend_schema(responses=VolunteerOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(VolunteerOutputSerializer(_volunteer(request)).data)

    @extend_schema(request=InputSerializer, responses=VolunteerOutputSerializer)
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = dict(data.validated_data)
        consent = profile.pop("consent", None)
        volunteer = _volunteer(request)
        # The service records consent with the first profile it saves; here that must be asked
        # for explicitly. (Withdrawing consent is erasure, an admin's action.)
        if volunteer.consented_at is None and consent is not True:
            raise ApplicationError(
                "consent_required", 'Send "consent": true with your first profile.'
            )
        volunteer = services.volunteer_update_profile(volunteer=volunteer, **profile)
        return Response(VolunteerOutputSerializer(volunteer).data)


# --- recording ---


class PromptNextApi(APIView):
    """The next sentences for the caller to read: the least recorded first, never one they have
    already recorded."""

    @extend_schema_serializer(component_name="PromptNextFilter")
    class FilterSerializer(serializers.Serializer):
        language = serializers.ChoiceField(choices=Prompt.Language.choices, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=20, default=5)

    @extend_schema(parameters=[FilterSerializer], responses=PromptOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        prompts = selectors.prompts_to_record(
            volunteer=_volunteer(request), **filters.validated_data
        )
        return Response(PromptOutputSerializer(prompts, many=True).data)


class ClipListCreateApi(APIView):
    """GET lists the caller's recordings, newest first; POST submits one (multipart: `prompt`
    and `audio`). The signal checks answer at once (an error, nothing stored); a clip that
    passes comes back `checking`: poll it until `unconfirmed` (confirm it) or `refused`."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="ClipSubmitInput")
    class InputSerializer(serializers.Serializer):
        prompt = serializers.IntegerField(min_value=1)
        audio = serializers.FileField(allow_empty_file=False)

    @extend_schema(
        parameters=[OpenApiParameter("page", int)], responses=ClipOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        clips = selectors.clips_of(volunteer=_volunteer(request))
        paginator = ClipPagination()
        page = paginator.paginate_queryset(clips, request, view=self)
        return paginator.get_paginated_response(ClipOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ClipOutputSerializer})
    def post(self, request: Request) -> Response:
        # Refuse an oversized body before reading it into memory.
        limit = settings.COLLECTION_MAX_CLIP_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + FORM_OVERHEAD_BYTES:
            raise ApplicationError(
                "file_too_large",
                f"The recording is larger than {limit / 1e6:.0f} MB.",
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["audio"]
        clip = services.clip_submit(
            volunteer=_volunteer(request),
            prompt_id=data.validated_data["prompt"],
            audio=upload.read(),
            filename=upload.name or "recording",
            source=Clip.Source.WEB,
        )
        return Response(ClipOutputSerializer(clip).data, status=status.HTTP_201_CREATED)


class ClipDetailApi(APIView):
    """One of the caller's recordings: poll `status` while it is `checking`."""

    @extend_schema(responses=ClipOutputSerializer)
    def get(self, request: Request, clip_id: str) -> Response:
        clip = selectors.clip_get_for_volunteer(volunteer=_volunteer(request), clip_id=clip_id)
        return Response(ClipOutputSerializer(clip).data)


class ClipConfirmApi(APIView):
    """The speaker keeps a recording that passed the checks: it goes to validation."""

    @extend_schema(request=None, responses=ClipOutputSerializer)
    def post(self, request: Request, clip_id: str) -> Response:
        clip = services.clip_confirm(clip_id=clip_id, volunteer=_volunteer(request))
        return Response(ClipOutputSerializer(clip).data)


class ClipDiscardApi(APIView):
    """The speaker records again: a recording not yet confirmed is deleted with its audio."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, clip_id: str) -> Response:
        services.clip_discard(clip_id=clip_id, volunteer=_volunteer(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- validation ---


class ValidationLeaseApi(APIView):
    """A batch of other volunteers' clips for the caller to check, each reserved to them for
    COLLECTION_LEASE_SECONDS; an empty list when there is nothing to check."""

    @extend_schema_serializer(component_name="ValidationLeaseInput")
    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=20, default=5)
        language = serializers.ChoiceField(choices=Prompt.Language.choices, required=False)

    @extend_schema(request=InputSerializer, responses=ValidationClipOutputSerializer(many=True))
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clips = services.clips_lease_for_validation(
            validator=_volunteer(request), **data.validated_data
        )
        return Response(ValidationClipOutputSerializer(clips, many=True).data)


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The audio answer is a file whatever the client accepts (a player sends `audio/*` or
    `*/*`); DRF's default would refuse `audio/*` with 406 before the view runs. Errors still
    come back as JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class ValidationAudioApi(APIView):
    """A leased clip's audio, to its validator only and only while the lease lasts; byte ranges
    as the browser's player asks for them."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, "audio/*"): bytes, (206, "audio/*"): bytes})
    def get(self, request: Request, clip_id: str) -> HttpResponseBase:
        clip = selectors.clip_get_for_validator(validator=_volunteer(request), clip_id=clip_id)
        suffix = (clip.audio.name or "").rsplit(".", 1)[-1].lower()
        return audio_file_response(
            handle=cast(BinaryIO, clip.audio.open("rb")),
            size=clip.audio.size,
            content_type=CLIP_CONTENT_TYPES.get(suffix, "application/octet-stream"),
            range_header=request.headers.get("Range"),
        )


class ClipVoteApi(APIView):
    """One vote per person per clip: a second one is refused with `already_voted`."""

    @extend_schema_serializer(component_name="VoteInput")
    class InputSerializer(serializers.Serializer):
        # Not `is_valid`: that name is the serializer's own method.
        valid = serializers.BooleanField(help_text="true: read correctly; false: not")

    @extend_schema(request=InputSerializer, responses={201: VoteOutputSerializer})
    def post(self, request: Request, clip_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clip = services.vote_cast(
            clip_id=clip_id, voter=_volunteer(request), is_valid=data.validated_data["valid"]
        )
        return Response(VoteOutputSerializer(clip).data, status=status.HTTP_201_CREATED)


class PromptReportApi(APIView):
    """Report a sentence (once per person); enough reports hide it from recording."""

    @extend_schema_serializer(component_name="PromptReportInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=Report.Reason.choices)

    @extend_schema(request=InputSerializer, responses={201: None})
    def post(self, request: Request, prompt_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.prompt_report(
            prompt_id=prompt_id, reporter=_volunteer(request), reason=data.validated_data["reason"]
        )
        return Response(status=status.HTTP_201_CREATED)


# --- progress ---


class ProgressRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    validated_clips = serializers.IntegerField()
    validated_seconds = serializers.FloatField()
    validated_hours = serializers.FloatField()
    pending_clips = serializers.IntegerField()
    invalidated_clips = serializers.IntegerField()


class ProgressOutputSerializer(serializers.Serializer):
    total = ProgressRowSerializer()
    volunteers = serializers.IntegerField()
    by_dialect = ProgressRowSerializer(many=True)
    by_gender = ProgressRowSerializer(many=True)
    by_age_band = ProgressRowSerializer(many=True)
    by_language = ProgressRowSerializer(many=True)


class CollectionProgressApi(APIView):
    """What has been collected, overall and by dialect, gender, age band and language. Staff
    only."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses=ProgressOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProgressOutputSerializer(selectors.collection_progress()).data)
