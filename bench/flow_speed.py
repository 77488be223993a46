"""How fast the app can animate a flow: adaptive dopri5 vs the released fixed-step Euler, same run.

    python bench/flow_speed.py [--threads N]

The Flow page's default job: 2,000 circles particles through the exact empirical flow (2,000 reference
points), 60 frames, in the inflate direction, for the isotropic and the reducing-to-1 schedule. The
baseline is the authors' released integrator, Euler with step 0.01. Each is measured for wall time, NFE
(field evaluations) and accuracy: the largest latent error against a dopri5 solve at tolerance 1e-9, and
the round-trip error (decode the latents with the same solver, compare with the data).
Targets: dopri5 under 1.5 s per animation, at least 5x fewer NFE than the baseline, at equal or better
round-trip error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import inflow_core as ic  # noqa: E402


def run(flow: ic.InflationaryFlow, X: np.ndarray, **solver) -> tuple[np.ndarray, float, int]:
    start = time.perf_counter()
    traj = flow.trajectory(X, "inflate", n_frames=60, **solver)
    return traj.states[-1], time.perf_counter() - start, traj.nfe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")

    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    basis = ic.EigenBasis.fit(X)
    denoiser = ic.EmpiricalDenoiser(basis.to_eigen(X))
    schedules = {
        "isotropic": ic.Schedule.isotropic(basis.eigenvalues),
        "reducing to 1": ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1),
    }
    print("\n2,000 circles particles, exact empirical flow, 60 frames, inflate direction")
    print(
        f"{'schedule':<15}{'solver':<28}{'wall (s)':>10}{'NFE':>8}{'max latent error':>18}{'round trip':>12}"
    )
    for name, schedule in schedules.items():
        flow = ic.InflationaryFlow(basis, schedule, denoiser)
        run(flow, X[:50])  # warm-up: first calls pay one-off allocation costs
        reference, _, _ = run(flow, X, rtol=1e-9, atol=1e-9)
        U, wall, nfe = run(flow, X)
        euler = {"method": "euler", "step_size": 0.01}
        U_euler, wall_euler, nfe_euler = run(flow, X, **euler)
        rows = (
            ("dopri5 tol 1e-5 (default)", U, wall, nfe, {}),
            ("euler h=0.01 (baseline)", U_euler, wall_euler, nfe_euler, euler),
        )
        for label, latent, seconds, count, solver in rows:
            error = np.abs(latent - reference).max()
            round_trip = ic.metrics.round_trip_error(X, flow.decode(latent, **solver)).max_abs
            print(f"{name:<15}{label:<28}{seconds:>10.2f}{count:>8d}{error:>18.2e}{round_trip:>12.2e}")
        print(
            f"{'':<15}dopri5 vs baseline: {wall_euler / wall:.1f}x faster, {nfe_euler / nfe:.1f}x fewer "
            f"NFE; target < 1.5 s: {'met' if wall < 1.5 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
