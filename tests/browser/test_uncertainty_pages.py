"""Headless Chromium: lasso-select points on the Uncertainty page, propagate their ellipses, map a latent
region back; run the coverage experiment on the Calibration page. Screenshots go to artifacts/browser/."""

import pytest
from test_browser import assert_no_exception, open_page, settle

pytestmark = pytest.mark.browser


def lasso(page, chart, fractions: list[tuple[float, float]]) -> None:
    """Drag a lasso through points given as fractions of the chart's plotting area."""
    area = chart.locator(".nsewdrag").first.bounding_box()
    xy = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in fractions]
    chart.hover()
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=5)
    page.mouse.up()


def test_uncertainty_page(page, app_url, artifacts):
    open_page(page, f"{app_url}/uncertainty", "Uncertainty")
    assert_no_exception(page)
    chart = page.locator(".stPlotlyChart").first
    before = page.get_by_text("Selected points:").first.inner_text()
    lasso(page, chart, [(0.02, 0.02), (0.3, 0.02), (0.3, 0.98), (0.02, 0.98)])
    page.wait_for_function(
        "(before) => !document.body.innerText.includes(before)", arg=before, timeout=60_000
    )
    settle(page)
    assert page.get_by_text("Selected points:").first.inner_text() != before  # the lasso picked new points
    page.get_by_role("button", name="Propagate").click()
    page.get_by_text("Monte Carlo:").first.wait_for(timeout=180_000)
    settle(page)
    animation = page.locator(".stPlotlyChart").nth(1)
    animation.scroll_into_view_if_needed()
    animation.get_by_text("Play").click()
    page.wait_for_timeout(6000)  # 30 frames at 120 ms: the ellipses reach the latent
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "uncertainty.png"))
    page.get_by_role("button", name="Map the region back to data").click()
    page.get_by_text("Latent sd").first.wait_for(timeout=120_000)
    settle(page)
    assert_no_exception(page)
    assert page.locator(".stPlotlyChart").count() >= 3
    page.screenshot(path=str(artifacts / "uncertainty_preimage.png"))


def test_calibration_page(page, app_url, artifacts):
    open_page(page, f"{app_url}/calibration?n=600", "Calibration")  # a smaller exact flow: quicker
    assert_no_exception(page)
    page.get_by_role("button", name="Run the coverage experiment").click()
    page.get_by_text("Reliability: measured vs nominal coverage").first.wait_for(timeout=400_000)
    settle(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "calibration.png"), full_page=True)
