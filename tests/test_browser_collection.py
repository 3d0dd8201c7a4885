"""The collection pages in headless Chromium. The recorder: profile and consent, a microphone
test whose level moves, a take recorded from Chromium's fake microphone playing a real Russian
clip, listened back, submitted, checked by the real Celery worker with the bundled model, and
confirmed, all by keyboard. The validator: votes by keyboard, once each however often the key is
pressed. Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from collection.models import Clip, Report, Vote
from collection.page_texts import ERROR_TEXTS
from tests.factories import ClipFactory, PromptFactory, UserFactory, VolunteerFactory
from tests.support import ARTIFACTS, CLIPS
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READING = CLIPS["pls-hold-while-try"]  # Russian, 3.4 s: "Оставайтесь на линии. …"


@pytest.fixture
def reader(db):
    """A user who has never volunteered, and the sentence the fake microphone reads."""
    PromptFactory(language="ru", text=READING.text)
    return UserFactory()


@contextmanager
def chromium_with_microphone(tmp_path) -> Iterator:
    """Chromium whose fake microphone plays READING, then silence. Each new capture starts the
    file from its beginning, so a take opened after the microphone test hears the sentence."""
    import numpy as np
    from playwright.sync_api import sync_playwright

    from tests.audio_helpers import write_audio
    from uzwhisper.lib.audio import decode_to_array

    speech = decode_to_array(READING.path)
    wav = write_audio(
        np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000 * 30, np.float32)]),
        tmp_path / "mic.wav",
    )
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.grant_permissions(["microphone"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


@pytest.fixture
def microphone_page(reader, tmp_path):
    # After the rows (`reader`): Playwright's sync API runs an event loop, and the ORM refuses
    # to run in one.
    with chromium_with_microphone(tmp_path) as page:
        yield page


@pytest.fixture
def misreader(db):
    """A volunteer who consented before, offered only a sentence the microphone does not read."""
    PromptFactory(language="ru", text=CLIPS["vm-sorry"].text)
    return VolunteerFactory()


@pytest.fixture
def misreading_page(misreader, tmp_path):
    with chromium_with_microphone(tmp_path) as page:
        yield page


def outside_the_event_loop(query):
    """Run an ORM `query` in a thread of its own: Playwright's sync API keeps an event loop
    running in the test's thread, where the ORM refuses to run."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return query()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def wait_for_state(page, root: str, state: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "([root, state]) => document.getElementById(root).dataset.state === state",
        arg=[root, state],
        timeout=timeout,
    )


@pytest.mark.worker
def test_a_volunteer_records_a_sentence_and_confirms_it_by_keyboard(
    microphone_page, reader, live_server_url, celery_worker_process
):
    page = microphone_page
    log_in(page, live_server_url, reader.username)
    page.goto(f"{live_server_url}/collect/record/")

    # Consent and profile first (the page speaks Uzbek by default).
    page.get_by_label("Yoshingiz").select_option("thirties")
    page.get_by_label("Jinsingiz").select_option("female")
    page.get_by_label("Shevangiz").select_option("samarkand_bukhara")
    page.get_by_label("Ona tilingiz").select_option("ru")
    page.get_by_role("button", name="Saqlash va davom etish").click()
    error = page.locator("#rec-error")
    error.wait_for(state="visible")  # no consent yet: refused on the page
    page.get_by_label("roziman").check()
    page.get_by_role("button", name="Saqlash va davom etish").click()

    # The microphone test: the level meter moves with the fake microphone's speech.
    page.get_by_role("button", name="Mikrofonni yoqish").click()
    page.wait_for_function("document.getElementById('mic-level').value > 0.3")
    first = page.evaluate("document.getElementById('mic-level').value")
    page.wait_for_function("(v) => document.getElementById('mic-level').value !== v", arg=first)
    assert page.locator("#mic-status").inner_text() == "Mikrofon ishlayapti."
    page.screenshot(path=str(ARTIFACTS / "browser-collect-mic-test.png"))
    page.get_by_role("button", name="Davom etish").click()

    page.wait_for_function("document.getElementById('prompt-text').textContent !== ''")
    assert page.locator("#prompt-text").inner_text() == READING.text
    # R starts a take; R again stops it once the sentence has been read.
    page.keyboard.press("r")
    wait_for_state(page, "recorder", "recording")
    page.wait_for_function(
        "(s) => Number(document.getElementById('rec-elapsed').dataset.seconds) >= s",
        arg=READING.duration_s + 1.5,
    )
    page.keyboard.press("r")
    # What the page showed when Stop was pressed (its timer stops there; it lags by < 0.1 s).
    shown_at_stop = float(page.locator("#rec-elapsed").get_attribute("data-seconds"))
    wait_for_state(page, "recorder", "recorded")

    # P plays the take back.
    page.keyboard.press("p")
    page.wait_for_function("document.getElementById('playback').currentTime > 0.2")
    page.keyboard.press("p")
    # Kept going 0.25 s after Stop: the take outlasts the time shown at Stop by more than the
    # recorder's start-up could take away.
    taken = page.evaluate("""() => new Promise((resolve) => {
        const player = document.getElementById('playback');
        const probe = new Audio(player.src);
        probe.addEventListener('loadedmetadata', () => {
            if (probe.duration !== Infinity) { resolve(probe.duration); return; }
            probe.currentTime = 1e6;  // WebM from MediaRecorder: seek to learn the duration
            probe.addEventListener('timeupdate', () => resolve(probe.duration), { once: true });
        });
    })""")
    assert taken >= shown_at_stop + 0.15

    # Enter submits; the worker's model check gives its verdict; Enter confirms.
    page.keyboard.press("Enter")
    wait_for_state(page, "recorder", "passed", timeout=180_000)
    clip = outside_the_event_loop(lambda: Clip.objects.get(volunteer__user=reader))
    assert clip.status == Clip.Status.UNCONFIRMED
    assert clip.checks["model"]["cer"] <= 0.5
    assert clip.speaker_profile["dialect"] == "samarkand_bukhara"
    page.screenshot(path=str(ARTIFACTS / "browser-collect-verdict.png"))
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('rec-status').textContent.startsWith('Rahmat')")
    clips = outside_the_event_loop(
        lambda: list(Clip.objects.filter(volunteer__user=reader).values_list("id", "status"))
    )
    assert clips == [(clip.id, Clip.Status.PENDING)]


def pass_the_microphone_test(page) -> None:
    page.get_by_role("button", name="Mikrofonni yoqish").click()
    page.get_by_role("button", name="Davom etish").click()  # enabled once speech is heard
    page.wait_for_function("document.getElementById('prompt-text').textContent !== ''")


@pytest.mark.worker
def test_a_take_of_another_sentence_is_refused_and_backspace_records_again(
    misreading_page, misreader, live_server_url, celery_worker_process
):
    page = misreading_page
    log_in(page, live_server_url, misreader.user.username)
    page.goto(f"{live_server_url}/collect/record/")
    assert page.locator("#profile-form").is_hidden()  # consented before: straight to the mic
    pass_the_microphone_test(page)

    page.keyboard.press("r")
    wait_for_state(page, "recorder", "recording")
    page.wait_for_function(
        "(s) => Number(document.getElementById('rec-elapsed').dataset.seconds) >= s",
        arg=READING.duration_s + 1.5,
    )
    page.keyboard.press("r")
    wait_for_state(page, "recorder", "recorded")
    page.keyboard.press("Enter")
    wait_for_state(page, "recorder", "refused", timeout=180_000)
    assert page.locator("#rec-error").inner_text() == ERROR_TEXTS["uz"]["transcript_mismatch"]
    assert page.locator("#confirm-button").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "browser-collect-refused.png"))
    refused = outside_the_event_loop(lambda: list(Clip.objects.values_list("status", flat=True)))
    assert refused == [Clip.Status.REFUSED]

    # Backspace: record again; the refused clip is deleted on the server.
    page.keyboard.press("Backspace")
    wait_for_state(page, "recorder", "idle")
    assert page.locator("#rec-error").is_hidden()
    assert outside_the_event_loop(lambda: Clip.objects.count()) == 0


@pytest.fixture
def validator_and_clips(db):
    """A validator and two clips of other volunteers waiting for votes, oldest first."""
    validator = VolunteerFactory()
    first = ClipFactory(prompt=PromptFactory(text="Birinchi jumla: ammo boshqa bir sabab"))
    second = ClipFactory(prompt=PromptFactory(text="Ikkinchi jumla: hayvon deya olmayman"))
    return validator, first, second


@pytest.fixture
def plain_page(validator_and_clips):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def test_a_validator_plays_and_votes_by_keyboard_once_per_clip(
    plain_page, validator_and_clips, live_server_url
):
    page = plain_page
    validator, first, second = validator_and_clips
    log_in(page, live_server_url, validator.user.username)
    page.goto(f"{live_server_url}/collect/validate/?lang=ru")
    wait_for_state(page, "validator", "ready")
    assert page.locator("#val-prompt").inner_text() == first.prompt.text

    # Space plays the leased clip's audio (served to this validator only).
    page.keyboard.press(" ")
    page.wait_for_function("document.getElementById('val-audio').currentTime > 0.2")

    # Y twice in one go (a double press): one vote.
    page.evaluate("""() => {
        for (let i = 0; i < 2; i++) {
            document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'y', bubbles: true }));
        }
    }""")
    page.wait_for_function(
        "(id) => document.getElementById('validator').dataset.clip === id", arg=str(second.id)
    )
    wait_for_state(page, "validator", "ready")
    assert page.locator("#val-prompt").inner_text() == second.prompt.text
    page.screenshot(path=str(ARTIFACTS / "browser-collect-validate.png"))

    page.keyboard.press("n")
    wait_for_state(page, "validator", "empty")
    assert page.locator("#val-status").inner_text() == (
        "Голос учтён. Пока нет записей для проверки. Загляните позже."
    )
    assert page.locator("#val-error").is_hidden()
    votes = outside_the_event_loop(
        lambda: sorted(Vote.objects.values_list("clip_id", "voter_id", "is_valid"), key=str)
    )
    assert votes == sorted(
        [(first.id, validator.id, True), (second.id, validator.id, False)], key=str
    )


def test_a_validator_reports_a_sentence_and_moves_on(
    plain_page, validator_and_clips, live_server_url
):
    page = plain_page
    validator, first, second = validator_and_clips
    log_in(page, live_server_url, validator.user.username)
    page.goto(f"{live_server_url}/collect/validate/")
    wait_for_state(page, "validator", "ready")

    page.get_by_text("Jumla haqida xabar berish").click()
    page.get_by_label("Talaffuz qilish qiyin").check()
    page.get_by_role("button", name="Xabar berish", exact=True).click()
    page.wait_for_function(
        "(id) => document.getElementById('validator').dataset.clip === id", arg=str(second.id)
    )
    assert page.locator("#val-status").inner_text() == "Rahmat, xabaringiz qabul qilindi."
    reports = outside_the_event_loop(
        lambda: list(Report.objects.values_list("prompt_id", "reporter_id", "reason"))
    )
    assert reports == [(first.prompt_id, validator.id, "hard_to_pronounce")]
    assert outside_the_event_loop(lambda: Vote.objects.count()) == 0
