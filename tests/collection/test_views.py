"""The collection pages as the server renders them: who may see them, their language, and the
progress page's figures and charts."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from collection.models import AgeBand, Clip, Dialect, Gender, Report
from collection.page_texts import CHOICE_LABELS, ERROR_TEXTS, PAGE_LANGUAGES, TEXTS
from tests.factories import ClipFactory, UserFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/collect/record/", "/collect/validate/", "/collect/progress/"])
def test_the_pages_want_a_login(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_recorder_asks_a_newcomer_for_consent_in_uzbek_then_russian():
    client = logged_in(UserFactory())
    page = client.get("/collect/record/").content.decode()
    assert 'data-needs-profile="true"' in page
    assert TEXTS["uz"]["consent"] in page
    assert "Samarqand–Buxoro" in page
    russian = client.get("/collect/record/?lang=ru").content.decode()
    assert TEXTS["ru"]["consent"] in russian
    assert "Самарканд–Бухара" in russian
    assert 'href="/collect/record/?lang=uz"' in russian  # the switch back


def test_a_volunteer_who_consented_goes_straight_to_the_microphone_in_their_language():
    volunteer = VolunteerFactory(interface_language="ru")
    page = logged_in(volunteer.user).get("/collect/record/").content.decode()
    assert 'data-needs-profile="false"' in page
    assert TEXTS["ru"]["mic_title"] in page


def test_the_validator_page_offers_the_four_report_reasons():
    page = logged_in(UserFactory()).get("/collect/validate/").content.decode()
    for label in CHOICE_LABELS["uz"]["reason"].values():
        assert label in page


def test_every_choice_and_text_is_there_in_both_languages():
    fields = {
        "dialect": Dialect.values,
        "age_band": AgeBand.values,
        "gender": Gender.values,
        "reason": Report.Reason.values,
    }
    for language in PAGE_LANGUAGES:
        for field, values in fields.items():
            assert set(CHOICE_LABELS[language][field]) == set(values), (language, field)
    assert set(TEXTS["uz"]) == set(TEXTS["ru"])
    assert set(ERROR_TEXTS["uz"]) == set(ERROR_TEXTS["ru"])
    assert set(CHOICE_LABELS["uz"]["native_language"]) == set(
        CHOICE_LABELS["ru"]["native_language"]
    )


def test_progress_is_refused_to_volunteers_and_shown_to_staff():
    assert logged_in(UserFactory()).get("/collect/progress/").status_code == 403

    khorezm = VolunteerFactory(dialect="khorezm")
    ClipFactory(volunteer=khorezm, status=Clip.Status.VALIDATED, duration_s=5400.0)
    ClipFactory(status=Clip.Status.VALIDATED, duration_s=1800.0)  # Tashkent
    ClipFactory(status=Clip.Status.PENDING)
    response = logged_in(UserFactory(is_staff=True)).get("/collect/progress/")
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'id="total-validated-hours">2\.00<', page)
    assert re.search(r'id="total-pending-clips">1<', page)
    # One chart per breakdown; the longest bar is the largest figure's.
    assert page.count('<svg class="bars"') == 4
    dialect_chart = page.split('id="by_dialect"')[1].split("</svg>")[0]
    widths = [
        float(w) for w in re.findall(r'class="bar-hours"[^>]*width="([\d.]+)"', dialect_chart)
    ]
    assert widths == [360.0, 120.0]
    assert "Xorazm" in dialect_chart
