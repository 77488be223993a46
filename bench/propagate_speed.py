"""Speed of uncertainty propagation and of the coverage experiment, each with a same-run baseline.

    python bench/propagate_speed.py

1. ``propagate`` of 100 two-dimensional points (linearised, default tolerance 1e-5) on the exact
   empirical circles flow: variational Jacobian (the default) vs reverse-mode passes through the solve vs
   Monte Carlo with 50 samples per point. Targets: linearised < 2 s.
2. ``coverage`` with 20,000 test points on the exact Gaussian flow (2-D and 3-D) vs the bare cost of
   integrating those test points there and back (what any coverage run must pay). Target: < 60 s.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import inflow_core as ic  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)  # small batches: one thread is fastest on the shared 2-core machine
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    X, _ = ic.datasets.load("circles", seed=0)
    basis = ic.EigenBasis.fit(X, standardize=False)
    flow = ic.InflationaryFlow(
        basis, ic.Schedule.isotropic(basis.eigenvalues), ic.EmpiricalDenoiser(basis.to_eigen(X))
    )
    points = X[np.random.default_rng(0).choice(len(X), 100, replace=False)]
    var, t_var = timed(lambda: ic.uncertainty.propagate(flow, points, 0.01))
    rev, t_rev = timed(lambda: ic.uncertainty.propagate(flow, points, 0.01, jacobian="reverse"))
    mc, t_mc = timed(lambda: ic.uncertainty.propagate(flow, points, 0.01, method="samples", n_samples=50))
    gap = np.median(np.linalg.norm(var.cov - rev.cov, axis=(1, 2)) / np.linalg.norm(var.cov, axis=(1, 2)))
    print("\n1. propagate 100 points, exact empirical circles flow (2,000 references), dopri5 tol 1e-5")
    print(f"   linearised, variational J (default): {t_var:6.2f} s, {var.nfe} field evaluations")
    print(
        f"   linearised, reverse-mode J:          {t_rev:6.2f} s, {rev.nfe} field evaluations "
        f"(median relative difference to variational {gap:.1e})"
    )
    print(f"   Monte Carlo, 50 samples per point:   {t_mc:6.2f} s, {mc.nfe} field evaluations")
    for dim in (2, 3):
        G, _ = ic.datasets.load("gaussian", n=4000, seed=0, dim=dim)
        gb = ic.EigenBasis.fit(G)
        gflow = ic.InflationaryFlow(
            gb, ic.Schedule.isotropic(gb.eigenvalues), ic.GaussianDenoiser(gb.eigenvalues)
        )
        table, t_cov = timed(lambda gflow=gflow: ic.calibration.coverage(gflow, n_test=20000))
        latents = np.random.default_rng(0).standard_normal((20000, dim))
        _, t_base = timed(lambda gflow=gflow, latents=latents: gflow.encode(gflow.decode(latents)))
        print(
            f"\n2. coverage, 20,000 test points, exact Gaussian flow, {dim}-D: {t_cov:6.2f} s "
            f"({table.attrs['nfe']} field evaluations); baseline decode + encode of the test points alone: "
            f"{t_base:6.2f} s"
        )


if __name__ == "__main__":
    main()
