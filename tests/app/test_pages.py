"""AppTest: every page renders for every built-in dataset, the Flow figure is a proper animation,
schedule changes and URL parameters take effect, and state survives page switches."""

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import inflow_core as ic
from explorer import adapters, navigation

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = [page.path for page in navigation.PAGES]  # every page in the menu
# Small data keeps the suite fast; digits (64-D) exercises the dimension picker.
SMALL_N = 200


def fresh(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query or {})
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def compute_flow(at: AppTest, particles: int = 100, frames: int = 30) -> dict:
    """On the Flow page: set a small animation, press Compute, return the animation's figure spec."""
    at.slider(key="w.flow.particles").set_value(particles)
    at.slider(key="w.flow.frames").set_value(frames)
    at.run()
    at.button(key="compute_flow").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    return next(spec for spec in plotly_specs(at) if spec.get("frames"))


def test_home_renders_with_animation_and_map():
    at = fresh()
    assert_clean(at)
    assert at.title[0].value == "Inflationary Flows Explorer"
    demo = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(demo["frames"]) >= 30  # the demo animation, pressed Play by a script on arrival
    assert "updatemenu-button" in at.get("html")[0].proto.body
    assert len(at.get("page_link")) == len(navigation.PAGES)
    assert at.query_params["dataset"] == ["circles"] or at.query_params["dataset"] == "circles"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ic.datasets.REGISTRY))
def test_every_page_with_every_dataset(name):
    at = fresh({"dataset": name, "n": str(SMALL_N)})
    assert_clean(at)
    assert at.session_state["session"].data.dataset == name
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
        assert not at.error, (page, [e.value for e in at.error])
    at.switch_page("pages/flow.py").run()
    spec = compute_flow(at)
    assert len(spec["frames"]) >= 30
    dim = ic.datasets.info(name).dim
    moving = spec["frames"][0]["data"][0]
    assert ("z" in moving) == (dim == 3)  # 3-D data animates as 3-D frames; D > 3 shows picked coordinates


def test_flow_figure_is_a_fixed_axis_animation_with_controls():
    at = fresh({"n": "400"})
    at.switch_page("pages/flow.py").run()
    assert "Compute the flow" in [b.label for b in at.button]
    assert not [s for s in plotly_specs(at) if s.get("frames")]  # nothing heavy before the click
    spec = compute_flow(at, particles=200, frames=40)
    layout = spec["layout"]
    assert len(spec["frames"]) == 40
    assert len(layout["sliders"][0]["steps"]) == 40
    labels = [b["label"] for b in layout["updatemenus"][0]["buttons"]]
    assert any("Play" in x for x in labels) and any("Pause" in x for x in labels)
    for axis in ("xaxis", "yaxis"):
        assert layout[axis]["autorange"] is False
        lo, hi = layout[axis]["range"]
        assert lo < hi
    shown = [m.value for m in at.markdown if "NFE" in m.value]
    assert shown and "Round trip" in shown[0] and "Exact" in shown[0] and "rtol=1e-05" in shown[0]
    exports = [button.proto.label for button in at.get("download_button")]
    assert exports == ["Download animation (HTML)", "Download animation (GIF)", "Download trajectories (CSV)"]


def test_digits_dimension_picker_and_results_survive_page_switch():
    at = fresh({"dataset": "digits", "n": str(SMALL_N)})
    at.switch_page("pages/flow.py").run()
    picker = at.multiselect(key="w.flow.dims")
    picker.set_value([0, 2, 5]).run()
    spec = compute_flow(at)
    assert "z" in spec["frames"][0]["data"][0]
    assert spec["layout"]["scene"]["xaxis"]["title"]["text"].startswith("u1")
    assert spec["layout"]["scene"]["zaxis"]["title"]["text"].startswith("u6")
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/flow.py").run()
    assert any(s.get("frames") for s in plotly_specs(at)), "the computed result was lost on a page switch"
    assert at.session_state["session"].data.dataset == "digits"


@pytest.mark.slow
def test_initial_noise_makes_the_exact_flow_follow_the_predicted_spread():
    """Digits under the exact flow: bare data points stay far below the predicted latent variance on the
    kept dimensions; draws from the t = 0 distribution (data + c(0) noise) follow it."""
    at = fresh({"dataset": "digits"})
    at.switch_page("pages/flow.py").run()
    assert at.toggle(key="w.flow.blur").value is True  # on by default
    compute_flow(at, particles=500)
    assert not any("Add the initial noise" in c.value for c in at.caption)
    at.toggle(key="w.flow.blur").set_value(False).run()
    compute_flow(at, particles=500)
    assert any("Add the initial noise" in c.value for c in at.caption)
    blurred, bare = (r for r in at.session_state["session"].results.values() if r.direction == "inflate")
    kept = bare.kept
    ratio = lambda r: r.variances[-1, kept] / r.predicted[-1, kept]  # noqa: E731
    assert np.median(ratio(bare)) < 0.2
    assert 0.7 < np.median(ratio(blurred)) < 1.3


def test_schedule_change_reaches_url_sidebar_and_flow():
    at = fresh({"n": "300"})
    at.switch_page("pages/schedule.py").run()
    at.selectbox(key="w.sched.family").set_value("reducing").run()
    assert_clean(at)
    assert at.session_state["session"].sched.family == "reducing"
    assert any("reducing to d=1" in m.value for m in at.markdown)
    assert at.query_params["family"] in ("reducing", ["reducing"])
    at.number_input(key="w.sched.kappa").set_value(100.0).run()
    t_max = float(at.metric[0].value)
    lam = ic.EigenBasis.fit(ic.datasets.load("circles", n=300, seed=0)[0]).eigenvalues
    assert t_max == pytest.approx(ic.Schedule.reducing(lam, 1, kappa=100.0).t_max, abs=0.01)
    at.switch_page("pages/flow.py").run()
    spec = compute_flow(at)
    assert {"dim 1", "dim 2"} <= {trace.get("name") for trace in spec["data"]}  # the linked variance panel
    # What that panel shows: the compressed dimension's variance collapses against the kept one, from
    # about equal (z-scored circles) to the schedule's lam_2 / ((1 + kappa) lam_1) ~ 1 % at T.
    result = next(r for r in at.session_state["session"].results.values() if r.direction == "inflate")
    assert result.kept.tolist() == [True, False]
    measured = result.variances[:, 1] / result.variances[:, 0]
    predicted = result.predicted[:, 1] / result.predicted[:, 0]
    assert measured[0] > 0.5 and measured[-1] < 0.03
    assert measured[-1] == pytest.approx(predicted[-1], rel=0.4)
    at.switch_page("pages/schedule.py").run()
    assert at.selectbox(key="w.sched.family").value == "reducing"  # kept across page switches


def test_shared_link_opens_the_same_view():
    query = {
        "dataset": "moons",
        "n": "300",
        "seed": "3",
        "family": "reducing",
        "d": "1",
        "gap": "1.5",
        "kappa": "500",
        "page": "schedule",
    }
    at = fresh(query)
    assert_clean(at)
    expected = {"dataset": "moons", "n": 300, "seed": 3, "noise": None}
    assert asdict(at.session_state["session"].data) == expected
    sched = at.session_state["session"].sched
    assert (sched.family, sched.dims_to_keep, sched.inflation_gap, sched.kappa) == ("reducing", 1, 1.5, 500.0)
    assert at.title[0].value == "Schedule"


def test_bad_link_parameters_warn_and_fall_back():
    at = fresh({"dataset": "nope", "seed": "abc"})
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "nope" in warnings and "seed" in warnings
    assert at.session_state["session"].data.dataset == "circles"


def test_generate_direction_reports_round_trip():
    at = fresh({"n": "300"})
    at.switch_page("pages/flow.py").run()
    at.radio(key="w.flow.direction").set_value("generate").run()
    spec = compute_flow(at)
    assert len(spec["frames"]) == 30
    text = " ".join(m.value for m in at.markdown)
    assert "encode(decode(u))" in text and "latent draws" in text
    times = [float(step["label"]) for step in spec["layout"]["sliders"][0]["steps"]]
    assert times[0] > times[-1] == 0.0  # generation runs from T down to 0
    assert np.isfinite(times).all()


@pytest.mark.parametrize("page", PAGES)
def test_every_control_has_help_text(page, page_controls):
    at = fresh({"dataset": "swiss_roll", "n": str(SMALL_N), "family": "reducing"})
    at.switch_page(page).run()
    if page == "pages/data.py":
        at.radio[0].set_value("upload").run()  # the upload controls too
    controls = page_controls(at)
    assert controls
    missing = [getattr(w, "label", w) for w in controls if not getattr(w, "help", "")]
    assert not missing, f"controls without help= on {page}: {missing}"


def test_uncertainty_and_calibration_settings_survive_a_page_switch():
    at = fresh({"n": "300"})
    at.switch_page("pages/uncertainty.py").run()
    at.slider(key="w.uncertainty.level").set_value(0.8).run()
    at.switch_page("pages/calibration.py").run()
    at.select_slider(key="w.calibration.step").set_value(0.25).run()
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/uncertainty.py").run()
    assert at.slider(key="w.uncertainty.level").value == 0.8
    at.switch_page("pages/calibration.py").run()
    assert at.select_slider(key="w.calibration.step").value == 0.25
    assert_clean(at)


def chart_places(at: AppTest) -> list[tuple[int, ...]]:
    """Where each Plotly chart sits in the main area: its index path through the page's blocks."""
    places = []

    def walk(node, path: tuple[int, ...]) -> None:
        if getattr(node, "type", None) == "plotly_chart":
            places.append(path)
        for index, child in getattr(node, "children", {}).items():
            walk(child, (*path, index))

    walk(at.main, ())
    return places


def test_flow_charts_keep_their_places_after_compute():
    """The run that computes draws the charts where every later run draws them: a chart that moves is
    mounted afresh in the browser, so a first view change after Compute drew both charts twice."""
    at = fresh()
    at.switch_page("pages/flow.py").run()
    compute_flow(at)
    computed = chart_places(at)
    assert len(computed) == 2  # the animation and the predicted-vs-measured figure
    at.selectbox(key="w.flow.colour").set_value("angle").run()
    assert chart_places(at) == computed


def test_view_controls_redraw_the_stored_trajectory_without_a_new_solve():
    """Colour, trails and the shown coordinates only change the view: the animation is re-drawn from the
    computed trajectory, with the same NFE line and no solve (the server cache counts solves)."""
    at = fresh({"dataset": "digits", "n": str(SMALL_N)})
    at.switch_page("pages/flow.py").run()
    compute_flow(at)
    solves = adapters.cache().computed_by["flow_result"]
    nfe_line = next(m.value for m in at.markdown if "NFE" in m.value)
    for change in (
        lambda: at.selectbox(key="w.flow.colour").set_value("position"),
        lambda: at.slider(key="w.flow.trails").set_value(3),
        lambda: at.multiselect(key="w.flow.dims").set_value([0, 2, 5]),
    ):
        change().run()
        assert_clean(at)
        assert "compute_flow" not in [b.key for b in at.button]  # no Compute button: nothing to solve
        assert any(s.get("frames") for s in plotly_specs(at))
        assert next(m.value for m in at.markdown if "NFE" in m.value) == nfe_line
    assert adapters.cache().computed_by["flow_result"] == solves
    spec = next(s for s in plotly_specs(at) if s.get("frames"))
    assert spec["layout"]["scene"]["zaxis"]["title"]["text"].startswith("u6")
