"""The pages' shared ES modules (static/js/lib/: socket, api, errors) in headless Chromium: each
page loads them without a failed request or a console error and runs, and `apiFetch` turns a real
API error body into an ApiError. No worker needed: the job is made with the factories.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import make_job, make_segment
from tests.support import ARTIFACTS
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIB = ("/static/js/lib/api.js", "/static/js/lib/errors.js", "/static/js/lib/socket.js")
# The shared modules each page imports, besides its own.
PAGES = {
    "/": ("/static/js/upload.js", LIB[0], LIB[1]),
    "/live/": ("/static/js/live.js", LIB[1], LIB[2]),
    "/collect/record/": (
        "/static/js/collect-record.js",
        LIB[0],
        LIB[1],
        "/static/js/lib/level.js",
        "/static/js/lib/recorder.js",
    ),
    "/collect/validate/": ("/static/js/collect-validate.js", LIB[0], LIB[1]),
}

LOADED_SCRIPTS = """() => performance.getEntriesByType("resource")
    .map((entry) => new URL(entry.name).pathname)
    .filter((path) => path.endsWith(".js"))"""

API_ERROR = """async (path) => {
    const { ApiError, apiFetch } = await import("/static/js/lib/api.js");
    try {
        await apiFetch(path);
        return null;
    } catch (error) {
        return {
            isApiError: error instanceof ApiError,
            code: error.code,
            message: error.message,
            status: error.status,
        };
    }
}"""

SHOW_ERROR = """async (error) => {
    const { showError } = await import("/static/js/lib/errors.js");
    const region = document.getElementById("job-error");
    showError(region, error, { withCode: true });
    return { role: region.getAttribute("role"), text: region.textContent, hidden: region.hidden };
}"""


@pytest.fixture
def done_job(user, ru_clip):
    job = make_job(owner=user, path=ru_clip.path, status="done", progress=1.0)
    make_segment(job=job, index=0, start=0.0, end=1.5, words=[(" Подключение", "ru")])
    return job


def _record_failed_request(problems: list[str], url: str, failure: str | None) -> None:
    # Chromium cancels what is still in flight (the favicon, say) when the test navigates on, and
    # reports it as net::ERR_ABORTED; that is the test's doing, not the page's. A file that is
    # missing still shows up, as an HTTP 4xx in the response handler.
    if failure and "ERR_ABORTED" in failure:
        return
    problems.append(f"failed: {url} {failure}")


@pytest.fixture
def watched_page(user, done_job):
    """A Chromium page that records console errors, uncaught errors and failed requests."""
    # After the rows: Playwright's sync API runs an event loop, and the ORM refuses to run in one.
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda r: _record_failed_request(problems, r.url, r.failure))
        page.on(
            "response",
            lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"),
        )
        yield page, problems
        browser.close()


def test_pages_load_the_shared_modules(watched_page, user, done_job, live_server_url, tmp_path):
    page, problems = watched_page
    log_in(page, live_server_url, user.username)

    for path, scripts in PAGES.items():
        page.goto(f"{live_server_url}{path}")
        page.wait_for_load_state("load")
        loaded = page.evaluate(LOADED_SCRIPTS)
        assert set(scripts) <= set(loaded), (path, loaded)

    # The upload page's module runs: choosing a file names it.
    page.goto(f"{live_server_url}/")
    clip = tmp_path / "named.wav"
    clip.write_bytes(b"RIFF")
    page.set_input_files("#audio-input", str(clip))
    assert "named.wav" in page.locator("#file-name").inner_text()

    # The job page's module runs: the transcript arrives over lib/socket.js.
    page.goto(f"{live_server_url}/jobs/{done_job.id}/")
    page.wait_for_selector("#segments li")
    assert "Подключение" in page.locator("#segments").inner_text()
    assert set(LIB) <= set(page.evaluate(LOADED_SCRIPTS))
    assert problems == []

    # A real API error body becomes an ApiError with its code, message and status.
    missing = page.evaluate(API_ERROR, f"/api/v1/jobs/{uuid.uuid4()}/")
    assert missing == {
        "isApiError": True,
        "code": "job_not_found",
        "message": "No such job.",
        "status": 404,
    }
    shown = page.evaluate(SHOW_ERROR, missing)
    page.screenshot(path=str(ARTIFACTS / "browser-shared-modules.png"), full_page=True)
    assert shown == {"role": "alert", "text": "No such job. (job_not_found)", "hidden": False}
    # The only problem since is the 404 itself (Chromium logs it as a failed resource).
    assert all("404" in problem for problem in problems), problems

    # An unsafe call through apiFetch carries the page's CSRF token: Delete works.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live_server_url}/jobs/")
    assert "demo-nogo.wav" not in page.locator("main").inner_text()
