"""Layout in headless Chromium: pages on a phone-sized viewport (390×844) stay inside it, and the
job page colours word languages calmly. No worker needed: jobs are made with the factories.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.factories import UserFactory, make_job, make_segment
from tests.support import ARTIFACTS
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Measured at 390 px with a staff user's links: 116 px before the compact header (the links
# wrapped to four lines), 59 px with it (two lines of links beside the brand). One line of links
# is about 22 px, so this bound allows two lines and the header's padding, not three.
MAX_HEADER_PX = 64
LONG_WORD = "Oʻzbekistonrespublikasiprezidentiningfarmonigamuvofiqravishdatayyorlanganhujjat" * 2

# Every element whose box reaches past the viewport, unless a scrolling ancestor contains it.
OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    const scrolls = (el) => {
        for (let a = el.parentElement; a; a = a.parentElement) {
            if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return true;
        }
        return false;
    };
    return [...document.body.querySelectorAll("*")]
        .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !scrolls(el))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
}"""


@pytest.fixture
def staff(db):
    # Staff see the most links (Evaluations, Admin): the widest header there is.
    return UserFactory(is_staff=True, username="reviewer-with-a-long-name")


def _browser_page(playwright, viewport):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_context(viewport=viewport).new_page()
    page.set_default_timeout(30_000)
    return browser, page


@pytest.fixture
def phone(staff):
    # After `staff` (and, in the tests, any rows they need): Playwright's sync API runs an event
    # loop, and the ORM refuses to run inside one.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright, PHONE)
        yield page
        browser.close()


@pytest.fixture
def long_word_job(staff, ru_clip):
    job = make_job(
        owner=staff,
        path=ru_clip.path,
        original_name=f"{LONG_WORD}.wav",
        status="done",
        progress=1.0,
        language_detected="uz",
        language_probability=0.71,
        model_id="whisper-base@d01c3014881c",
        initial_prompt=LONG_WORD,
    )
    make_segment(
        job=job,
        index=0,
        start=0.0,
        end=2.5,
        words=[(" Salom,", "uz"), (f" {LONG_WORD}", "uz"), (" привет", "ru"), (" 2024", "other")],
    )
    make_segment(
        job=job,
        index=1,
        start=2.5,
        end=4.0,
        words=[(" Подключение", "ru"), (" к", "ru"), (" серверу", "ru")],
    )
    return job


def _layout(page) -> dict:
    return page.evaluate(
        """() => ({
            pageWidth: document.documentElement.scrollWidth,
            header: document.querySelector("header.top").getBoundingClientRect().height,
        })"""
    )


def test_job_page_fits_a_phone(staff, long_word_job, live_server_url, phone):
    log_in(phone, live_server_url, staff.username)
    phone.goto(f"{live_server_url}/jobs/{long_word_job.id}/")
    phone.wait_for_selector("#segments li")

    layout = _layout(phone)
    phone.screenshot(path=str(ARTIFACTS / "browser-phone-job.png"), full_page=True)
    assert layout["header"] <= MAX_HEADER_PX, layout
    assert layout["pageWidth"] <= PHONE["width"], layout
    assert phone.evaluate(OVERFLOWING) == []
    # The long word wraps inside its card rather than running out of it.
    card = phone.locator("#job").bounding_box()
    word = phone.locator("#segments .word", has_text=LONG_WORD[:20]).bounding_box()
    assert word["x"] + word["width"] <= card["x"] + card["width"]


def test_token_page_fits_a_phone(staff, live_server_url, phone):
    log_in(phone, live_server_url, staff.username)
    phone.goto(f"{live_server_url}/accounts/token/")

    layout = _layout(phone)
    phone.screenshot(path=str(ARTIFACTS / "browser-phone-token.png"), full_page=True)
    assert layout["header"] <= MAX_HEADER_PX, layout
    assert layout["pageWidth"] <= PHONE["width"], layout
    assert phone.evaluate(OVERFLOWING) == []
    # The curl example scrolls sideways within the card.
    example = phone.locator("pre.example")
    assert example.evaluate("(el) => el.scrollWidth > el.clientWidth")
    card = phone.locator("section.card").bounding_box()
    box = example.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"]


def test_job_list_fits_a_phone(staff, long_word_job, live_server_url, phone):
    log_in(phone, live_server_url, staff.username)
    phone.goto(f"{live_server_url}/jobs/")
    phone.wait_for_selector("table.jobs")
    phone.screenshot(path=str(ARTIFACTS / "browser-phone-job-list.png"), full_page=True)
    assert _layout(phone)["pageWidth"] <= PHONE["width"]
    assert phone.evaluate(OVERFLOWING) == []


COLOUR = "(el) => getComputedStyle(el).color"


def _rgb(css: str) -> tuple[int, int, int]:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css)[:3])
    return red, green, blue


def _contrast_on_white(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def test_word_languages_have_calm_readable_colours(staff, long_word_job, live_server_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright, {"width": 1200, "height": 900})
        log_in(page, live_server_url, staff.username)
        page.goto(f"{live_server_url}/jobs/{long_word_job.id}/")
        page.wait_for_selector("#segments .word.lang-ru")
        colours = {
            language: _rgb(page.locator(f".legend .lang-{language}").evaluate(COLOUR))
            for language in ("uz", "ru", "other")
        }
        legend = page.locator(".legend").inner_text()
        page.screenshot(path=str(ARTIFACTS / "browser-word-colours.png"), full_page=True)
        browser.close()

    assert "Uzbek" in legend
    assert "Russian" in legend
    assert len(set(colours.values())) == 3
    for language, (red, green, blue) in colours.items():
        assert red < max(green, blue), f"{language} words look red or orange: {colours}"
        assert _contrast_on_white((red, green, blue)) >= 4.5, (language, colours)


@pytest.fixture
def collected(staff):
    from collection.models import Clip
    from tests.factories import ClipFactory, VolunteerFactory

    ClipFactory(
        volunteer=VolunteerFactory(dialect="surkhandarya_kashkadarya"),
        status=Clip.Status.VALIDATED,
        duration_s=5400.0,
    )
    ClipFactory(status=Clip.Status.PENDING)


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/collect/record/", "#profile-form select"),
        ("/collect/record/?lang=ru", "#profile-form select"),
        ("/collect/validate/", "#validator[data-state=ready]"),
        ("/collect/progress/", "svg.bars"),
    ],
)
def test_collection_pages_fit_a_phone(staff, collected, live_server_url, phone, path, ready):
    log_in(phone, live_server_url, staff.username)
    phone.goto(f"{live_server_url}{path}")
    phone.wait_for_selector(ready)

    layout = _layout(phone)
    name = re.sub(r"\W+", "-", path.strip("/"))
    phone.screenshot(path=str(ARTIFACTS / f"browser-phone-{name}.png"), full_page=True)
    assert layout["header"] <= MAX_HEADER_PX, layout
    assert layout["pageWidth"] <= PHONE["width"], layout
    assert phone.evaluate(OVERFLOWING) == []
