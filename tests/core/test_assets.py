"""The shipped pretrained models: they load, match their cards, and meet the issue-3 quality bar."""

import json

import numpy as np
import pytest

import inflow_core as ic
from inflow_core import checkpoints, quality

DATASETS = ("circles", "moons", "sine", "swiss_roll", "s_curve")
# The toy models of issue 3; the digits models (issue 6) are checked in test_digits_assets.py.
MODELS = {m["name"]: m for m in checkpoints.shipped_models() if m["dataset"] in DATASETS}


def test_every_dataset_and_family_is_shipped_and_small():
    assert set(MODELS) == {f"{d}_{f}" for d in DATASETS for f in ("isotropic", "reducing")}
    total = sum(
        (checkpoints.ASSETS / f"{name}{ext}").stat().st_size
        for name in MODELS
        for ext in (".safetensors", ".json")
    )
    assert total < 5 * 2**20


@pytest.mark.parametrize("name", sorted(MODELS))
def test_asset_loads_and_matches_its_card(name):
    entry = MODELS[name]
    card = entry["card"]
    flow = ic.load_flow(entry["path"])
    assert flow.card == json.loads((checkpoints.ASSETS / f"{name}.json").read_text())
    dataset, family = entry["dataset"], entry["family"]
    assert name == f"{dataset}_{family}"
    dim = ic.datasets.info(dataset).dim
    assert flow.dim == card["data"]["dim"] == card["network"]["dim"] == dim
    assert flow.schedule.to_dict() == card["schedule"] and flow.schedule.family == family
    if family == "reducing":
        assert flow.schedule.dims_to_keep == dim - 1
    q = card["quality"]
    for key in ("energy", "floor", "exact_energy", "ratio_to_floor"):
        assert np.isfinite(q[key]) and q[key] > 0
    # The bar (< 1e-3) is set for circles (test below). Elsewhere the solver's latent error (tolerance
    # 1e-5) can be amplified on the way back, e.g. by the ~30x contraction of a compressed dimension:
    # measured up to 3e-3 (circles reducing, S-curve isotropic); no fixed bar yet, so only a sanity bound.
    assert q["round_trip"]["max_error"] < 1e-2
    assert card["training"]["steps"] > 0 and card["data"]["fresh_samples"] is True


def test_circles_models_meet_the_quality_bar():
    iso = MODELS["circles_isotropic"]["card"]["quality"]
    assert iso["round_trip"]["max_error"] < 1e-3
    assert iso["energy"] <= 1.5 * iso["floor"]
    assert iso["energy"] <= iso["exact_energy"]
    red = MODELS["circles_reducing"]["card"]["quality"]
    assert red["energy"] <= red["exact_energy"]  # Gaussian prior for both
    assert red["energy_empirical_prior"] <= red["exact_energy_empirical_prior"]
    assert red["energy_empirical_prior"] <= 2 * red["floor"]


@pytest.mark.slow
def test_card_figures_regenerate():
    # ~25 s idle (75 s with the machine busy): circles_isotropic's floor, generation figure and round
    # trip, recomputed from the shipped file (5 solves of 2,000 points).
    entry = MODELS["circles_isotropic"]
    q = entry["card"]["quality"]
    flow = ic.load_flow(entry["path"])
    # The cards were measured with the float64 network in flow coordinates u. Solves at tolerance 1e-5 now
    # run its float32 copy in coordinates divided by their Gaussian growth (issue 15): the energy agrees to
    # ~1e-5 relative, the round trip's max error moves from 2.8e-4 to 4.8e-4 (its mean from 2.3e-5 to
    # 2.6e-5) and the encoding takes 110 field evaluations instead of 104. A fabricated card still fails.
    assert quality.iid_floor("circles", q["n"]) == pytest.approx(q["floor"], rel=1e-9)
    assert quality.generation_quality(flow, "circles", q["n"], q["pairs"])["energy"] == pytest.approx(
        q["energy"], rel=1e-4
    )
    rt = quality.round_trip(flow, quality.iid_draws("circles", q["n"], 1, seed=77)[0])
    assert 0.5 <= rt["max_error"] / q["round_trip"]["max_error"] <= 2.0
    assert rt["mean_error"] == pytest.approx(q["round_trip"]["mean_error"], rel=0.25)
    assert abs(rt["nfe_encode"] - q["round_trip"]["nfe_encode"]) <= 0.1 * q["round_trip"]["nfe_encode"]
