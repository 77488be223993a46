"""AppTest: the Inference page simulates from the latent mixture, infers the weights (from the encoded data
and from the true latents), runs simulation-based calibration in the background, shows the flow's exact
log-likelihood (density map, its integral, held-out NLL against a Gaussian fit), and keeps the last results
when an input is bad."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def inference_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"n": "300", **(query or {})})
    at.run()
    at.switch_page("pages/inference.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_simulate_infer_and_a_bad_weight_keeps_the_results():
    at = inference_page()
    at.number_input(key="w.inference.n").set_value(400).run()
    at.button(key="inf_simulate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="inf_infer").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("posterior from the true latents" in spec for spec in charts)
    table = at.dataframe[0].value
    assert list(table["weight"][:3]) == ["w1", "w2", "w3"] and (table["mean"].between(0, 1)).all()
    at.number_input(key="w.inference.w1").set_value(0.9).run()  # weights now sum to 1.4
    assert any("sum to 1.400" in e.value for e in at.error)
    assert at.button(key="inf_simulate").disabled
    assert any("posterior from the true latents" in c.proto.spec for c in at.get("plotly_chart"))  # kept


@pytest.mark.slow
def test_calibration_runs_in_the_background_with_progress(wait_for_job):
    at = inference_page()
    at.select_slider(key="w.inference.replicates").set_value(50)
    at.select_slider(key="w.inference.sbc_n").set_value(100)
    at.run()
    at.button(key="inf_sbc").click().run()
    wait_for_job(at, "sbc")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Ranks of the true weights" in c.proto.spec for c in at.get("plotly_chart"))
    assert any("chi-square uniformity p-values" in c.value for c in at.caption)


def test_bad_n_and_noise_say_why_and_keep_the_results():
    at = inference_page()
    at.button(key="inf_simulate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.number_input(key="w.inference.n").set_value(0).run()
    assert not at.exception
    assert any("Points n = 0; choose from 10 to 20,000" in e.value for e in at.error)
    assert at.button(key="inf_simulate").disabled and not at.button(key="inf_sbc").disabled
    assert at.get("plotly_chart")  # the last simulation is still shown
    at.number_input(key="w.inference.n").set_value(300).run()
    at.number_input(key="w.inference.noise").set_value(-0.1).run()
    assert not at.exception
    assert any("noise variance is -0.1; choose a variance from 0" in e.value for e in at.error)
    assert at.button(key="inf_simulate").disabled and at.button(key="inf_sbc").disabled
    assert at.get("plotly_chart")
    at.number_input(key="w.inference.noise").set_value(0.01).run()
    assert not at.error and not at.button(key="inf_simulate").disabled


def density_shown(at: AppTest) -> tuple[float, dict]:
    """Press the log-likelihood button; (the integral shown, the NLL table's rows by model)."""
    at.button(key="inf_density").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    keys = [c.proto.id for c in at.get("plotly_chart")]
    assert any("inf_density_map" in k for k in keys), keys
    metric = next(m for m in at.metric if m.label == "Integral of p over the grid")
    table = next(d.value for d in at.dataframe if "NLL (nats)" in d.value.columns)
    return float(metric.value), dict(zip(table["model"], table["NLL (nats)"], strict=True))


def test_exact_flow_log_likelihood():
    at = inference_page({"n": "2000"})
    integral, nll = density_shown(at)
    assert abs(integral - 1) < 0.05
    assert set(nll) == {"exact flow", "Gaussian fit"}
    text = " ".join(c.value for c in at.caption)
    assert "Exact: the exact flow's density in closed form" in text
    assert re.search(r"checked through the ODE .* largest difference \d\.\de-0[3-9] nats", text), text
    assert "500 held-out points" in text


@pytest.mark.slow
def test_shipped_learned_model_log_likelihood():
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="w.train.shipped").set_value("circles_isotropic").run()
    at.button(key="load_shipped").click().run()
    assert at.session_state["session"].model.source == "shipped model circles_isotropic"
    at.switch_page("pages/inference.py").run()
    assert not at.exception
    integral, nll = density_shown(at)
    assert abs(integral - 1) < 0.02  # issue 14: a learned circles model's density map integrates to 1
    assert nll["learned network"] < nll["Gaussian fit"]  # the shipped network beats the baseline
    assert any("Learned: the network's density through the ODE" in c.value for c in at.caption)


@pytest.mark.slow
def test_other_dimensions_are_told_what_to_choose():
    at = inference_page({"dataset": "swiss_roll"})
    assert any("2-D" in i.value for i in at.info)
    assert any("density map is drawn for 2-D data" in c.value for c in at.caption)
    at.button(key="inf_density").click().run()  # the held-out NLL still works in 3-D
    assert not at.exception and not at.error
    assert not at.get("plotly_chart") and any("NLL (nats)" in d.value.columns for d in at.dataframe)
