"""The signed-in user's API token: shown on a page, rotated on request."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


@transaction.atomic
def token_get_or_create(*, user: AbstractBaseUser) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's token; clients using the old one get 401 from now on."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@login_required
@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        token_rotate(user=request.user)
        return redirect("account-token")
    token = token_get_or_create(user=request.user)
    return render(
        request,
        "account/token.html",
        {"token": token, "base_url": request.build_absolute_uri("/").rstrip("/")},
    )
