from __future__ import annotations

from django.urls import path

from . import apis

app_name = "collection-api"

urlpatterns = [
    path("profile/", apis.VolunteerProfileApi.as_view(), name="profile"),
    path("prompts/next/", apis.PromptNextApi.as_view(), name="prompt-next"),
    path("prompts/<int:prompt_id>/report/", apis.PromptReportApi.as_view(), name="prompt-report"),
    path("clips/", apis.ClipListCreateApi.as_view(), name="clip-list"),
    path("clips/<str:clip_id>/", apis.ClipDetailApi.as_view(), name="clip-detail"),
    path("clips/<str:clip_id>/confirm/", apis.ClipConfirmApi.as_view(), name="clip-confirm"),
    path("clips/<str:clip_id>/discard/", apis.ClipDiscardApi.as_view(), name="clip-discard"),
    path("clips/<str:clip_id>/vote/", apis.ClipVoteApi.as_view(), name="clip-vote"),
    path("validation/lease/", apis.ValidationLeaseApi.as_view(), name="validation-lease"),
    path(
        "validation/<str:clip_id>/audio",
        apis.ValidationAudioApi.as_view(),
        name="validation-audio",
    ),
    path("progress/", apis.CollectionProgressApi.as_view(), name="progress"),
]
