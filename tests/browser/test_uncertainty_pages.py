"""Headless Chromium: lasso-select points on the Uncertainty page, propagate their ellipses, map a latent
region back; run the coverage experiment on the Calibration page. Screenshots go to artifacts/browser/."""

import pytest
from test_browser import assert_no_exception, open_page, settle

from explorer import lessons

pytestmark = pytest.mark.browser


def lasso(page, chart, fractions: list[tuple[float, float]]) -> None:
    """Pick the lasso in the chart's toolbar (where it has one) and drag it through points given as
    fractions of the chart's plotting area."""
    area = chart.locator(".nsewdrag").first.bounding_box()
    xy = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in fractions]
    chart.hover()
    tool = chart.locator(".modebar-btn[data-val=lasso]")
    if tool.count():  # charts that start in pan (click to select); the Draw canvas starts in lasso
        tool.click()
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=5)
    page.mouse.up()


# Where point i of the chart's first trace is on the screen (Plotly's own axis mapping).
POINT_XY = """([key, i]) => { const gd = document.querySelector('.' + key + ' .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, trace = gd._fullData[0];
  const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [box.left + xa.l2p(trace.x[i]), box.top + ya.l2p(trace.y[i])]; }"""


def click_point(page, key: str, i: int) -> None:
    """Click point i of the first trace of the chart with this Streamlit key."""
    x, y = page.evaluate(POINT_XY, [lessons.key_class(key), i])
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)


def test_clicking_a_point_selects_it(page, app_url):
    """The page and lesson step 5 say "click a point": one click picks exactly that point."""
    open_page(page, f"{app_url}/uncertainty?n=300", "Uncertainty")
    assert page.get_by_text("Selected points:").first.inner_text() != "Selected points: 5"
    click_point(page, "unc_pick", 5)
    page.get_by_text("Selected points: 5", exact=True).wait_for(timeout=60_000)
    assert_no_exception(page)


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
    page.get_by_text("Reliability diagram").first.wait_for(timeout=400_000)
    settle(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "calibration.png"), full_page=True)
