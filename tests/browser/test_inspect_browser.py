"""Headless Chromium on the Inspect page: encode 500 held-out digits with the shipped d = 2 model, embed them
with UMAP, click a latent point to see its reconstruction, generate digits and trace the variance; the
full-page screenshot is artifacts/browser/inspect.png (copied to docs/screenshots/ for the README)."""

import re

import pytest
from test_browser import assert_no_exception, open_page, settle
from test_uncertainty_pages import click_point

pytestmark = pytest.mark.browser


@pytest.fixture
def tall_page(browser):
    """A viewport tall enough for the whole page (Streamlit scrolls inside its own container, so a
    full-page screenshot of a normal viewport shows only one screen)."""
    context = browser.new_context(viewport={"width": 1400, "height": 3500})
    tab = context.new_page()
    yield tab
    context.close()


def test_inspect_page_with_images(tall_page, app_url, artifacts):
    page = tall_page
    open_page(page, f"{app_url}/inspect", "Inspect")
    assert_no_exception(page)
    page.get_by_role("button", name="Encode the points").click()
    page.get_by_text("What the latent remembers").first.wait_for(timeout=180_000)
    settle(page)
    page.get_by_role("button", name="Compute UMAP").click()
    page.get_by_text("UMAP, 2 components").first.wait_for(timeout=240_000)  # first run compiles numba code
    settle(page)
    before = page.get_by_text(re.compile(r"^Point \d+")).first.inner_text()
    click_point(page, "w.inspect.latent", 7)  # one click on a latent point
    page.wait_for_function(
        "(before) => !document.body.innerText.includes(before)", arg=before, timeout=60_000
    )
    settle(page)
    assert page.get_by_text(re.compile(r"^Point \d+")).first.inner_text() != before  # the click picked it
    charts = page.locator(".stPlotlyChart")
    before_generation = charts.count()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('.stPlotlyChart').length > {before_generation}", timeout=120_000
    )
    settle(page)
    page.get_by_role("button", name="Trace the variance").click()
    page.get_by_text("The participation ratio goes from").first.wait_for(timeout=120_000)
    settle(page)
    page.screenshot(path=str(artifacts / "inspect.png"))
    assert_no_exception(page)
    charts = page.locator(".stPlotlyChart").count()
    assert charts >= 8, charts  # 3 embeddings, scores, reconstruction, traversal, samples, variance
