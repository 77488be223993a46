"""Inference and likelihood through the flow (MATH.md 11, 12), each figure next to a same-run baseline.

    python bench/inference.py [--threads 1] [--replicates 200] [--n 500] [--draws 99] [--probes 16]
                              [--sections posterior sbc circles digits]
                              [--sbc-runs exact exact-reducing euler learned]

1. Posterior over the paper preset's mixture weights from 2,000 simulated circles points (exact empirical
   flow, isotropic): Gibbs time including the encoding (target < 3 s) against the grid oracle and HMC on
   the same codes, and the Gibbs - grid difference of the posterior means.
2. Simulation-based calibration, R replicates x n points, L draws, dopri5 at tolerance 1e-5: chi-square
   p-values per weight for the exact flows (isotropic, and reducing to 1) and the shipped circles models,
   with 5-step Euler (the negative control) on the exact isotropic flow; seconds and NFE of each.
3. Log-likelihood: held-out circles NLL under the shipped models against a full-covariance Gaussian fit
   (nats and bits/dim); the released recipe's cost per log-probability (Euler, 701 steps) against dopri5,
   both scored against dopri5 at 1e-8; bits/dim of held-out 8x8 digits (uniformly dequantised, Hutchinson
   with 16 probes) under the shipped digits models against a full-covariance Gaussian and the uniform
   distribution (log2 17 = 4.09).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inflow_core as ic  # noqa: E402
from inflow_core import inference as inf  # noqa: E402
from inflow_core import likelihood as lk  # noqa: E402
from scripts.train_digits import split as digits_split  # noqa: E402

MODELS = ROOT / "assets" / "models"
WEIGHTS = np.array(inf.PAPER_WEIGHTS)


def exact_flow(reducing: bool = False) -> ic.InflationaryFlow:
    """The exact (empirical-denoiser) flow of 2,000 circles points: isotropic, or reducing to 1."""
    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    basis = ic.EigenBasis.fit(X)
    lam = basis.eigenvalues
    schedule = ic.Schedule.reducing(lam, 1) if reducing else ic.Schedule.isotropic(lam)
    return ic.InflationaryFlow(basis, schedule, ic.EmpiricalDenoiser(basis.to_eigen(X)))


def timed(fn, *args, **kwargs):
    """(result, "wall/CPU" seconds, wall seconds, CPU seconds). On one thread the process CPU time is
    close to what the wall time would be on an idle machine; the shared machine's load inflates the wall."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return out, f"{wall:.1f}/{cpu:.1f}", wall, cpu


def posterior_section(flow: ic.InflationaryFlow) -> None:
    mix = inf.LatentMixture.paper_preset()
    X, _ = inf.simulate(flow, mix, WEIGHTS, n=2000, seed=0)
    inf.posterior_weights(flow, X[:50], mix, draws=50)  # warm-up
    gibbs, t_gibbs, wall, cpu = timed(inf.posterior_weights, flow, X, mix, method="gibbs", draws=2000, seed=0)
    grid, t_grid, *_ = timed(inf.posterior_weights, flow, None, mix, method="grid", latents=gibbs.latents)
    hmc, t_hmc, *_ = timed(inf.posterior_weights, flow, None, mix, method="hmc", latents=gibbs.latents)
    print(
        "\n1. Posterior over the paper preset's weights (0.5, 0.25, 0.25), 2,000 simulated points, exact "
        "isotropic circles flow, 2,000 draws"
    )
    print(f"{'method':<30}{'wall/CPU s':>12}  {'mean':<26}{'95 % intervals'}")
    rows = (
        ("gibbs incl. encoding", gibbs, t_gibbs),
        ("grid oracle (same codes)", grid, t_grid),
        ("hmc, 4 chains (same codes)", hmc, t_hmc),
    )
    for name, post, seconds in rows:
        intervals = "  ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in post.interval95)
        print(f"{name:<30}{seconds:>12}  {np.array2string(post.mean, precision=4):<26}{intervals}")
    print(f"  encoding: {gibbs.encode_stats.describe()} (wall)")
    print(
        f"  |gibbs - grid| of the means: {np.abs(gibbs.mean - grid.mean).max():.4f} (target < 0.005); "
        f"HMC R-hat {np.array2string(hmc.rhat, precision=3)}, ESS {np.array2string(hmc.ess, precision=0)}"
    )
    print(
        f"  target < 3 s incl. encoding: {'met' if wall < 3 else 'NOT met'} on wall time ({wall:.1f} s), "
        f"{'met' if cpu < 3 else 'NOT met'} on CPU time ({cpu:.1f} s)"
    )


def sbc_section(exact: ic.InflationaryFlow, learned: dict, args) -> None:
    mix = inf.LatentMixture.paper_preset()
    print(
        f"\n2. SBC: {args.replicates} replicates x {args.n} points, {args.draws} draws (Gibbs, thinned by "
        f"{inf.SBC_THIN}), uniform Dirichlet prior; p-values of the chi-square uniformity test per weight"
    )
    print(f"{'flow':<42}{'p-values':<30}{'wall/CPU s':>14}{'NFE':>7}")
    runs = {
        "exact": [("exact isotropic", exact, {})],
        "exact-reducing": [("exact reducing to 1", exact_flow(reducing=True), {})],
        "euler": [
            (
                "exact isotropic, Euler 5 steps (control)",
                exact,
                {"solver_method": "euler", "step_size": exact.schedule.t_max / 5},
            )
        ],
        "learned": [(name, flow, {}) for name, flow in learned.items()],
    }
    for name, flow, solver in [run for key in args.sbc_runs for run in runs[key]]:
        res, seconds, *_ = timed(
            inf.sbc, flow, mix, replicates=args.replicates, n=args.n, draws=args.draws, seed=0, **solver
        )
        p_values = "  ".join(f"{p:.2g}" for p in res.p_values)
        print(f"{name:<42}{p_values:<30}{seconds:>14}{res.nfe:>7d}", flush=True)


def gaussian_log_density(X_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Full-covariance Gaussian fitted to X_train (maximum likelihood), log-density at X."""
    from scipy.stats import multivariate_normal

    return multivariate_normal(X_train.mean(axis=0), np.cov(X_train, rowvar=False, bias=True)).logpdf(X)


def circles_likelihood_section(learned: dict) -> None:
    X_train, _ = ic.datasets.load("circles", n=2000, seed=0)
    X_test, _ = ic.datasets.load("circles", n=2000, seed=1)
    dim = X_test.shape[1]
    print(
        "\n3a. Held-out circles (2,000 points, seed 1): mean negative log-likelihood, exact divergence, "
        "dopri5 1e-5"
    )
    print(f"{'model':<34}{'NLL (nats)':>11}{'bits/dim':>10}{'wall/CPU s':>12}{'NFE':>6}")
    base = -gaussian_log_density(X_train, X_test).mean()
    print(f"{'Gaussian fit (baseline)':<34}{base:>11.3f}{base / (dim * np.log(2)):>10.3f}")
    for name, flow in learned.items():
        lp, seconds, *_ = timed(flow.log_prob, X_test)
        nll, label = -lp.total.mean(), f"{name} (Gaussian prior)"
        bits = nll / (dim * np.log(2))
        print(f"{label:<34}{nll:>11.3f}{bits:>10.3f}{seconds:>12}{lp.nfe:>6d}", flush=True)
    flow = learned["learned isotropic"]
    reference = flow.log_prob(X_test[:200], rtol=1e-8, atol=1e-8).total
    print("  cost per log-probability, 200 points, error = max |log p - log p at dopri5 1e-8|:")
    for label, solver in (
        ("dopri5 1e-5 (default)", {}),
        ("Euler, 701 steps (released recipe)", {"method": "euler", "step_size": flow.schedule.t_max / 701}),
    ):
        lp, seconds, *_ = timed(flow.log_prob, X_test[:200], **solver)
        error = np.abs(lp.total - reference).max()
        print(f"  {label:<36} {seconds:>11} s  NFE {lp.nfe:4d}  error {error:.1e}")


def digits_section(probes: int) -> None:
    X_train, _, X_test, _ = digits_split()
    dim = X_test.shape[1]
    train_deq, test_deq = lk.dequantize(X_train, seed=1), lk.dequantize(X_test, seed=2)
    print(
        f"\n3b. Held-out digits ({len(X_test)}, uniformly dequantised, bin width 1): discrete bits/dim "
        f"(Hutchinson, {probes} probes, dopri5 1e-5)"
    )
    print(f"{'model':<34}{'bits/dim':>9}{'+- SE':>8}{'wall/CPU s':>12}{'NFE':>6}")
    print(f"{'uniform on 0..16':<34}{np.log2(17):>9.3f}")
    gauss = lk.discrete_bits_per_dim(gaussian_log_density(train_deq, test_deq), dim).mean()
    print(f"{'full-covariance Gaussian':<34}{gauss:>9.3f}")
    for d in (2, 10):
        flow = ic.load_flow(MODELS / f"digits_reducing{d}.safetensors")
        lp, seconds, *_ = timed(flow.log_prob, test_deq, probes=probes, seed=0)
        bits = lk.discrete_bits_per_dim(lp.total, dim)
        se = np.sqrt((lp.se**2).sum()) / len(lp.se) / (dim * np.log(2))
        print(
            f"{f'digits_reducing{d} (Gaussian prior)':<34}{bits.mean():>9.3f}{se:>8.3f}{seconds:>12}"
            f"{lp.nfe:>6d}",
            flush=True,
        )
        print(
            f"    median {np.median(bits):.2f}; mean latent prior {lp.prior.mean():.0f} nats, mean l(T) "
            f"{lp.log_det.mean():.0f} nats"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: small float64 solves on the shared 2 cores are fastest so)",
    )
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--draws", type=int, default=99)
    parser.add_argument("--probes", type=int, default=16)
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["posterior", "sbc", "circles", "digits"],
        choices=["posterior", "sbc", "circles", "digits"],
    )
    parser.add_argument(
        "--sbc-runs",
        nargs="+",
        default=["exact", "exact-reducing", "euler", "learned"],
        choices=["exact", "exact-reducing", "euler", "learned"],
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    exact = exact_flow()
    learned = {
        f"learned {family}": ic.load_flow(MODELS / f"circles_{family}.safetensors")
        for family in ("isotropic", "reducing")
    }
    if "posterior" in args.sections:
        posterior_section(exact)
    if "sbc" in args.sections:
        sbc_section(exact, learned, args)
    if "circles" in args.sections:
        circles_likelihood_section(learned)
    if "digits" in args.sections:
        digits_section(args.probes)
    print(f"\ntotal {time.perf_counter() - start:.0f} s; load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
