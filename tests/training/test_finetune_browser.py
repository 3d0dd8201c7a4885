"""The fine-tune run page in headless Chromium: loss and WER charts grow as a real `train` worker
pushes points over Channels, and the cancel button stops the run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import UserFactory
from tests.support import (
    ARTIFACTS,
    EVAL_STEMS,
    TINY_RUN,
    TRAIN_STEMS,
    start_train_worker,
    write_manifest,
)
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in
from training.finetune import services
from training.models import FineTuneRun
from transcription.services import registry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def run(staff, tmp_path):
    return services.finetune_run_create(
        name="browser-run",
        base_version=registry.model_version_bundled(),
        train_manifest=str(write_manifest(tmp_path / "train.jsonl", TRAIN_STEMS)),
        eval_manifest=str(write_manifest(tmp_path / "eval.jsonl", EVAL_STEMS)),
        init=FineTuneRun.Init.TINY_RANDOM,
        hyperparameters={**TINY_RUN, "max_steps": 400, "eval_steps": 2, "save_steps": 50},
        created_by=staff,
    )


@pytest.fixture
def page(staff, run):
    # After the rows it needs: Playwright's sync API runs an event loop, and the ORM refuses to
    # run inside one.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 1400}).new_page()
        page.set_default_timeout(120_000)
        yield page
        browser.close()


def test_the_run_page_charts_live_and_cancels(page, staff, run, live_server_url):
    worker = start_train_worker("train-worker-browser")
    try:
        log_in(page, live_server_url, staff.username)
        page.goto(f"{live_server_url}/evaluations/runs/{run.id}/")
        # Points arrive over the WebSocket while the page stays loaded.
        page.wait_for_function(
            "document.querySelector('#chart-loss .series-loss')?.dataset.points >= 3"
        )
        page.wait_for_function(
            "document.querySelector('#chart-wer .series-all')?.dataset.points >= 1"
        )
        page.wait_for_function(
            "document.querySelector('#chart-wer .series-ru')?.dataset.points >= 1"
        )
        assert page.locator("#run-status").text_content() == "training"
        page.screenshot(path=str(ARTIFACTS / "browser-finetune-run.png"), full_page=True)

        page.get_by_role("button", name="Cancel run").click()
        page.wait_for_function("document.getElementById('run-status').textContent === 'cancelled'")
    finally:
        worker.stop()
    # The ORM from a thread of its own: this one runs Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        stored = pool.submit(lambda: FineTuneRun.objects.get(id=run.id)).result()
    assert stored.status == FineTuneRun.Status.CANCELLED
    assert 3 <= stored.step < 400
    page.screenshot(path=str(ARTIFACTS / "browser-finetune-cancelled.png"), full_page=True)
