"""Checkpoints: exact round trips, and a clear ValueError (never code execution) for every bad file."""

import json
import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import inflow_core as ic
from inflow_core import checkpoints
from inflow_core.networks import NetworkDenoiser


def _flow(dim=2, family="reducing", seed=0):
    X, _ = ic.datasets.load("gaussian", n=500, seed=seed, dim=dim)
    basis = ic.EigenBasis.fit(X)
    params = {"dims_to_keep": 1} if family == "reducing" else {}
    sched = ic.Schedule.create(family, basis.eigenvalues, **params)
    torch.manual_seed(seed)
    den = NetworkDenoiser(basis.eigenvalues, sched.t_max, width=16, depth=2)
    torch.nn.init.normal_(den.net.out.weight, std=0.3)  # a non-trivial field (F != 0)
    flow = ic.InflationaryFlow(basis, sched, den.double())
    flow.card = {"data": {"dataset": "gaussian", "n": 500}, "note": "test"}
    return flow, X


@pytest.fixture(scope="module")
def saved():
    flow, X = _flow()
    return flow, X, checkpoints.to_bytes(flow)


def _card_after_load(flow, card):
    """What load_flow returns as .card: the validated card, with the flow's real schedule and network."""
    sections = {"data": {}, "schedule": {}, "network": {}, "training": {}, "quality": {}}
    return {**sections, **card, "schedule": flow.schedule.to_dict(), "network": flow.denoiser.config()}


def _rewrite(data: bytes, tensors=None, **meta_changes) -> bytes:
    """Re-save a checkpoint with changed tensors and/or metadata entries."""
    (size,) = struct.unpack("<Q", data[:8])
    meta = json.loads(data[8 : 8 + size])["__metadata__"]
    meta.update(meta_changes)
    return st_save(tensors if tensors is not None else st_load(data), metadata=meta)


def test_round_trip_gives_identical_outputs(tmp_path, saved):
    flow, X, _ = saved
    path = tmp_path / "m.safetensors"
    ic.save_flow(flow, path)
    back = ic.load_flow(path)
    u = torch.as_tensor(flow.to_flow(X[:50]))
    torch.testing.assert_close(back.field(1.3, u), flow.field(1.3, u), rtol=0, atol=0)
    np.testing.assert_array_equal(back.encode(X[:20]), flow.encode(X[:20]))
    assert back.schedule.to_dict() == flow.schedule.to_dict()
    np.testing.assert_array_equal(back.basis.vectors, flow.basis.vectors)
    assert back.card == _card_after_load(flow, flow.card) and back.denoiser.kind == "network"
    assert back.dtype == torch.float64 and back.device.type == "cpu"


def test_bytes_round_trip_and_explicit_card(saved):
    flow, X, data = saved
    back = ic.load_flow(data)
    np.testing.assert_array_equal(back.decode(flow.encode(X[:5])), flow.decode(flow.encode(X[:5])))
    other = ic.load_flow(checkpoints.to_bytes(flow, card={"x": 1}))
    assert other.card == _card_after_load(flow, {"x": 1})


def test_asset_is_a_model_plus_its_readable_card(tmp_path, saved):
    flow, X, _ = saved
    card = {"data": {"dataset": "gaussian"}, "quality": {"energy": 1e-3}}
    checkpoints.save_asset(flow, card, "toy", tmp_path)
    assert json.loads((tmp_path / "toy.json").read_text()) == card
    loaded = ic.load_flow(tmp_path / "toy.safetensors")
    assert loaded.card == _card_after_load(flow, card)
    np.testing.assert_array_equal(loaded.encode(X[:5]), flow.encode(X[:5]))


def test_pickle_file_is_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"weights": Boom()}))
    with pytest.raises(ValueError, match="not a .safetensors model"):
        ic.load_flow(path)
    torch.save({"w": torch.zeros(3)}, tmp_path / "model.pt")  # a torch zip/pickle checkpoint
    with pytest.raises(ValueError, match="never loaded"):
        ic.load_flow(tmp_path / "model.pt")


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_file(saved, cut):
    data = saved[2]
    with pytest.raises(ValueError, match="truncated|not a .safetensors"):
        ic.load_flow(data[:cut])


def test_nan_weights(saved):
    data = saved[2]
    tensors = st_load(data)
    tensors["net.net.layers.0.weight"][0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ic.load_flow(_rewrite(data, tensors))


def test_nan_basis(saved):
    data = saved[2]
    tensors = st_load(data)
    tensors["basis.mean"][0] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        ic.load_flow(_rewrite(data, tensors))


def test_model_for_another_dimension(saved):
    data = saved[2]
    with pytest.raises(ValueError, match="D = 2 features, but the current data has D = 3"):
        ic.load_flow(data, dim=3)
    # A file whose network and basis disagree on D (e.g. edited by hand).
    flow3, _ = _flow(dim=3)
    tensors = st_load(data)
    tensors.update({k: v for k, v in st_load(checkpoints.to_bytes(flow3)).items() if k.startswith("basis.")})
    with pytest.raises(ValueError, match="inconsistent"):
        ic.load_flow(_rewrite(data, tensors))


def test_wrong_weight_shape(saved):
    data = saved[2]
    tensors = st_load(data)
    tensors["net.net.out.weight"] = torch.zeros(2, 17)
    with pytest.raises(ValueError, match="shape"):
        ic.load_flow(_rewrite(data, tensors))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format_version": "99"}, "version"),
        ({"format": "something-else"}, "not an inflationary-flow model"),
        ({"network": json.dumps({"architecture": "unet-9000", "dim": 2})}, "architecture"),
        ({"schedule": "{not json"}, "not valid JSON"),
        ({"schedule": json.dumps({"family": "warp"})}, "Unknown schedule family"),
        ({"basis": json.dumps({})}, "standardised"),
    ],
)
def test_bad_metadata(saved, change, message):
    with pytest.raises(ValueError, match=message):
        ic.load_flow(_rewrite(saved[2], **change))


def test_foreign_and_oversized_files(tmp_path, saved, monkeypatch):
    with pytest.raises(ValueError, match="not an inflationary-flow model"):
        ic.load_flow(st_save({"w": torch.zeros(2)}))
    with pytest.raises(ValueError, match="not a .safetensors"):
        ic.load_flow(struct.pack("<Q", 10) + b"\xff" * 10)
    with pytest.raises(ValueError, match="No model file"):
        ic.load_flow(tmp_path / "missing.safetensors")
    monkeypatch.setattr(checkpoints, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="larger than"):
        ic.load_flow(saved[2])


def test_exact_flows_are_not_saved(saved):
    flow, X, _ = saved
    exact = ic.InflationaryFlow(flow.basis, flow.schedule, ic.EmpiricalDenoiser(flow.basis.to_eigen(X)))
    with pytest.raises(ValueError, match="Only learned"):
        checkpoints.to_bytes(exact)
    with pytest.raises(ValueError, match="JSON"):
        checkpoints.to_bytes(flow, card={"bad": float("nan")})


# --------------------------------------------------------------------------- hostile files (issue 12)
def _with_header(data: bytes, text: str) -> bytes:
    """The file with its header replaced by raw text (the payload kept)."""
    (size,) = struct.unpack("<Q", data[:8])
    return struct.pack("<Q", len(text.encode())) + text.encode() + data[8 + size :]


def _header_text(data: bytes) -> str:
    (size,) = struct.unpack("<Q", data[:8])
    return data[8 : 8 + size].decode()


@pytest.mark.parametrize("offsets", ["null", "1e400", "[0]", "[0, 1e400]", "[16, 0]", '["0", "16"]'])
def test_malformed_data_offsets_are_value_errors(saved, offsets):
    data = saved[2]
    header = json.loads(_header_text(data))
    text = json.dumps({**header, "basis.mean": {**header["basis.mean"], "data_offsets": "OFFSETS"}})
    with pytest.raises(ValueError, match="malformed entry"):
        ic.load_flow(_with_header(data, text.replace('"OFFSETS"', offsets)))


@pytest.mark.parametrize("key", ["schedule", "card", "network"])
def test_deeply_nested_json_is_a_value_error_not_a_recursion_error(saved, key):
    with pytest.raises(ValueError, match="not valid JSON|nested"):
        ic.load_flow(_rewrite(saved[2], **{key: "[" * 100_000 + "]" * 100_000}))
    with pytest.raises(ValueError, match="nested"):
        ic.load_flow(_rewrite(saved[2], **{key: '{"a":' * 50 + "1" + "}" * 50}))
    header = _header_text(saved[2])
    with pytest.raises(ValueError, match="not a .safetensors"):
        ic.load_flow(_with_header(saved[2], header[:-1] + ', "x": ' + "[" * 50_000 + "]" * 50_000 + "}"))


@pytest.mark.parametrize(
    "change, name",
    [
        ({"gamma0": "abc"}, "gamma0"),
        ({"kappa": None}, "kappa"),
        ({"dims_to_keep": [1]}, "dims_to_keep"),
        ({"dims_to_keep": True}, "dims_to_keep"),
    ],
)
def test_schedule_fields_of_the_wrong_type_are_value_errors(saved, change, name):
    flow = saved[0]
    with pytest.raises(ValueError, match=f"^{name} must be"):
        ic.load_flow(_rewrite(saved[2], schedule=json.dumps({**flow.schedule.to_dict(), **change})))


@pytest.mark.parametrize(
    "card, message",
    [
        ({"data": [1, 2]}, "'data' section must be an object"),
        ({"data": "circles"}, "'data' section must be an object"),
        ({"schedule": {"family": "reducing", "gamma0": 5e-4}}, "lacks dims_to_keep and inflation_gap"),
        ({"data": {"filename": "x" * 5000}}, "data.filename is 5000 characters long"),
        ({"training": {"steps": "many"}}, "training.steps must be a whole number"),
    ],
)
def test_bad_cards_are_refused_at_load(saved, card, message):
    with pytest.raises(ValueError, match=message):
        ic.load_flow(_rewrite(saved[2], card=json.dumps(card)))


def test_validate_card_returns_plain_sections_the_app_can_index():
    card = checkpoints.validate_card(
        {
            "data": {"dataset": "circles", "n": np.int64(2000), "noise": None},
            "quality": {"energy": np.float32(0.5), "pairs": (1, 2)},
        }
    )
    assert card["data"]["dataset"] == "circles" and type(card["data"]["n"]) is int
    assert type(card["quality"]["energy"]) is float and card["quality"]["pairs"] == [1, 2]
    assert card["schedule"] == {} and card["training"] == {} and card["network"] == {}
    assert checkpoints.validate_card(card) == card
    with pytest.raises(ValueError, match="JSON object"):
        checkpoints.validate_card([1])


def test_loaded_card_states_the_schedule_the_flow_really_uses(saved):
    flow, _, data = saved
    other = {**flow.schedule.to_dict(), "rho": 2.0}
    loaded = ic.load_flow(_rewrite(data, card=json.dumps({"schedule": other})))
    assert loaded.card["schedule"] == flow.schedule.to_dict()
    assert loaded.card["network"] == flow.denoiser.config()
