"""Dimension reduction of the 64-D digits: reducing flows (d = 2, 5, 10) and an isotropic flow, each figure
next to its baseline measured in the same run.

    python bench/digits.py [--dims 2 5 10] [--steps 6000] [--no-isotropic]

Each flow is trained exactly like the shipped models (scripts/train_digits.py: 1,200 training digits,
width 128, a step budget, one CPU thread) and measured on the 597 held-out digits with
inflow_core.reduction.evaluate: training time, round trip, reconstruction RMS through d dims vs PCA with
the same d, trustworthiness / continuity / k-NN label agreement (k = 10) of the flow's latent vs PCA vs
UMAP, and the energy distance of generated digits to held-out digits vs the floor (two held-out halves).
Takes ~12 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import inflow_core as ic  # noqa: E402
from inflow_core import reduction  # noqa: E402
from inflow_core.training import TrainConfig, train  # noqa: E402
from scripts.train_digits import N_TRAIN, SEED, STEPS, WIDTH, split, train_model  # noqa: E402


def isotropic(X_train, steps: int):
    """The isotropic flow (all 64 dimensions kept), trained like the reducing ones."""
    basis = ic.EigenBasis.fit(X_train, standardize=False)
    schedule = ic.Schedule.isotropic(basis.eigenvalues)
    config = TrainConfig(seconds=None, steps=steps, width=WIDTH, seed=SEED, device="cpu")
    return train(X_train, basis, schedule, config)


def row(name: str, seconds: float, q: dict) -> str:
    rec, nb, gen, trip = q["reconstruction_rms"], q["neighbourhood"], q["generation"], q["round_trip"]

    def scores(key: str) -> str:
        return "  ".join(f"{nb.get(m, {}).get(key, float('nan')):.3f}" for m in ("flow", "pca", "umap"))

    return (
        f"{name:>9s} {seconds:6.0f} {trip['max_error']:9.1e} {trip['mean_error']:9.1e} "
        f"{rec['flow']:6.2f} {rec['pca']:6.2f}   {scores('trustworthiness')}   "
        f"{scores('label_agreement')}   {gen['gaussian']:.3f} {gen.get('empirical', float('nan')):.3f} "
        f"{gen['floor']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--no-isotropic", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    X_train, _, X_test, labels_test = split()
    print(
        f"digits: {N_TRAIN} training, {len(X_test)} held-out; {args.steps} steps, width {WIDTH}, 1 thread; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    print(
        "reconstruction: RMS pixel error (0-16 scale) through d dims; trustworthiness and k-NN label "
        "agreement (k = 10) for flow / PCA / UMAP; energy distance of generated vs held-out digits with "
        "the Gaussian and the empirical prior, and the floor (two held-out halves, same sizes)."
    )
    print(
        f"{'d':>9s} {'train s':>6s} {'trip max':>9s} {'trip mean':>9s} {'flow':>6s} {'PCA':>6s}   "
        f"{'trust flow   PCA  UMAP':23s}   {'agree flow   PCA  UMAP':23s}   gauss   emp floor"
    )
    runs = [(str(d), lambda d=d: train_model(d, X_train, args.steps), True) for d in args.dims]
    if not args.no_isotropic:
        runs.append(("isotropic", lambda: isotropic(X_train, args.steps), False))
    for name, fit, with_umap in runs:
        start = time.perf_counter()
        result = fit()
        seconds = time.perf_counter() - start
        q = reduction.evaluate(result.flow, X_train, X_test, labels_test, k=10, with_umap=with_umap)
        print(row(name, seconds, q), flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
