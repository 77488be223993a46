"""AppTest: the Data page's Draw source. Lasso strokes and clicks (injected as the canvas's selection events,
as the browser sends them) add points of the chosen class; undo and clear remove them; "Use these points"
makes the drawing the current data through the upload validation, and too few points keep the previous."""

import json
from pathlib import Path

import numpy as np
import pytest
from plotly_json import plotly_array
from streamlit.testing.v1 import AppTest

from inflow_core import datasets

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def lasso_event(*vertices: tuple[float, float]) -> dict:
    """What st.plotly_chart returns after a lasso: the outline in data coordinates (and the grid points
    inside it, which are not clicks)."""
    xs, ys = [v[0] for v in vertices], [v[1] for v in vertices]
    grid = [{"curve_number": 0, "point_number": 7, "point_index": 7, "x": xs[0], "y": ys[0]}]
    return {
        "selection": {
            "points": grid,
            "point_indices": [7],
            "box": [],
            "lasso": [{"xref": "x", "yref": "y", "x": xs, "y": ys}],
        }
    }


def click_event(x: float, y: float) -> dict:
    """What st.plotly_chart returns after a click selected the grid point (x, y)."""
    point = {"curve_number": 0, "point_number": 3, "point_index": 3, "x": x, "y": y}
    return {"selection": {"points": [point], "point_indices": [3], "box": [], "lasso": []}}


def settings(at: AppTest) -> dict:
    return at.session_state["session"].pages["data"]


def stroke(at: AppTest, event: dict) -> None:
    """Send one selection event to the canvas shown now (its key carries the canvas version)."""
    at.session_state[f"draw_canvas_{settings(at)['canvas']}"] = event
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def drawn(at: AppTest) -> tuple[np.ndarray, np.ndarray]:
    strokes = settings(at)["strokes"]
    if not strokes:
        return np.zeros((0, 2)), np.zeros(0, int)
    X = np.concatenate([np.asarray(s["points"]).reshape(-1, 2) for s in strokes])
    return X, np.concatenate([[s["class"]] * len(s["points"]) for s in strokes])


def canvas_spec(at: AppTest) -> dict:
    titles = ("Drag a loop", "Click anywhere")
    return next(
        s
        for s in (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
        if any(t in str(s["layout"]["title"]) for t in titles)
    )


SQUARE = [(-2.5, -2.5), (-1, -2.5), (-1, -1), (-2.5, -1)]
TRIANGLE = [(0.5, 0.5), (2.5, 0.5), (1.5, 2.5)]


@pytest.fixture
def drawing() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"n": "400"})
    at.run()
    at.switch_page("pages/data.py").run()
    at.radio(key="w.data.source").set_value("draw").run()
    assert not at.exception and not at.error
    return at


def test_strokes_classes_undo_and_clear(drawing):
    at = drawing
    at.slider(key="w.data.density").set_value(30).run()
    stroke(at, lasso_event(*SQUARE))
    at.selectbox(key="w.data.draw_class").set_value(2).run()
    stroke(at, lasso_event(*TRIANGLE))
    stroke(at, click_event(1.5, -2.0))  # the lasso tool ignores clicks
    assert len(drawn(at)[0]) == 60
    assert [d["name"] for d in canvas_spec(at)["data"]] == ["class 1", "class 2"]  # and needs no grid
    at.radio(key="w.data.tool").set_value("click").run()
    stroke(at, click_event(1.5, -2.0))
    X, classes = drawn(at)
    assert len(X) == 61 and classes.tolist() == [1] * 30 + [2] * 31
    assert datasets.points_in_polygon(X[:30], SQUARE).all()
    assert datasets.points_in_polygon(X[30:60], TRIANGLE).all()
    assert X[60].tolist() == [1.5, -2.0]
    assert any("61 points" in m.value and "3 strokes" in m.value for m in at.markdown)
    spec = canvas_spec(at)
    assert [d["name"] for d in spec["data"]] == ["canvas", "class 1", "class 2"]
    assert spec["layout"]["yaxis"]["scaleanchor"] == "x"  # equal axes on a fixed square
    assert spec["layout"]["xaxis"]["range"] == [-3, 3] == spec["layout"]["yaxis"]["range"]
    at.run()  # an event counts once
    assert len(drawn(at)[0]) == 61
    at.button(key="draw_undo").click().run()
    assert len(drawn(at)[0]) == 60 and len(settings(at)["strokes"]) == 2
    at.button(key="draw_clear").click().run()
    assert settings(at)["strokes"] == []
    assert at.button(key="draw_use").disabled and at.button(key="draw_undo").disabled
    assert at.session_state["session"].data.dataset == "circles"  # drawing alone changes no data


def test_click_tool_and_a_degenerate_lasso(drawing):
    at = drawing
    at.radio(key="w.data.tool").set_value("click").run()
    spec = canvas_spec(at)
    assert spec["layout"]["dragmode"] == "pan"  # clicks select in pan mode
    grid = spec["data"][0]
    x = plotly_array(grid["x"])
    assert grid["name"] == "canvas" and len(x) == 61**2 and x.min() == -3 and x.max() == 3  # the click grid
    stroke(at, click_event(3.0, 3.0))  # the corner of the canvas
    stroke(at, click_event(7.0, 0.0))  # off the canvas: ignored
    assert drawn(at)[0].tolist() == [[3.0, 3.0]]
    stroke(at, lasso_event((0, 0), (1, 1), (2, 2)))  # a line, not a loop
    assert len(drawn(at)[0]) == 1
    assert any("line or a point" in w.value for w in at.warning)
    stroke(at, {"selection": {"lasso": [{"x": [0, 1], "y": "nonsense"}], "points": []}})
    assert any("draw it again" in w.value for w in at.warning)
    stroke(at, lasso_event(*SQUARE))  # a good stroke clears the message
    assert not at.warning and len(drawn(at)[0]) == 51


def test_use_these_points_makes_the_drawing_the_data(drawing):
    at = drawing
    at.slider(key="w.data.density").set_value(20).run()
    stroke(at, lasso_event(*SQUARE))
    at.selectbox(key="w.data.draw_class").set_value(2).run()
    stroke(at, lasso_event(*TRIANGLE))
    X, classes = drawn(at)
    at.button(key="draw_use").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    s = at.session_state["session"]
    assert s.data.dataset == "upload" and s.upload.drawn
    np.testing.assert_array_equal(s.upload.X, X)
    assert s.upload.labels.tolist() == classes.tolist() == [1] * 20 + [2] * 20  # class k is label k
    assert s.upload.columns == ["x1", "x2"]
    assert any("your drawing: 40 points in D = 2" in h.value for h in at.subheader)
    assert any("current data" in m.value for m in at.success)
    assert at.radio(key="w.data.source").value == "draw"
    # The Flow page animates the drawing, coloured by its two classes.
    at.switch_page("pages/flow.py").run()
    at.slider(key="w.flow.particles").set_value(100).run()
    at.slider(key="w.flow.frames").set_value(30).run()
    at.button(key="compute_flow").click().run()
    assert not at.exception and not at.error
    animation = next(s for s in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if s.get("frames"))
    assert {"label 1", "label 2"} <= {d.get("name") for d in animation["data"]}
    # Back on the Data page the drawing is still there, and the source can go back to built-in data.
    at.switch_page("pages/data.py").run()
    assert len(drawn(at)[0]) == 40
    at.radio(key="w.data.source").set_value("builtin").run()
    assert at.session_state["session"].data.dataset == "circles" and not at.exception


def test_too_few_points_keep_the_previous_data(drawing):
    at = drawing
    at.radio(key="w.data.tool").set_value("click").run()
    for x in (0.5, 1.0, 1.5):
        stroke(at, click_event(x, 0.0))
    at.button(key="draw_use").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "3 points" in errors and "at least 10" in errors and "previous data is kept" in errors, errors
    assert at.session_state["session"].data.dataset == "circles"
    assert any("Two circles: 400 points" in h.value for h in at.subheader)


def test_draw_controls_have_help_text(drawing, page_controls):
    at = drawing
    controls = page_controls(at) + list(at.download_button)
    keys = {w.key for w in controls}
    assert {
        "w.data.tool",
        "w.data.draw_class",
        "w.data.density",
        "draw_undo",
        "draw_clear",
        "draw_use",
        "draw_download",
    } <= keys
    missing = [w.label for w in controls if not w.help]
    assert not missing, missing
