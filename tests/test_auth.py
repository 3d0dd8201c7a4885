"""The one token parser, for DRF, WebSockets and the OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from uzwhisper.auth import token_from_authorization, user_for_token


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer abc123", "abc123"),
        ("Token abc123", "abc123"),
        ("bearer abc123", "abc123"),
        (b"Bearer abc123", "abc123"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("", None),
        (b"Bearer \xff\xfe", None),
    ],
)
def test_the_key_comes_from_bearer_or_token_headers_only(header, key):
    assert token_from_authorization(header) == key


@pytest.mark.django_db
def test_a_key_names_its_active_user_only(token):
    assert user_for_token(token.key) == token.user
    assert user_for_token("no-such-key") is None
    token.user.is_active = False
    token.user.save()
    assert user_for_token(token.key) is None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Token", "Bearer two parts", "token a b", b"Bearer \xff\xfe"],
    ids=["bearer-no-key", "token-no-key", "bearer-spaces", "token-spaces", "bearer-not-utf8"],
)
@pytest.mark.django_db
def test_a_malformed_bearer_or_token_header_gets_a_clear_401(header):
    """One parser reads every header; a value in our schemes that it cannot read is refused with
    a message saying what to send, not treated as anonymous."""
    value = header if isinstance(header, bytes) else header.encode()
    response = APIClient().get("/api/v1/jobs/", HTTP_AUTHORIZATION=value)
    assert response.status_code == 401
    assert "Malformed Authorization header" in response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Bearer"
