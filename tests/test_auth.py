"""The one token parser, for DRF, WebSockets and the OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest

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
