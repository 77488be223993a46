"""The session model: every page's settings survive page switches through the one ``bind`` mechanism,
bad values are refused with a message and the previous value kept, and links open pages and lessons."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer import navigation

APP = str(Path(__file__).resolve().parents[2] / "app.py")
KEY = re.compile(r"^w\.([a-z_]+)\.([a-z_0-9]+)$")
# One setting per page, changed to a value that is not its default: (page, accessor, key, new value).
CHANGES = [
    ("pages/data.py", "number_input", "w.dataset.seed", 7),
    ("pages/schedule.py", "number_input", "w.sched.kappa", 500.0),
    ("pages/train.py", "select_slider", "w.train.width", 64),
    ("pages/flow.py", "slider", "w.flow.frames", 40),
    ("pages/uncertainty.py", "slider", "w.uncertainty.samples", 300),
    ("pages/calibration.py", "select_slider", "w.calibration.n_test", 5000),
    ("pages/inspect.py", "number_input", "w.inspect.k", 7),
    ("pages/inference.py", "number_input", "w.inference.noise", 0.01),
]


def fresh(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"n": "300", **(query or {})})
    return at.run()


def test_every_page_is_covered():
    assert {page for page, *_ in CHANGES} == {p.path for p in navigation.PAGES}


def test_every_page_keeps_its_settings_across_page_switches():
    at = fresh()
    for page, kind, key, value in CHANGES:
        at.switch_page(page).run()
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    for page, kind, key, value in CHANGES:  # visit each page again, after all the others
        at.switch_page(page).run()
        assert getattr(at, kind)(key=key).value == value, page
    s = at.session_state["session"]
    kept = (s.data.seed, s.sched.kappa, s.pages["flow"]["frames"], s.pages["train"]["width"])
    assert kept == (7, 500.0, 40, 64)


def test_every_setting_widget_uses_the_one_key_scheme(page_controls):
    """Every input widget on every page is keyed w.<group>.<name> and bound to the session, or is an
    action button (buttons carry no setting)."""
    at = fresh()
    groups = {"dataset", "sched", "solver"} | {p.url_path for p in navigation.PAGES}
    for page in navigation.PAGES:
        at.switch_page(page.path).run()
        for widget in page_controls(at):
            if widget.type == "button" or type(widget).__name__ in ("Button", "DownloadButton"):
                continue
            match = KEY.match(widget.key or "")
            assert match and match[1] in groups, (page.path, widget.key, getattr(widget, "label", ""))


@pytest.mark.parametrize(
    "query, name",
    [
        ({"family": "reducing", "d": "999"}, "d"),
        ({"family": "reducing", "d": "1", "gap": "-2"}, "gap"),
        ({"rho": "-5"}, "rho"),
        ({"kappa": "0"}, "kappa"),
        ({"n": "5"}, "n"),
        ({"family": "sideways"}, "family"),
        ({"family": "reducing", "d": "1", "gap": "1e6"}, "gap"),
        # Each value in range, together too stiff for any solver: refused before any solve, with why.
        ({"family": "reducing", "d": "1", "gap": "50", "T": "100"}, "T"),
    ],
)
def test_a_bad_link_value_is_refused_with_a_message_and_the_default_kept(query, name):
    at = fresh(query)
    assert not at.exception and not at.error
    warnings = " ".join(w.value for w in at.warning)
    assert f"Ignored {name}=" in warnings
    s = at.session_state["session"]
    assert (s.sched.dims_to_keep, s.sched.rho, s.sched.kappa, s.sched.t_max) == (1, 1.0, 1000.0, None)
    assert s.sched.inflation_gap in (None, 50.0)
    assert s.data.n == 300 or name == "n"
    if name == "T":
        assert "e^" in warnings and "lower the inflation gap" in warnings, warnings


def test_a_hopeless_schedule_link_is_refused_before_any_solve():
    """The Flow page of a link whose schedule no solver can follow shows a warning and the default
    schedule's page; nothing was queued or computed for the refused schedule."""
    at = fresh({"page": "flow", "family": "reducing", "d": "1", "gap": "50", "T": "100"})
    assert not at.exception and not at.error
    s = at.session_state["session"]
    assert s.sched.t_max is None and not s.jobs
    assert at.title[0].value == "Flow"


@pytest.mark.parametrize(
    "query, title", [({"page": "flow", "dataset": "moons"}, "Flow"), ({"lesson": "4"}, "Schedule")]
)
def test_links_open_their_page(query, title):
    at = fresh(query)
    assert not at.exception
    assert at.title[0].value == title
    if "dataset" in query:
        assert at.session_state["session"].data.dataset == "moons"
