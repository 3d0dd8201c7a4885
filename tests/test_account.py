from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_token_page_shows_a_token_and_rotating_it_revokes_the_old_one(client, user):
    client.force_login(user)
    page = client.get("/accounts/token/")
    first = Token.objects.get(user=user).key
    assert first in page.content.decode()

    assert client.post("/accounts/token/").status_code == 302
    second = Token.objects.get(user=user).key
    assert second != first
    assert client.get("/api/v1/jobs/", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 401


def test_pages_need_a_login(client):
    for url in ("/", "/jobs/", "/accounts/token/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
