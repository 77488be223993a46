"""The class lesson on a projector: every step, opened by its slide link in presenter mode at 1024x768,
shows only the controls the step names, and after its action its main figure fits the screen without
scrolling and no chart cuts its text. Screenshots go to artifacts/browser/presenter_<step>.png."""

import time

import pytest
from test_browser import CUT_TEXTS, IDLE, assert_no_exception, settle

from explorer import lessons

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1024, "height": 768}
# The chart each step is about, by its Streamlit key.
MAIN_CHART = {
    "flow": "flow_animation",
    "schedule": "schedule_curves",
    "uncertainty": "unc_animation",
    "calibration": "cal_reliability",
    "inspect": "w.inspect.latent",
    "inference": "inf_sim",
}
VISIBLE_CONTROLS = """() => Array.from(document.querySelectorAll('[data-testid=stMain] .stElementContainer'))
    .filter(el => el.offsetParent !== null && !el.closest('.st-key-lesson_banner')
        && el.querySelector(':is(.stButton, .stDownloadButton, .stSlider, .stSelectbox, .stRadio, '
                            + '.stNumberInput, .stMultiSelect, .stCheckbox, .stTextInput, .stFileUploader)'))
    .map(el => Array.from(el.classList).find(c => c.startsWith('st-key-')) || el.innerText.slice(0, 40))"""


@pytest.mark.parametrize("number", range(1, len(lessons.lesson().steps) + 1))
def test_lesson_step_fits_a_projector(number, browser, app_url, artifacts, report):
    step = lessons.lesson().steps[number - 1]
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/?lesson={number}&present=1")
        page.locator(".st-key-lesson_banner").wait_for(timeout=120_000)
        settle(page)
        assert_no_exception(page)
        assert not page.locator("[data-testid=stSidebar]").is_visible()
        shown = set(page.evaluate(VISIBLE_CONTROLS))
        named = {lessons.key_class(key) for key in step.controls}
        action = next((k for k in step.controls if not k.startswith("w.")), None)
        # Only named controls; all of them, but those that appear only after the first action (Infer).
        assert shown <= named and (action is None or lessons.key_class(action) in shown), (shown, named)
        if action:
            page.wait_for_function(IDLE, timeout=120_000)
            page.locator(f".{lessons.key_class(action)} button").first.click()
            page.wait_for_timeout(500)
            page.wait_for_function(IDLE, timeout=400_000)
        figure = page.locator(f".{lessons.key_class(MAIN_CHART[step.page])}")
        started = time.monotonic()
        # The figure, or an error (a failed job) at once rather than after the whole timeout.
        figure.or_(page.locator("[data-testid=stAlertContentError]")).first.wait_for(timeout=400_000)
        errors = page.locator("[data-testid=stAlertContentError]")
        assert errors.count() == 0, errors.first.inner_text()
        report(f"step {number}: main figure {time.monotonic() - started:.0f} s after the action settled")
        settle(page)
        assert_no_exception(page)
        assert page.evaluate("window.scrollY") == 0
        box = figure.bounding_box()
        # The whole figure is on the first screen: nothing to scroll on a projector.
        report(f"step {number}: figure from {box['y']:.0f} to {box['y'] + box['height']:.0f} px of 768")
        assert 0 <= box["y"] and box["y"] + box["height"] <= PROJECTOR["height"], (step.title, box)
        assert page.evaluate(CUT_TEXTS) == [], step.title  # no chart cuts its titles or legend
        page.screenshot(path=str(artifacts / f"presenter_{number}.png"))
    finally:
        context.close()
