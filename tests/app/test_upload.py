"""AppTest: a valid CSV upload becomes the data; invalid ones show an error and keep the previous data."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _csv(rows: list[list]) -> bytes:
    return ("\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def valid_csv() -> bytes:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    return _csv([["a", "b", "c", "cls"]] + [[*np.round(x, 4), f"k{i % 2}"] for i, x in enumerate(X)])


INVALID = {
    "text column": _csv([["a", "b", "name"]] + [[i, 2 * i, f"p{i}"] for i in range(20)]),
    "NaN": _csv([["a", "b"]] + [[i, "nan" if i == 5 else i * 0.5] for i in range(20)]),
    "one column": _csv([["a"]] + [[i] for i in range(20)]),
}
EXPECTED = {"text column": "not numeric", "NaN": "NaN", "one column": "2 numeric columns"}


@pytest.fixture(scope="module")
def uploaded() -> AppTest:
    """A session whose current data is a valid uploaded CSV with a label column."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/data.py").run()
    at.radio[0].set_value("upload").run()
    at.text_input(key="w.data.label_column").set_value("cls").run()
    at.file_uploader(key="w.data.upload").set_value(("points.csv", valid_csv(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_valid_upload_becomes_the_data(uploaded):
    at = uploaded
    assert at.session_state["session"].data.dataset == "upload"
    assert any("upload points.csv: 40 points in D = 3" in h.value for h in at.subheader)
    labels = at.session_state["session"].upload.labels
    assert sorted(set(labels.tolist())) == ["k0", "k1"]
    # The preview's legend names the classes as the file does, not "label 0/1".
    at.switch_page("pages/data.py").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace.get("name") for trace in spec["data"]} >= {"k0", "k1"}
    # The schedule follows the new data (D = 3) and the Flow page can animate it.
    at.switch_page("pages/flow.py").run()
    at.slider(key="w.flow.particles").set_value(100).run()
    at.slider(key="w.flow.frames").set_value(30).run()
    at.button(key="compute_flow").click().run()
    assert not at.exception and not at.error


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_upload_shows_error_and_keeps_data(uploaded, case):
    at = uploaded
    at.switch_page("pages/data.py").run()
    if at.radio[0].value != "upload":
        at.radio[0].set_value("upload").run()
    before = at.session_state["session"].upload.sha256
    at.text_input(key="w.data.label_column").set_value("")
    at.file_uploader(key="w.data.upload").set_value((f"bad_{case}.csv", INVALID[case], "text/csv")).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert EXPECTED[case] in errors and "previous data is kept" in errors, errors
    assert at.session_state["session"].data.dataset == "upload"
    assert at.session_state["session"].upload.sha256 == before
    assert any("40 points in D = 3" in h.value for h in at.subheader)
