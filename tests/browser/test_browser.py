"""Headless Chromium against `streamlit run app.py`: every page renders without an exception box, the
home animation plays, training runs and stops from the browser, and a screenshot of each page is saved
under artifacts/browser/ (the README's screenshots in docs/screenshots/ are copies of these)."""

import time

import pytest

pytestmark = pytest.mark.browser

# Idle: no script run in progress, no element left over from the previous run, no placeholder skeleton.
IDLE = """() => !document.querySelector('[data-testid=stStatusWidget]')
    && !document.querySelector('[data-stale=true]') && !document.querySelector('[data-testid=stSkeleton]')"""


def open_page(page, url: str, title: str) -> None:
    """Load a page and wait until its title is shown and the script run has finished."""
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    settle(page)


CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('.stPlotlyChart'))
    .every(chart => chart.offsetParent === null || chart.querySelector('.main-svg'))"""


def settle(page) -> None:
    """Wait for the script run to end and every visible Plotly chart to be drawn."""
    page.wait_for_function(IDLE, timeout=120_000)
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000)
    page.mouse.move(0, 0)  # no hover tooltips in the screenshots
    page.wait_for_timeout(800)


def assert_no_exception(page) -> None:
    boxes = page.locator("[data-testid=stException]")
    assert boxes.count() == 0, boxes.first.inner_text()


# Every page: its address, the button a user presses first (None: the page shows its content on arrival)
# and, for a button that starts a background job, a text its result shows.
MAIN_PAGES = (
    ("home", "/", None, None),
    ("data", "/data", None, None),
    ("schedule", "/schedule?family=reducing&d=1", None, None),
    ("flow", "/flow", "Compute the flow", None),
    ("train", "/train", None, None),
    ("uncertainty", "/uncertainty", "Propagate", None),
    ("calibration", "/calibration", "Run the coverage experiment", "Reliability diagram"),
    ("inference", "/inference", "Simulate", None),
    ("inspect", "/inspect", "Encode the points", None),
)


def open_with_results(page, url: str, button: str | None, result: str | None) -> None:
    """Open a page, press its main button (if any), and wait until what it computes is shown."""
    page.goto(url)
    page.locator("[data-testid=stMain] h1").first.wait_for(timeout=120_000)
    settle(page)
    if button:
        page.get_by_role("button", name=button, exact=True).first.click()
        page.wait_for_timeout(500)
        if result:
            page.get_by_text(result).first.wait_for(timeout=400_000)
        settle(page)


# The texts of the page's charts (titles, axis titles, legends) that reach past their figure's edges, which
# cut them, and titles that the legend covers; each as "<chart's key class>: <text>".
CUT_TEXTS = """() => Array.from(document.querySelectorAll('.stPlotlyChart')).flatMap(chart => {
    const key = (chart.closest('[class*=st-key-]')?.className.match(/st-key-\\S+/) || ['a chart'])[0];
    const legend = chart.querySelector('.legend .bg')?.getBoundingClientRect();
    const covers = (box) => legend && legend.width > 0 && box.left < legend.right && legend.left < box.right
        && box.top < legend.bottom && legend.top < box.bottom;
    return Array.from(chart.querySelectorAll('.main-svg')).flatMap(svg => {
        const frame = svg.getBoundingClientRect();
        return Array.from(svg.querySelectorAll('text')).filter(text => {
            const box = text.getBoundingClientRect();
            return box.width > 0 && (box.left < frame.left - 1 || box.right > frame.right + 1
                || (text.classList.contains('gtitle') && covers(box)));
        }).map(text => key + ': ' + text.textContent);
    });
})"""


def test_home_animation_plays(page, app_url, artifacts, report):
    start = time.monotonic()
    page.goto(app_url)
    demo = page.locator(".st-key-home_demo")
    label = demo.locator(".slider-label").first  # the slider's current value, "t = ..."
    label.wait_for(timeout=60_000)
    report(f"home animation visible {time.monotonic() - start:.1f} s after navigation")
    first = label.text_content()
    page.wait_for_function(
        "([el, first]) => el.textContent !== first",
        arg=[label.element_handle(), first],
        timeout=10_000,
        polling=100,
    )  # it plays on arrival, without a click
    demo.get_by_text("Pause").click()
    page.wait_for_timeout(300)
    paused = label.text_content()
    page.wait_for_timeout(1600)  # longer than the loop's 1 s restart delay: Pause must stop the loop too
    assert label.text_content() == paused, "Pause did not stop the animation"
    demo.get_by_text("Play").click()
    page.wait_for_timeout(1200)
    assert label.text_content() != paused, "the frame label did not change after pressing play"
    assert_no_exception(page)
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "home.png"))


def test_data_page(page, app_url, artifacts):
    open_page(page, f"{app_url}/data?dataset=swiss_roll&n=1500", "Data")
    assert_no_exception(page)
    assert page.get_by_text("Swiss roll: 1,500 points in D = 3").count() == 1
    page.screenshot(path=str(artifacts / "data.png"))


def test_schedule_page(page, app_url, artifacts):
    open_page(page, f"{app_url}/schedule?dataset=circles&family=reducing&d=1", "Schedule")
    assert_no_exception(page)
    assert page.get_by_text("reducing to d=1").count() >= 1
    page.screenshot(path=str(artifacts / "schedule.png"))


def test_train_page_trains_and_stops(page, app_url, artifacts):
    open_page(page, f"{app_url}/train?n=1000", "Train / Load")
    page.get_by_role("button", name="Start training").click()
    page.locator(".stPlotlyChart").first.wait_for(timeout=60_000)  # live loss curve
    page.mouse.move(0, 0)
    page.wait_for_timeout(3000)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "train.png"))
    # Our Stop, not Streamlit's own header "Stop" (shown while a script run is in progress).
    page.locator(".st-key-stop_training button").first.click()
    page.get_by_text("Training stopped early").wait_for(timeout=60_000)
    assert_no_exception(page)


def test_flow_page(page, app_url, artifacts, report):
    open_page(page, f"{app_url}/flow?family=reducing&d=1", "Flow")
    assert_no_exception(page)
    page.get_by_role("button", name="Compute the flow").click()
    page.get_by_text("field evaluations").first.wait_for(timeout=120_000)
    settle(page)
    chart = page.locator(".stPlotlyChart").first
    chart.locator(".slider-label").first.wait_for(timeout=30_000)
    assert chart.get_by_text("Play").count() == 1 and chart.get_by_text("Pause").count() == 1
    page.wait_for_timeout(1000)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "flow.png"))
    # A view control re-draws the stored trajectory: a new figure, the same solve (issue 13).
    solve_line = page.get_by_text("field evaluations").first.inner_text()
    page.get_by_role("combobox", name="Colour").click()
    start = time.monotonic()
    page.get_by_role("option", name="angle", exact=False).first.click()
    chart.locator(".main-svg").get_by_text("initial angle").first.wait_for(timeout=60_000)
    elapsed = time.monotonic() - start
    report(f"flow page, colour changed to angle: new figure drawn {elapsed:.1f} s after the click")
    settle(page)
    assert_no_exception(page)
    assert page.get_by_text("field evaluations").first.inner_text() == solve_line
    assert page.get_by_role("button", name="Compute the flow").count() == 0


def test_lesson_link_banner_and_next_step(page, app_url, artifacts):
    # A slide's link opens step 3 in a fresh session: circles reduced to one dimension, on the Flow page.
    open_page(page, f"{app_url}/?lesson=3&page=flow", "Flow")
    banner = page.locator(".st-key-lesson_banner")
    assert "Lesson, step 3 of 8: One direction survives" in banner.inner_text()
    page.get_by_role("button", name="Compute the flow").click()
    page.get_by_text("field evaluations").first.wait_for(timeout=120_000)
    settle(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "lesson.png"))
    # The GIF export downloads a real animated GIF.
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download animation (GIF)").click()
    path = download.value.path()
    assert path is not None and open(path, "rb").read(6) == b"GIF89a"
    # Next step: the banner sets up step 4 and opens the Schedule page, in the same session.
    banner.get_by_role("button", name="Next →").click()
    page.get_by_role("heading", name="Schedule", exact=True).first.wait_for(timeout=60_000)
    settle(page)
    assert "step 4 of 8: The schedule behind it" in page.locator(".st-key-lesson_banner").inner_text()
    assert "reducing" in page.url and "page=schedule" in page.url
    assert_no_exception(page)
