"""Staff pages for evaluation runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import UserFactory
from training.selectors import EVALUATION_STALE_AFTER

from .helpers import make_run, make_run_running

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_staff_sees_runs_newest_first_paginated(staff_client):
    for n in range(20):
        make_run(manifest_name=f"old-{n:02d}.jsonl")
    make_run(manifest_name="newest.jsonl")
    first = staff_client.get("/evaluations/")
    assert first.status_code == 200
    page = first.content.decode()
    assert "Page 1 of 2 · 21 runs" in page
    assert page.index("newest.jsonl") < page.index("old-19.jsonl")
    assert "<td>newest</td>" in page  # the run's name
    assert "old-00.jsonl" not in page
    assert "35.7%" in page  # overall WER of each run
    assert "old-00.jsonl" in staff_client.get("/evaluations/?page=2").content.decode()


def test_staff_sees_a_run_with_its_slices_chart_and_utterances(staff_client):
    run = make_run()
    response = staff_client.get(f"/evaluations/{run.id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<th scope="row">language=uz</th>' in page
    assert "62.5%" in page
    assert "<svg" in page
    assert "WER by slice" in page
    assert "line 2 (missing_audio)" in page
    assert "ammo boshqa bir sabab bilan hayvon deya olmayman" in page

    chart = staff_client.get(f"/evaluations/{run.id}/dev-whatever.svg")
    assert chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg")
    report = staff_client.get(f"/evaluations/{run.id}/report.md")
    assert report.status_code == 200
    stem = f"dev-{run.created_at:%Y%m%d-%H%M%S}-{run.id.hex[:8]}"
    assert report["Content-Disposition"] == f'inline; filename="{stem}.md"'


def test_non_staff_are_refused_and_visitors_sent_to_log_in(client):
    run = make_run()
    anonymous = client.get(f"/evaluations/{run.id}/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory())
    assert client.get("/evaluations/").status_code == 403
    assert client.get(f"/evaluations/{run.id}/").status_code == 403
    assert client.get(f"/evaluations/{run.id}/report.md").status_code == 403


def test_unknown_run_is_404(staff_client):
    assert staff_client.get("/evaluations/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_run_whose_process_died_shows_as_interrupted(staff_client):
    dead = make_run_running(heartbeat_age=EVALUATION_STALE_AFTER + timedelta(minutes=1))
    running = make_run_running(heartbeat_age=timedelta(seconds=10))
    listing = staff_client.get("/evaluations/").content.decode()
    assert listing.count(">interrupted</span>") == 1
    assert listing.count(">Running</span>") == 1
    page = staff_client.get(f"/evaluations/{dead.id}/").content.decode()
    assert ">interrupted</span>" in page
    assert "its process has shown no progress since" in page
    page = staff_client.get(f"/evaluations/{running.id}/").content.decode()
    assert ">Running</span>" in page
    assert "no progress" not in page
