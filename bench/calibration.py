"""Coverage tables (docs/MATH.md section 9) for exact and learned flows: the figures of issue 5.

    python bench/calibration.py [--n-test 20000] [--circles-n-test 5000]
                                [--only gaussian2d,gaussian3d,shipped,circles,coarse]

Prints one table per flow with the change after generation and after the round trip (percentage
points, worst radius), the run time and the number of field evaluations. For circles flows it also
encodes 2,000 fresh circle points (seed 1) and reports their coverage of each latent ball
(data_inside), compared with the chi-square nominal. The exact empirical flow costs O(points x 2,000
references) per field evaluation, hence its smaller default number of test points.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inflow_core as ic  # noqa: E402

COLUMNS = [
    "radius",
    "nominal",
    "initial",
    "after_generation",
    "after_round_trip",
    "initial_se",
    "boundary_points",
    "data_inside",
]


def gaussian(dim: int):
    X, _ = ic.datasets.load("gaussian", n=4000, seed=0, dim=dim)
    basis = ic.EigenBasis.fit(X)
    sched = ic.Schedule.isotropic(basis.eigenvalues)
    return ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))


def circles(family: str):
    X, _ = ic.datasets.load("circles", seed=0)
    basis = ic.EigenBasis.fit(X, standardize=False)
    return ic.InflationaryFlow(
        basis, ic.Schedule.create(family, basis.eigenvalues), ic.EmpiricalDenoiser(basis.to_eigen(X))
    )


def report(name: str, flow, n_test: int, data=None, **solver) -> dict:
    start = time.perf_counter()
    table = ic.calibration.coverage(flow, n_test=n_test, data=data, **solver)
    seconds = time.perf_counter() - start
    gen = np.abs(table["after_generation"] - table["initial"]).max()
    rt = np.abs(table["after_round_trip"] - table["initial"]).max()
    nominal = np.abs(table["initial"] - table["nominal"]).max()
    print(f"\n### {name}\n")
    print(table[[c for c in COLUMNS if c in table]].round(2).to_string(index=False))
    print(
        f"\nmax |initial - nominal| = {nominal:.2f}; max |after generation - initial| = {gen:.2f}; "
        f"max |after round trip - initial| = {rt:.2f} points; {seconds:.1f} s, {table.attrs['nfe']} field "
        f"evaluations ({table.attrs['solver']})",
        flush=True,
    )
    data_gap = np.abs(table["data_inside"] - table["nominal"]).max() if data is not None else np.nan
    if data is not None:
        print(
            f"max |data inside - nominal| = {data_gap:.2f} points (SE up to "
            f"{table['data_inside_se'].max():.2f})"
        )
    return {
        "flow": name,
        "n_test": n_test,
        "initial_vs_nominal": nominal,
        "generation": gen,
        "round_trip": rt,
        "data_vs_nominal": data_gap,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument("--circles-n-test", type=int, default=5000)
    parser.add_argument("--only", default="gaussian2d,gaussian3d,shipped,circles,coarse")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows = []
    if "gaussian2d" in only:
        rows.append(report("exact Gaussian flow, 2-D (isotropic)", gaussian(2), args.n_test))
    if "gaussian3d" in only:
        rows.append(report("exact Gaussian flow, 3-D (isotropic)", gaussian(3), args.n_test))
    fresh, _ = ic.datasets.load("circles", n=2000, seed=1)
    if "shipped" in only:
        for family in ("isotropic", "reducing"):
            path = ic.resources.asset_path("models", f"circles_{family}.safetensors")
            if path.exists():
                rows.append(
                    report(
                        f"shipped circles model ({family})", ic.load_flow(str(path)), args.n_test, data=fresh
                    )
                )
            else:
                print(f"\n(no shipped model at {path})")
    if "circles" in only:
        for family in ("isotropic", "reducing"):
            rows.append(
                report(
                    f"exact empirical circles flow ({family})",
                    circles(family),
                    args.circles_n_test,
                    data=fresh,
                )
            )
    if "coarse" in only:
        rows.append(
            report(
                "exact empirical circles flow (isotropic), coarse solver (euler, step 0.5)",
                circles("isotropic"),
                args.circles_n_test,
                data=fresh,
                method="euler",
                step_size=0.5,
            )
        )
    print("\n### summary (worst radius, percentage points)\n")
    print(pd.DataFrame(rows).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
