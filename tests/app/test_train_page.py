"""AppTest: train a network in the background to completion and with Stop; the job cap; loading a model;
a model is never used with data or a schedule it was not trained on."""

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import inflow_core as ic
from inflow_core.training import TrainConfig

APP = str(Path(__file__).resolve().parents[2] / "app.py")
N = 300


def train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"n": str(N)})
    at.run()
    at.switch_page("pages/train.py").run()
    at.select_slider(key="w.train.width").set_value(32)
    at.select_slider(key="w.train.depth").set_value(2)
    at.select_slider(key="w.train.batch").set_value(256)
    at.selectbox(key="w.train.device").set_value("cpu")
    return at


def wait_for_model(at: AppTest, timeout: float = 120.0) -> dict:
    """Rerun the page (as the polling fragment does) until the job has installed its model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if at.session_state["session"].model is not None:
            return at.session_state["session"].model
        time.sleep(0.5)
    raise AssertionError("training did not finish in time")


@pytest.fixture(scope="module")
def trained() -> AppTest:
    at = train_page()
    at.number_input(key="w.train.steps").set_value(40)
    at.button(key="start_training").click().run()
    assert not at.error, [e.value for e in at.error]
    wait_for_model(at)
    return at


def test_training_runs_to_completion_and_is_used(trained):
    at = trained
    model = at.session_state["session"].model
    assert model.card["training"]["steps"] == 40 and not model.card["training"]["stopped"]
    assert model.card["data"]["dataset"] == "circles" and model.card["data"]["n"] == N
    assert model.card["data"]["fresh_samples"] is True  # built-ins train on fresh draws by default
    assert at.session_state["session"].use_model
    assert any("finished after 40 steps" in s.value for s in at.success)
    assert at.get("plotly_chart"), "the loss curve is shown"
    assert at.get("download_button"), "the model can be downloaded"
    at.switch_page("pages/flow.py").run()
    at.slider(key="w.flow.particles").set_value(100)
    at.slider(key="w.flow.frames").set_value(30)
    at.run()
    at.button(key="compute_flow").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "**Learned:** learned network" in text and "NFE" in text


def test_model_is_not_used_with_other_data_or_schedule(trained):
    at = trained
    at.switch_page("pages/schedule.py").run()
    at.selectbox(key="w.sched.family").set_value("proportional").run()
    at.switch_page("pages/flow.py").run()
    errors = " ".join(e.value for e in at.error)
    assert "does not fit" in errors and "family" in errors
    assert "compute_flow" not in [b.key for b in at.button]
    assert "Here the points move" in " ".join(m.value for m in at.markdown)  # the page still explains itself
    at.button(key="guard_adopt").click().run()  # back to the model's data and schedule
    assert at.session_state["session"].sched.family == "isotropic"
    assert not at.error
    assert "**Learned:**" in " ".join(m.value for m in at.markdown)  # its cached animation is back
    at.query_params.clear()
    at.switch_page("pages/data.py").run()
    at.number_input(key="w.dataset.n").set_value(N + 100).run()
    at.switch_page("pages/flow.py").run()
    assert "trained on data with n=300" in " ".join(e.value for e in at.error)


def test_stop_ends_training_early_with_a_usable_model():
    at = train_page()
    at.number_input(key="w.train.seconds").set_value(120)
    at.radio(key="w.train.fresh").set_value(False)
    at.button(key="start_training").click().run()
    deadline = time.monotonic() + 60
    live = at.session_state["session"].jobs["training"].detail
    while live.progress is None and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    at.button(key="stop_training").click().run()
    model = wait_for_model(at, timeout=60)
    assert model.card["training"]["stopped"] is True
    assert model.card["data"]["fresh_samples"] is False
    assert model.card["training"]["seconds"] < 60
    assert any("stopped early" in s.value for s in at.success)


def test_model_upload_installs_and_bad_upload_keeps_it(trained):
    at = trained
    at.switch_page("pages/train.py").run()
    first = at.session_state["session"].model
    content = ic.checkpoints.to_bytes(first.flow, first.card)
    mime = "application/octet-stream"
    at.file_uploader(key="w.train.upload").set_value(("mine.safetensors", content, mime)).run()
    assert not at.exception
    model = at.session_state["session"].model
    assert model.source == "uploaded mine.safetensors" and model.id != first.id
    at.file_uploader(key="w.train.upload").set_value(("broken.safetensors", b"not a model", mime))
    at.run()
    assert "previous model is kept" in " ".join(e.value for e in at.error)
    assert at.session_state["session"].model.id == model.id


def test_shipped_model_loads_and_a_mismatch_can_be_resolved(tmp_path, monkeypatch):
    X, _ = ic.datasets.load("circles", n=N, seed=0)
    basis = ic.EigenBasis.fit(X)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    info = {"dataset": "circles", "n": N, "seed": 0, "noise": None}
    result = ic.training.train(
        X,
        basis,
        schedule,
        TrainConfig(steps=5, batch_size=64, width=32, depth=2, device="cpu"),
        data_info=info,
    )
    path = tmp_path / "circles_reducing.safetensors"
    ic.save_flow(result.flow, path, result.card)
    entry = {
        "name": "circles_reducing",
        "dataset": "circles",
        "family": "reducing",
        "path": str(path),
        "card": result.card,
    }
    monkeypatch.setattr(ic.checkpoints, "shipped_models", lambda: [entry])
    at = train_page()  # default circles with the isotropic schedule
    at.button(key="load_shipped").click().run()
    assert at.session_state["session"].model.source == "shipped model circles_reducing"
    assert at.session_state["session"].sched.family == "reducing"  # loaded with its data and schedule
    assert not at.error
    at.switch_page("pages/schedule.py").run()
    at.selectbox(key="w.sched.family").set_value("isotropic").run()
    at.switch_page("pages/train.py").run()
    assert "does not fit" in " ".join(e.value for e in at.error)
    at.button(key="adopt_model").click().run()
    assert at.session_state["session"].sched.family == "reducing"
    assert not at.error
    at.switch_page("pages/flow.py").run()
    assert not at.error and "compute_flow" in [b.key for b in at.button]


def test_training_settings_survive_a_visit_to_another_page():
    at = train_page()
    at.number_input(key="w.train.seconds").set_value(45)
    at.radio(key="w.train.fresh").set_value(False).run()
    at.switch_page("pages/schedule.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.number_input(key="w.train.seconds").value == 45
    assert at.select_slider(key="w.train.width").value == 32
    assert at.radio(key="w.train.fresh").value is False


@pytest.mark.slow
def test_a_training_run_shows_what_the_model_generates_while_it_learns():
    at = train_page()
    at.number_input(key="w.train.seconds").set_value(8)
    at.button(key="start_training").click().run()
    live = at.session_state["session"].jobs["training"].detail
    deadline = time.monotonic() + 120
    while live.preview is None and time.monotonic() < deadline:
        time.sleep(0.5)
    step, generated = live.preview
    assert step > 0 and generated.shape == (400, 2) and np.isfinite(generated).all()
    at.run()
    assert not at.exception
    assert any("Samples at step" in c.proto.spec for c in at.get("plotly_chart"))
    wait_for_model(at)
