"""The annotation loop in headless Chromium: an annotator edits, splits, merges and retags with
the keyboard only and submits; a reviewer rejects with a comment; the annotator fixes it; the
reviewer approves; the export holds it. Screenshots of the editor and the review page land in
test-artifacts/."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command

from annotation.models import Annotation
from annotation.services import task_compute_peaks, tasks_create_from_jobs
from tests.factories import UserFactory, annotator_user, make_job, make_segment, reviewer_user
from tests.support import ARTIFACTS
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def task(ru_clip):
    job = make_job(owner=UserFactory(), path=ru_clip.path, status="done", progress=1.0)
    make_segment(
        job=job,
        index=0,
        start=0.0,
        end=3.5,
        words=[(" Подключение", "ru"), (" к", "ru"), (" серверу", "ru")],
    )
    make_segment(
        job=job,
        index=1,
        start=3.5,
        end=6.0,
        words=[(" через", "ru"), (" консоли", "ru"), (" и", "ru")],
    )
    make_segment(
        job=job,
        index=2,
        start=6.0,
        end=9.5,
        words=[(" база", "ru"), (" данных", "ru"), (" готова", "ru")],
    )
    [task] = tasks_create_from_jobs(job_ids=[job.id], created_by=UserFactory(is_staff=True))
    task_compute_peaks(task_id=task.id)
    return task


@pytest.fixture
def people(task):
    return annotator_user(username="annotator-ann"), reviewer_user(username="reviewer-rev")


@pytest.fixture
def browser(people):
    # After the rows: Playwright's sync API runs an event loop, and the ORM refuses to run in one.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The regions plugin draws into the waveform's shadow root.
REGION_COUNT = """() => {
    const host = document.querySelector('#waveform > div');
    const root = host && host.shadowRoot;
    return root ? root.querySelectorAll('[part~="region"]').length : -1;
}"""


def new_page(browser, problems):
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return page


def active(page) -> str:
    return page.evaluate(
        "() => document.activeElement.id || document.activeElement.className || ''"
    )


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def wait_saved(page, after: int) -> int:
    page.wait_for_function(
        "(v) => Number(document.getElementById('editor').dataset.version) > v", arg=after
    )
    return int(page.get_attribute("#editor", "data-version"))


def off_loop(function, *args, **kwargs):
    """Run ORM code beside Playwright's event loop (the ORM refuses to run inside one)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def annotation_of(user) -> Annotation:
    return Annotation.objects.get(annotator=user)


def segment_texts(page) -> list[str]:
    return page.eval_on_selector_all("#segments textarea", "(els) => els.map((e) => e.value)")


def test_keyboard_annotation_review_loop_and_export(
    browser, people, task, live_server_url, tmp_path
):
    annotator, reviewer = people
    problems: list[str] = []
    page = new_page(browser, problems)
    log_in(page, live_server_url, annotator.username)
    page.goto(f"{live_server_url}/annotation/")
    tab_to(page, "#next-task")
    page.keyboard.press("Enter")
    page.wait_for_url("**/annotation/a/*/")
    page.wait_for_selector("#editor[data-waveform=ready]")
    # One region per segment, drawn from the server's peaks.
    assert page.evaluate(REGION_COUNT) == 3
    assert active(page) == "seg-text"

    # Edit the first segment; Esc leaves the text box, Enter returns to it.
    page.keyboard.press("Control+a")
    page.keyboard.type("Подключение к серверу базы")
    page.keyboard.press("Escape")
    assert active(page) == "editor"
    page.keyboard.press("Enter")
    assert active(page) == "seg-text"
    page.keyboard.press("Alt+ArrowDown")  # shortcuts work while typing

    # Split "через консоли и" before "и", then merge "и" with "база данных готова".
    page.keyboard.press("End")
    page.keyboard.press("Control+ArrowLeft")
    page.keyboard.press("Alt+s")
    assert segment_texts(page) == [
        "Подключение к серверу базы",
        "через консоли",
        "и",
        "база данных готова",
    ]
    page.keyboard.press("Alt+m")
    assert segment_texts(page) == [
        "Подключение к серверу базы",
        "через консоли",
        "и база данных готова",
    ]

    # Retag the word at the caret ("готова": ru -> other); speed and zoom by keys.
    page.keyboard.press("End")
    page.keyboard.press("Alt+l")
    assert (
        page.locator("#segments li.selected .words button").last.get_attribute("data-language")
        == "other"
    )
    page.keyboard.press("Alt+Equal")
    assert page.locator("#speed").inner_text() == "1.25×"
    page.keyboard.press("Alt+Shift+Equal")
    assert page.locator("#zoom").inner_text() == "20 px/s"

    # Undo and redo the retag.
    page.keyboard.press("Control+z")
    assert (
        page.locator("#segments li.selected .words button").last.get_attribute("data-language")
        == "ru"
    )
    page.keyboard.press("Control+Shift+z")
    assert (
        page.locator("#segments li.selected .words button").last.get_attribute("data-language")
        == "other"
    )

    # Play the selected segment: the playhead moves into it.
    page.keyboard.press("Alt+Enter")
    page.wait_for_function("() => document.getElementById('player').currentTime >= 6.0")
    page.keyboard.press("Alt+p")  # pause

    page.keyboard.press("Alt+Slash")
    assert page.locator("#help").is_visible()
    page.screenshot(path=str(ARTIFACTS / "annotation-help.png"))
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('help').open")

    wait_saved(page, 1)
    page.screenshot(path=str(ARTIFACTS / "annotation-editor.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server_url}/annotation/")
    annotation = off_loop(annotation_of, annotator)
    assert annotation.status == "submitted"
    assert [s["text"] for s in annotation.segments] == [
        "Подключение к серверу базы",
        "через консоли",
        "и база данных готова",
    ]
    assert annotation.segments[2]["words"][-1] == {"text": "готова", "language": "other"}

    # The reviewer sees the differences and the WER, and sends it back.
    review_page = new_page(browser, problems)
    log_in(review_page, live_server_url, reviewer.username)
    review_page.goto(f"{live_server_url}/annotation/review/{task.id}/")
    assert "базы" in review_page.locator(".diff ins").all_inner_texts()
    assert review_page.locator(".wer").inner_text() == "0.100"  # 1 of 10 words
    review_page.screenshot(path=str(ARTIFACTS / "annotation-review.png"), full_page=True)
    review_page.fill("textarea[name=comment]", "Segment 1: “базы” is not said.")
    review_page.get_by_role("button", name="Reject and send back").click()
    review_page.wait_for_url(f"{live_server_url}/annotation/review/")
    assert off_loop(annotation_of, annotator).status == "rejected"

    # The annotator gets it back with the comment, fixes it and submits again.
    page.goto(f"{live_server_url}/annotation/")
    tab_to(page, "#next-task")
    page.keyboard.press("Enter")
    page.wait_for_selector("#editor[data-ready=true]")
    assert "базы” is not said" in page.locator("#review-comment").inner_text()
    assert active(page) == "seg-text"
    page.keyboard.press("End")
    page.keyboard.press("Control+Backspace")
    page.keyboard.press("Backspace")
    assert segment_texts(page)[0] == "Подключение к серверу"
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server_url}/annotation/")

    review_page.goto(f"{live_server_url}/annotation/review/{task.id}/")
    review_page.get_by_role("button", name="Approve").click()
    review_page.wait_for_url(f"{live_server_url}/annotation/review/")
    assert off_loop(annotation_of, annotator).status == "approved"
    assert problems == []

    out = tmp_path / "export"
    off_loop(
        call_command,
        "export_dataset",
        "--source",
        "annotation",
        "--out",
        str(out),
        stdout=io.StringIO(),
    )
    with (out / "validated.tsv").open(encoding="utf-8") as handle:
        sentences = [row["sentence"] for row in csv.DictReader(handle, delimiter="\t")]
    assert sentences == ["Подключение к серверу", "через консоли", "и база данных готова"]
    manifests = [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert {m["source"] for m in manifests} == {"annotation-job"}


def open_editor(browser, problems, base, user):
    page = new_page(browser, problems)
    log_in(page, base, user.username)
    page.goto(f"{base}/annotation/")
    page.get_by_role("button", name="Next task").click()
    page.wait_for_url("**/annotation/a/*/")
    page.wait_for_selector("#editor[data-ready=true]")
    return page


def test_a_stale_tab_is_told_and_nothing_is_overwritten(browser, people, live_server_url):
    annotator, _ = people
    problems: list[str] = []
    first = open_editor(browser, problems, live_server_url, annotator)
    second = first.context.new_page()
    second.goto(first.url)
    second.wait_for_selector("#editor[data-ready=true]")

    first.keyboard.press("Control+a")
    first.keyboard.type("Подключение из первой вкладки")
    wait_saved(first, 1)

    second.keyboard.press("Control+a")
    second.keyboard.type("Подключение из второй вкладки")
    second.keyboard.press("Control+s")
    error = second.locator("#editor-error")
    error.wait_for(state="visible")
    assert "newer version (2)" in error.inner_text()
    assert "Nothing was overwritten" in error.inner_text()
    second.screenshot(path=str(ARTIFACTS / "annotation-stale-tab.png"))
    saved = off_loop(annotation_of, annotator)
    assert saved.version == 2
    assert saved.segments[0]["text"] == "Подключение из первой вкладки"


def test_edits_survive_the_server_going_away_and_a_reload(browser, people, live_server_url):
    annotator, _ = people
    problems: list[str] = []
    page = open_editor(browser, problems, live_server_url, annotator)
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" on reload
    # The server stops answering saves (a restart): the page says so and keeps retrying.
    page.route("**/draft/", lambda route: route.abort("connectionrefused"))
    page.keyboard.press("Control+a")
    page.keyboard.type("Правка во время перезапуска")
    page.wait_for_function(
        "() => document.getElementById('save-state').textContent.includes('Retrying')"
    )
    page.reload()
    page.wait_for_selector("#editor[data-ready=true]")
    assert segment_texts(page)[0] == "Правка во время перезапуска"  # from this browser's copy
    # (The status line says so until the next save attempt replaces it.)
    assert page.get_attribute("#editor", "data-restored") == "true"
    page.unroute("**/draft/")
    # The first save after the reload was refused too; the next retry goes through.
    page.wait_for_function(
        "() => Number(document.getElementById('editor').dataset.version) > 1", timeout=60_000
    )
    assert off_loop(annotation_of, annotator).segments[0]["text"] == "Правка во время перезапуска"


def test_a_task_whose_audio_is_gone_says_so_and_keeps_the_text_editable(
    browser, people, task, live_server_url
):
    annotator, _ = people

    def lose_audio():
        from annotation.models import Task

        stored = Task.objects.get(id=task.id)
        stored.audio.storage.delete(stored.audio.name)
        stored.peaks.storage.delete(stored.peaks.name)
        Task.objects.filter(id=task.id).update(peaks="")
        task_compute_peaks(task_id=task.id)  # finds no audio: records why

    off_loop(lose_audio)
    problems: list[str] = []
    page = open_editor(browser, problems, live_server_url, annotator)
    error = page.locator("#editor-error")
    error.wait_for(state="visible")
    assert "audio of this task is gone" in error.inner_text()
    # The player fails too (preload="metadata"). Its message and the waveform's come in either
    # order, and the last one stays: both must say why.
    page.wait_for_selector("#editor[data-audio=unplayable]", state="attached")
    assert "audio of this task is gone" in error.inner_text()
    page.keyboard.press("Control+a")
    page.keyboard.type("Текст без звука")
    wait_saved(page, 1)
    assert off_loop(annotation_of, annotator).segments[0]["text"] == "Текст без звука"


def test_clicking_a_region_plays_it_and_dragging_its_edge_moves_the_boundary(
    browser, people, live_server_url
):
    annotator, _ = people
    problems: list[str] = []
    page = open_editor(browser, problems, live_server_url, annotator)
    page.wait_for_selector("#editor[data-waveform=ready]")
    regions = page.locator('#waveform [part~="region"]')  # Playwright pierces the shadow root
    assert regions.count() == 3

    box = regions.nth(1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 10)
    page.wait_for_function(
        """() => {
            const player = document.getElementById('player');
            return !player.paused && player.currentTime >= 3.5;
        }"""
    )
    assert page.locator("#segments li.selected").get_attribute("data-index") == "1"
    page.keyboard.press("Alt+p")

    # Drag the first region's right edge left: the boundary follows and is saved.
    handle = page.locator('#waveform [part~="region-handle-right"]').first.bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y, steps=8)
    page.mouse.up()
    wait_saved(page, 1)
    first = off_loop(annotation_of, annotator).segments[0]
    assert first["start"] == 0.0
    assert 2.0 < first["end"] < 3.4  # was 3.5
    assert page.locator("#segments li .times").first.inner_text().endswith(f"{first['end']:05.2f}")
    assert problems == []
