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
    assert back.card == flow.card and back.denoiser.kind == "network"
    assert back.dtype == torch.float64 and back.device.type == "cpu"


def test_bytes_round_trip_and_explicit_card(saved):
    flow, X, data = saved
    back = ic.load_flow(data)
    np.testing.assert_array_equal(back.decode(flow.encode(X[:5])), flow.decode(flow.encode(X[:5])))
    other = ic.load_flow(checkpoints.to_bytes(flow, card={"x": 1}))
    assert other.card == {"x": 1}


def test_asset_is_a_model_plus_its_readable_card(tmp_path, saved):
    flow, X, _ = saved
    card = {"data": {"dataset": "gaussian"}, "quality": {"energy": 1e-3}}
    checkpoints.save_asset(flow, card, "toy", tmp_path)
    assert json.loads((tmp_path / "toy.json").read_text()) == card
    loaded = ic.load_flow(tmp_path / "toy.safetensors")
    assert loaded.card == card
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
