from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from collection.telegram.webhook import telegram_webhook
from transcription.openai_api import AudioTranscriptionCreateApi
from uzwhisper.account import token_page


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Browsers ask for /favicon.ico on pages that link no icon (admin, a bare API response).
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("", include("transcription.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/token/", token_page, name="account-token"),
    path("admin/", admin.site.urls),
    path("evaluations/", include("training.urls")),
    path("collect/", include("collection.urls")),
    path("api/v1/", include("transcription.api_urls")),
    path("api/v1/collection/", include("collection.api_urls")),
    path("annotation/", include("annotation.urls")),
    path("api/v1/annotation/", include("annotation.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "v1/audio/transcriptions",
        AudioTranscriptionCreateApi.as_view(),
        name="openai-transcriptions",
    ),
    path("telegram/webhook/", telegram_webhook, name="telegram-webhook"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("django_prometheus.urls")),
]
