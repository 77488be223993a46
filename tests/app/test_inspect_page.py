"""AppTest: the Inspect page on the shipped digits model (UMAP mocked in the fast test, real in the slow
one) and on an uploaded 20-dimensional CSV shown as 5 x 4 images; nothing heavy runs before a click."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from plotly_json import plotly_array
from streamlit.testing.v1 import AppTest

import inflow_core as ic
from inflow_core import reduction

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SHIPPED = "digits_reducing2"


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id).proto.spec)


def chart_keys(at: AppTest) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A figure array as floats (a list's None as NaN)."""
    return plotly_array(value).astype(float)


def canvas(spec: dict) -> np.ndarray:
    """The tiled image grid of an image_grid figure (NaN gaps)."""
    return array(spec["data"][0]["z"])


def selection(row: int) -> dict:
    return {
        "selection": {
            "points": [{"point_index": row, "curve_number": 0, "customdata": row}],
            "point_indices": [row],
            "box": [],
            "lasso": [],
        }
    }


def open_inspect(source: str, n: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/inspect.py").run()
    clean(at)
    at.radio(key="w.inspect.source").set_value(source).run()
    at.number_input(key="w.inspect.n").set_value(n).run()
    clean(at)
    return at


def shown_point(at: AppTest) -> int:
    """The data row the reconstruction panel describes ("Point N ...")."""
    text = next(m.value for m in at.markdown if m.value.startswith("Point"))
    return int(re.match(r"Point (\d+)", text).group(1))


def held_out_digits() -> np.ndarray:
    X, _ = ic.datasets.load("digits")
    return X[reduction.holdout_split(len(X), 1200, seed=0)[1]]


@pytest.mark.slow
def test_shipped_digits_model_with_mocked_umap(monkeypatch):
    calls = []

    def fake_umap(X, d=2, seed=0, **kwargs):
        calls.append((len(X), d))
        return X[:, :d] + 0.0  # a stand-in embedding: two raw pixels

    monkeypatch.setattr(reduction, "umap_embedding", fake_umap)
    at = open_inspect(SHIPPED, 300)
    assert not at.get("plotly_chart")  # nothing heavy before the click
    at.button(key="insp_encode").click().run()
    clean(at)
    assert "latent d = 2" in at.subheader[0].value
    keys = chart_keys(at)
    assert any("w.inspect.latent" in k for k in keys) and any("insp.pca" in k for k in keys)
    assert not any("insp.umap" in k for k in keys)  # UMAP waits for its own button
    assert len(chart(at, "insp.scores")["data"]) == 2  # flow and PCA bars
    at.button(key="insp_umap").click().run()
    clean(at)
    assert calls == [(300, 2)]
    assert [t["name"] for t in chart(at, "insp.scores")["data"]] == ["inflationary flow", "PCA", "UMAP"]
    latent = chart(at, "w.inspect.latent")
    assert sorted(t["name"] for t in latent["data"] if t["name"] != "selected") == [str(k) for k in range(10)]

    # Click a latent point: the reconstruction panel shows that digit, its flow and PCA reconstructions.
    at.session_state["w.inspect.latent"] = selection(17)
    at.run()
    clean(at)
    assert at.session_state["session"].pages["inspect"]["selected"] == 17
    row = shown_point(at)
    grid = canvas(chart(at, "insp.recon"))
    assert grid.shape == (8, 3 * 9 - 1)  # three 8 x 8 images, one-pixel gaps
    digit = held_out_digits()[row]
    np.testing.assert_allclose(grid[:, :8], digit.reshape(8, 8))
    flow = ic.load_flow(ic.checkpoints.ASSETS / f"{SHIPPED}.safetensors")
    np.testing.assert_allclose(
        grid[:, 18:26], reduction.pca_reconstruct(flow.basis, digit[None], 2)[0].reshape(8, 8), atol=1e-9
    )
    assert np.isfinite(grid[:, 9:17]).all()
    assert canvas(chart(at, "insp.walk")).shape == (8, 9 * 9 - 1)  # the traversal row: nine images

    at.button(key="insp_generate").click().run()
    clean(at)
    assert canvas(chart(at, "insp.generated")).shape == (3 * 9 - 1, 8 * 9 - 1)  # 24 samples, 8 per row
    at.button(key="insp_profile").click().run()
    clean(at)
    heat, measured, predicted = chart(at, "insp.variance")["data"]
    assert len(heat["y"]) == 64 and heat["y"][0] == "1 (kept)" and heat["y"][2] == "3"
    # The measured PR ends near the predicted one (about the number of kept dimensions).
    assert array(measured["y"])[-1] == pytest.approx(array(predicted["y"])[-1], rel=0.2)


def upload_20d() -> tuple[AppTest, np.ndarray]:
    """A session whose data is an uploaded CSV: 150 rows, 20 numeric columns (3 clusters), a label column."""
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((3, 20)) * 3
    labels = np.repeat(np.arange(3), 50)
    X = centres[labels] + rng.standard_normal((150, 20))
    lines = [",".join([f"f{i}" for i in range(20)] + ["cls"])]
    lines += [",".join([*(f"{v:.4f}" for v in x), f"group{k}"]) for x, k in zip(X, labels, strict=True)]
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/data.py").run()
    at.radio[0].set_value("upload").run()
    at.text_input(key="w.data.label_column").set_value("cls").run()
    table = ("table.csv", "\n".join(lines).encode(), "text/csv")
    at.file_uploader(key="w.data.upload").set_value(table).run()
    clean(at)
    return at, X


def test_uploaded_20_dimensional_csv_as_images():
    at, X = upload_20d()
    at.switch_page("pages/inspect.py").run()
    at.radio(key="w.inspect.source").set_value("session").run()
    clean(at)
    suggested = reduction.suggest_dims(ic.EigenBasis.fit(X).eigenvalues).by_pr
    assert at.number_input(key="w.inspect.d").value == suggested
    at.button(key="insp_use_d").click().run()
    assert at.session_state["session"].sched.family == "reducing"
    assert at.session_state["session"].sched.dims_to_keep == suggested
    at.toggle(key="w.inspect.is_image").set_value(True).run()
    at.selectbox(key="w.inspect.shape").set_value((5, 4)).run()
    at.number_input(key="w.inspect.n").set_value(150).run()
    at.button(key="insp_encode").click().run()
    clean(at)
    assert f"latent d = {suggested}" in at.subheader[0].value
    grid = canvas(chart(at, "insp.recon"))
    assert grid.shape == (5, 3 * 5 - 1)  # three 5 x 4 images
    first = shown_point(at)
    np.testing.assert_allclose(grid[:, :4], X[first].reshape(5, 4), atol=1e-4)
    scores = chart(at, "insp.scores")["data"]
    assert np.isfinite(array(scores[0]["y"])).all()  # labels given: all three scores shown
    # Not an image: the same panels as feature profiles.
    at.toggle(key="w.inspect.is_image").set_value(False).run()
    clean(at)
    assert [t["name"] for t in chart(at, "insp.recon")["data"]] == ["original", "flow, d dims", "PCA, d dims"]


@pytest.mark.slow
def test_real_umap_on_500_digits():
    # Real UMAP (numba compile on the first call: ~30-60 s) on 500 held-out digits.
    at = open_inspect(SHIPPED, 500)
    at.button(key="insp_encode").click().run()
    at.button(key="insp_umap").click().run()
    clean(at)
    bars = {t["name"]: array(t["y"]) for t in chart(at, "insp.scores")["data"]}
    assert set(bars) == {"inflationary flow", "PCA", "UMAP"}
    # UMAP keeps the digits' neighbourhoods far better than a 2-D linear projection (measured ~0.98 vs ~0.82).
    assert bars["UMAP"][0] > bars["PCA"][0] + 0.05
    assert bars["UMAP"][2] > 0.8  # neighbours share the label


@pytest.mark.slow
def test_uploaded_csv_with_a_network_trained_on_the_train_page():
    # The whole own-data path: upload, take the suggested d, train in the background, inspect the model.
    at, X = upload_20d()
    at.switch_page("pages/inspect.py").run()
    at.radio(key="w.inspect.source").set_value("session").run()
    at.button(key="insp_use_d").click().run()
    d = at.session_state["session"].sched.dims_to_keep
    at.switch_page("pages/train.py").run()
    at.select_slider(key="w.train.width").set_value(32)
    at.select_slider(key="w.train.depth").set_value(2)
    at.select_slider(key="w.train.batch").set_value(256)
    at.number_input(key="w.train.steps").set_value(40)
    at.button(key="start_training").click().run()
    clean(at)
    deadline = time.monotonic() + 120
    while at.session_state["session"].model is None and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert at.session_state["session"].model.card["data"]["dataset"] == "upload"
    at.switch_page("pages/inspect.py").run()
    at.number_input(key="w.inspect.n").set_value(100).run()
    at.button(key="insp_encode").click().run()
    clean(at)
    heading = at.subheader[0].value
    assert "learned network" in heading and f"latent d = {d}" in heading, heading
    assert len(chart(at, "insp.scores")["data"]) == 2
