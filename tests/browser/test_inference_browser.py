"""Headless Chromium on the Inference page: simulate, infer, check calibration (a small SBC run) and the
exact log-likelihood; each figure is drawn and no exception box appears. Screenshot: artifacts/browser/."""

import time

import pytest
from test_browser import assert_no_exception, open_page, settle

pytestmark = pytest.mark.browser


def press(page, label: str, chart_key: str, timeout_s: float = 120) -> float:
    """Click a button and wait until the chart with Streamlit key ``chart_key`` is drawn; seconds taken."""
    start = time.monotonic()
    button = page.get_by_role("button", name=label, exact=True)
    button.scroll_into_view_if_needed()
    button.click()
    page.locator(f".st-key-{chart_key} .main-svg").first.wait_for(timeout=timeout_s * 1000)
    settle(page)
    assert_no_exception(page)
    return time.monotonic() - start


def first_option(page, widget_key: str) -> None:
    """Move a select slider (``st.select_slider`` with key ``widget_key``) to its first option."""
    css_key = widget_key.replace(".", "-")  # the key "w.inference.x" gives the class st-key-w-inference-x
    thumb = page.locator(f".st-key-{css_key} input[type=range]").first  # react-aria's hidden input
    thumb.focus()
    page.keyboard.press("Home")
    settle(page)


def test_inference_page_end_to_end(page, app_url, artifacts, report):
    open_page(page, f"{app_url}/inference?n=500", "Inference")
    assert_no_exception(page)
    timings = {"simulate": press(page, "Simulate", "inf_sim")}
    timings["infer"] = press(page, "Infer", "inf_posterior")
    first_option(page, "w.inference.replicates")  # 50 replicates
    first_option(page, "w.inference.sbc_n")  # of 100 points: well under a minute on the exact flow
    assert "50 replicates" not in page.inner_text("body")
    timings["calibration"] = press(page, "Check calibration", "inf_sbc_hist", timeout_s=240)
    assert page.get_by_text("50 replicates,").count() == 1
    timings["log-likelihood"] = press(page, "Compute the log-likelihood", "inf_density_map")
    assert page.get_by_text("Integral of p over the grid").count() == 1
    for key in ("inf_sim", "inf_posterior", "inf_sbc_hist", "inf_density_map"):
        assert page.locator(f".st-key-{key} .main-svg").count() >= 1, key
    report(f"inference page, seconds per step: { {k: round(v, 1) for k, v in timings.items()} }")
    page.locator(".st-key-inf_density_map").scroll_into_view_if_needed()  # the page scrolls inside Streamlit
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "inference.png"))
