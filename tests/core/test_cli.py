"""Command line: train -> sample -> encode end to end, user errors, and torchrun (gloo) data parallelism."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import inflow_core as ic
from inflow_core.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_train_sample_encode(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert (
        main(
            [
                "train",
                "--dataset",
                "circles",
                "--schedule",
                "reducing",
                "--keep",
                "1",
                "--steps",
                "20",
                "--width",
                "16",
                "--depth",
                "1",
                "--device",
                "cpu",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    flow = ic.load_flow(model)
    assert flow.schedule.family == "reducing" and flow.schedule.dims_to_keep == 1
    assert flow.card["data"]["dataset"] == "circles" and flow.card["training"]["steps"] == 20
    assert flow.card["data"]["fresh_samples"] is True
    assert main(["sample", "--model", str(model), "--n", "64", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (64, 2) and np.isfinite(samples).all()
    np.savetxt(tmp_path / "x.csv", samples[:10], delimiter=",", header="a,b", comments="")
    assert (
        main(
            [
                "encode",
                "--model",
                str(model),
                "--data",
                str(tmp_path / "x.csv"),
                "--out",
                str(tmp_path / "u.csv"),
            ]
        )
        == 0
    )
    latents = np.loadtxt(tmp_path / "u.csv", delimiter=",")
    np.testing.assert_allclose(latents, flow.encode(samples[:10]), rtol=1e-9, atol=1e-9)
    assert "saved" in capsys.readouterr().out


def test_digits_train_on_their_fixed_set(tmp_path):
    model = tmp_path / "d.safetensors"
    assert (
        main(
            [
                "train",
                "--dataset",
                "digits",
                "--schedule",
                "reducing",
                "--keep",
                "2",
                "--steps",
                "2",
                "--width",
                "16",
                "--depth",
                "1",
                "--batch-size",
                "64",
                "--device",
                "cpu",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    card = ic.load_flow(model).card
    assert card["data"]["fresh_samples"] is False and card["data"]["dim"] == 64


def test_user_errors_exit_with_a_message(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "exactly one of --dataset" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04\x95 not a model at all")
    assert main(["sample", "--model", str(bad), "--out", str(tmp_path / "s.npy")]) == 2
    assert "error:" in capsys.readouterr().err


def test_sample_takes_a_shipped_model_by_name(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", "--model", "circles_isotropic", "--n", "20", "--out", str(out)]) == 0
    samples = np.load(out)
    assert samples.shape == (20, 2) and np.isfinite(samples).all()
    assert main(["sample", "--model", "circles_isotropc", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no shipped model" in err and "circles_isotropic" in err and "digits_reducing2" in err


def _cli_train(prefix: list[str], out: Path) -> np.ndarray:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = prefix + [
        "-m",
        "inflow_core",
        "train",
        "--dataset",
        "circles",
        "--steps",
        "30",
        "--seed",
        "1",
        "--batch-size",
        "512",
        "--device",
        "cpu",
        "--out",
        str(out / "m.safetensors"),
        "--history",
        str(out / "h.csv"),
    ]
    subprocess.run(cmd, check=True, env=env, cwd=out, capture_output=True, timeout=300)
    return np.loadtxt(out / "h.csv", delimiter=",", skiprows=1)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_torchrun_gloo_matches_one_process(tmp_path):
    # ~10 s. Every rank draws the same global batch from the same seed and trains on its half, and DDP
    # averages the two half-batch gradients, so the run is the single-process one up to the order of
    # float32 sums: measured relative differences ~1e-7 per step. 1e-4 leaves room for that rounding
    # to grow over 30 Adam steps while any real difference (other batches, unsynced gradients, other
    # learning rates: ~2 % loss noise per step) fails.
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = _cli_train([sys.executable], tmp_path / "one")
    two = _cli_train(["torchrun", "--standalone", "--nproc_per_node=2"], tmp_path / "two")
    assert one.shape == two.shape == (30, 2)
    np.testing.assert_array_equal(one[:, 0], two[:, 0])
    np.testing.assert_allclose(two[:, 1], one[:, 1], rtol=1e-4)
    a, b = ic.load_flow(tmp_path / "one" / "m.safetensors"), ic.load_flow(tmp_path / "two" / "m.safetensors")
    assert b.card["training"]["processes"] == 2
    u = torch.as_tensor(a.to_flow(ic.datasets.load("circles", n=200, seed=3)[0]))
    torch.testing.assert_close(b.field(2.0, u), a.field(2.0, u), rtol=1e-4, atol=1e-6)
