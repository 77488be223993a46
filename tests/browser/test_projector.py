"""A projector's 1024x768 with the sidebar open leaves a half-width chart ~290 px: every page, after its
main button, draws its charts without cutting their text (titles, axis titles, legends); also with the
64-dimensional digits, whose titles are the longest, and while a network trains."""

import pytest
from test_browser import CUT_TEXTS, MAIN_PAGES, assert_no_exception, open_with_results

pytestmark = pytest.mark.browser


def test_no_chart_cuts_its_text_on_a_projector(browser, app_url):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        digits = (
            ("flow, digits", "/flow?dataset=digits&n=500&family=reducing&d=2", "Compute the flow", None),
            ("data, digits", "/data?dataset=digits", None, None),
        )
        for name, path, button, result in MAIN_PAGES + digits:
            open_with_results(page, app_url + path, button, result)
            assert_no_exception(page)
            assert page.evaluate(CUT_TEXTS) == [], name
        # While a network trains: the loss curve beside the samples it generates.
        open_with_results(page, app_url + "/train?n=1000", "Start training", None)
        page.locator(".st-key-train_preview .main-svg").first.wait_for(timeout=60_000)
        page.locator(".st-key-loss_curve .main-svg").first.wait_for(timeout=60_000)
        assert page.evaluate(CUT_TEXTS) == [], "training"
        page.locator(".st-key-stop_training button").first.click()
    finally:
        context.close()
