"""AppTest: the Uncertainty page picks points from a (injected) selection event, propagates ellipses and
Monte-Carlo clouds through the flow, reports their disagreement, and maps a latent region back."""

import json
from pathlib import Path

import numpy as np
from plotly_json import plotly_array
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def selection(*rows: int) -> dict:
    """What st.plotly_chart returns after a lasso / click selection of these rows (customdata = row)."""
    points = [{"point_index": r, "point_number": r, "curve_number": 0, "customdata": r} for r in rows]
    return {"selection": {"points": points, "point_indices": list(rows), "box": [], "lasso": []}}


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_selection_propagation_and_preimage():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"n": "400"})
    at.run()
    at.switch_page("pages/uncertainty.py").run()
    clean(at)
    assert [b.label for b in at.button if b.key == "unc_run"] == ["Propagate"]  # nothing heavy yet
    at.session_state["unc_pick"] = selection(5, 123, 300)
    at.run()
    assert at.session_state["session"].pages["uncertainty"]["selected"] == [5, 123, 300]
    chosen = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["customdata"]
    assert list(plotly_array(chosen)) == [5, 123, 300]  # the highlights show the new picks at once
    at.radio(key="w.uncertainty.kind").set_value("rotated").run()
    at.slider(key="w.uncertainty.samples").set_value(100)
    at.slider(key="w.uncertainty.frames").set_value(10)
    at.button(key="unc_run").click().run()
    clean(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    anim = next(s for s in specs if s.get("frames"))
    assert len(anim["frames"]) == 10
    names = [d.get("name") for d in anim["frames"][-1]["data"]]
    assert "linearised ellipse" in names and "Monte Carlo" in names
    ellipse = next(d for d in anim["frames"][-1]["data"] if d.get("name") == "linearised ellipse")
    assert sum(v is None for v in ellipse["x"]) == 3  # three ellipses in one trace
    table = at.dataframe[0].value
    assert table["point"].tolist() == [5, 123, 300]
    assert np.all(table["var u1 (lin)"] > 0) and np.all(table["difference %"] >= 0)
    assert len(at.warning) + len(at.success) >= 1  # the agreement verdict is shown
    at.slider(key="w.uncertainty.radius").set_value(1.5)
    at.button(key="unc_back").click().run()
    clean(at)
    region = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert [d.get("fill") for d in region["data"]] == [None, "toself", None, "toself"]  # latent + pre-image


def test_out_of_range_selection_is_ignored():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"dataset": "gaussian", "n": "300"})
    at.run()
    at.switch_page("pages/uncertainty.py").run()
    clean(at)
    at.session_state["unc_pick"] = {"selection": {"points": [{"customdata": 99999}], "point_indices": []}}
    at.run()
    clean(at)
    selected = at.session_state["session"].pages["uncertainty"]["selected"]
    assert all(0 <= i < 300 for i in selected)  # an out-of-range pick is ignored


def test_a_monte_carlo_solve_past_its_budget_leaves_the_linearised_ellipses_and_says_why(monkeypatch):
    """On sparse high-dimensional data (digits) the exact flow's Monte-Carlo draws make a stiff solve that
    ran for minutes: it stops at its budget, and the page shows the linearised ellipses with the reason.
    Here the budget is made tiny on circles (sizes unlike the other tests', so no cached result is used)."""
    from explorer import adapters

    monkeypatch.setattr(adapters, "MONTE_CARLO_SECONDS", 1e-6)
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"n": "400"})
    at.run()
    at.switch_page("pages/uncertainty.py").run()
    at.slider(key="w.uncertainty.samples").set_value(150)
    at.slider(key="w.uncertainty.frames").set_value(15)
    at.button(key="unc_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    table = at.dataframe[0].value
    assert np.all(table["var u1 (lin)"] > 0) and "var u1 (MC)" not in table and "verdict" not in table
    assert [w.value for w in at.warning if "Only the linearised ellipses" in w.value]
    anim = next(s for s in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if s.get("frames"))
    names = {d.get("name") for d in anim["frames"][-1]["data"]}
    assert "linearised ellipse" in names and "Monte Carlo" not in names
    assert not at.success  # no verdict without the cloud
