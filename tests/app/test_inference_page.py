"""AppTest: the Inference page simulates from the latent mixture, infers the weights (from the encoded data
and from the true latents), runs simulation-based calibration in the background, and keeps the last results
when an input is bad."""

from pathlib import Path

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


def test_other_dimensions_are_told_what_to_choose():
    at = inference_page({"dataset": "swiss_roll"})
    assert any("2-D" in i.value for i in at.info)
