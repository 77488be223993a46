"""Headless Chromium against `streamlit run app.py`: every page renders without an exception box, the
home animation plays, and a screenshot of each page is saved under artifacts/browser/."""

import time

import pytest

pytestmark = pytest.mark.browser

PAGES = {"data": "Data", "schedule": "Schedule", "train": "Train / Load", "flow": "Flow"}
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget]')"


def open_page(page, url: str, title: str) -> None:
    """Load a page and wait until its title is shown and the script run has finished."""
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_function(IDLE, timeout=60_000)
    page.wait_for_timeout(500)  # let charts lay out before screenshots


def assert_no_exception(page) -> None:
    boxes = page.locator("[data-testid=stException]")
    assert boxes.count() == 0, boxes.first.inner_text()


def test_home_animation_plays(page, app_url, artifacts):
    start = time.monotonic()
    page.goto(app_url)
    frame = page.locator(".st-key-home_demo")
    label = frame.locator(".slider-label").first  # the slider's current value, "t = ..."
    label.wait_for(timeout=60_000)
    print(f"home animation visible {time.monotonic() - start:.1f} s after navigation")
    first = label.text_content()
    page.wait_for_timeout(1500)
    assert label.text_content() != first, "the animation does not play on arrival"
    frame.get_by_text("Pause").click()
    page.wait_for_timeout(300)
    paused = label.text_content()
    page.wait_for_timeout(800)
    assert label.text_content() == paused, "Pause did not stop the animation"
    frame.get_by_text("Play").click()
    page.wait_for_timeout(1200)
    assert label.text_content() != paused, "the frame label did not change after pressing play"
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders(page, app_url, artifacts, path):
    open_page(page, f"{app_url}/{path}", PAGES[path])
    assert_no_exception(page)
    if path == "flow":
        page.get_by_role("button", name="Compute the flow").click()
        page.get_by_text("field evaluations").first.wait_for(timeout=120_000)
        page.wait_for_function(IDLE, timeout=60_000)
        page.locator(".js-plotly-plot .slider-label").first.wait_for(timeout=30_000)
        assert_no_exception(page)
    page.screenshot(path=str(artifacts / f"{path}.png"), full_page=True)
