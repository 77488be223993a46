"""Links as a class uses them, each the very first request of a fresh server: a deep link to a page
with its data (Streamlit starts such a server in its legacy pages/ folder mode) and a lesson link."""

import pytest
from test_browser import assert_no_exception, open_page, settle

pytestmark = pytest.mark.browser


def test_deep_link_is_the_first_request_of_a_fresh_server(page, fresh_app_url, artifacts):
    open_page(page, f"{fresh_app_url}/flow?dataset=moons&n=300", "Flow")
    assert_no_exception(page)
    assert "dataset=moons" in page.url and "/flow" in page.url
    sidebar = page.locator("[data-testid=stSidebar]")
    assert "Two moons — 300 points" in sidebar.inner_text()
    for title in ("Data", "Schedule", "Calibration", "Inspect"):  # the app's own menu, not the folder's
        assert sidebar.get_by_role("link", name=title).count() == 1
    page.get_by_role("button", name="Compute the flow").click()  # the first click is not lost
    page.locator(".stPlotlyChart .slider-label").first.wait_for(timeout=120_000)
    settle(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "deep_link.png"))


def test_lesson_link_is_the_first_request_of_a_fresh_server(page, fresh_app_url):
    open_page(page, f"{fresh_app_url}/?lesson=4", "Schedule")
    assert_no_exception(page)
    assert "step 4 of 8" in page.locator(".st-key-lesson_banner").inner_text()
