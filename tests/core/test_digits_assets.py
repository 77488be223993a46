"""The shipped digits models (issue 6): they load, match their cards (trained on digits n = 1200, seed 0,
in pixel units, within the 3-minute budget), and their card figures regenerate from the files."""

import json

import numpy as np
import pytest

import inflow_core as ic
from inflow_core import checkpoints, reduction

MODELS = {m["name"]: m for m in checkpoints.shipped_models() if m["dataset"] == "digits"}


def held_out() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, labels = ic.datasets.load("digits")
    train, test = reduction.holdout_split(len(X), 1200, seed=0)
    return X[train], X[test], labels[test]


def test_reducing_to_2_and_10_are_shipped_and_small():
    assert set(MODELS) == {"digits_reducing2", "digits_reducing10"}
    size = sum(
        (checkpoints.ASSETS / f"{name}{ext}").stat().st_size
        for name in MODELS
        for ext in (".safetensors", ".json")
    )
    assert size < 2 * 2**20


@pytest.mark.parametrize("name", sorted(MODELS))
def test_digits_model_matches_its_card(name):
    entry = MODELS[name]
    card = entry["card"]
    flow = ic.load_flow(entry["path"])
    assert flow.card == json.loads((checkpoints.ASSETS / f"{name}.json").read_text())
    d = int(name.removeprefix("digits_reducing"))
    assert flow.dim == 64 and flow.schedule.dims_to_keep == d and card["quality"]["d"] == d
    assert card["data"] == {
        "dataset": "digits",
        "n": 1200,
        "seed": 0,
        "noise": None,
        "dim": 64,
        "n_train": 1200,
        "fresh_samples": False,
    }
    assert not flow.basis.standardize  # pixels share one unit: no z-scoring
    X_train, _, _ = held_out()
    np.testing.assert_allclose(flow.basis.raw_mean(), X_train.mean(axis=0), atol=1e-9)
    assert card["training"]["seconds"] <= 180  # the budget (measured, on 2 cores)
    q = card["quality"]
    assert q["round_trip"]["max_error"] < 0.1 and q["round_trip"]["mean_error"] < 1e-3  # pixel values 0-16
    assert q["generation"]["gaussian"] > 0 and q["generation"]["floor"] > 0


@pytest.mark.slow
def test_card_reconstruction_and_neighbourhood_figures_regenerate():
    # ~10 s: one encode / decode of the 597 held-out digits with the d = 2 model.
    entry = MODELS["digits_reducing2"]
    q = entry["card"]["quality"]
    flow = ic.load_flow(entry["path"])
    _, X_test, labels = held_out()
    Z = reduction.latent(flow, X_test)
    recon = reduction.decode_kept(flow, Z)
    assert reduction.rms_error(X_test, recon) == pytest.approx(q["reconstruction_rms"]["flow"], rel=1e-3)
    assert reduction.trustworthiness(X_test, Z, 10) == pytest.approx(
        q["neighbourhood"]["flow"]["trustworthiness"], abs=1e-3
    )
