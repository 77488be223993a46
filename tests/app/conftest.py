"""Shared helpers for the AppTest suites."""

import time

import pytest
from streamlit.testing.v1 import AppTest


def _wait_for_coverage(at: AppTest, timeout: float = 600.0) -> None:
    """Wait until the Calibration page's background coverage job has finished, then rerun the page."""
    start = time.monotonic()
    while at.session_state["session"].jobs["coverage"].active:
        assert time.monotonic() - start < timeout, "the coverage job did not finish"
        time.sleep(1.0)
    at.run()


@pytest.fixture
def wait_for_coverage():
    return _wait_for_coverage


def _run_coverage(at: AppTest, n_test: int = 1000, n_boundary: int = 50, choices: list | None = None) -> None:
    """On the Calibration page: set the sizes (and the flows), press Run, and wait for the results."""
    at.select_slider(key="w.calibration.n_test").set_value(n_test)
    at.select_slider(key="w.calibration.n_boundary").set_value(n_boundary)
    if choices is not None:
        at.multiselect(key="w.calibration.choices").set_value(choices)
    at.run()
    at.button(key="cal_run").click().run()
    _wait_for_coverage(at)


@pytest.fixture
def run_coverage():
    return _run_coverage


def _wait_for_job(at: AppTest, kind: str, timeout: float = 300.0) -> None:
    """Wait until the session's background job of this kind has finished, then rerun the page."""
    job = at.session_state["session"].jobs[kind]
    assert job.wait(timeout), f"the {kind} job did not finish"
    at.run()


@pytest.fixture
def wait_for_job():
    return _wait_for_job


# Every kind of input widget the pages use, by AppTest accessor name.
WIDGET_KINDS = (
    "button",
    "checkbox",
    "date_input",
    "file_uploader",
    "multiselect",
    "number_input",
    "radio",
    "select_slider",
    "selectbox",
    "slider",
    "text_input",
    "toggle",
)


def _page_controls(at: AppTest) -> list:
    """All input widgets on the page AppTest last ran."""
    return [widget for kind in WIDGET_KINDS for widget in getattr(at, kind)]


@pytest.fixture
def page_controls():
    return _page_controls
