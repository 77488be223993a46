"""Hostile input (issue 12): how the library answers the fuzz corpus, what loading it costs in memory,
and how fast hopeless schedules are refused.

Prints, for the corpus in tests/core/fuzz/hostile_corpus.py: cases tried / clear ValueError / valid
and loaded / anything else (must be 0) for model files, tables, schedule and dataset parameters; the
largest rise of the peak resident memory while loading one corpus file (a fresh process, Linux); the
CPU seconds until the inflation-gap-1e6 schedule and an over-stiff one are refused, against the
157 s the same request cost before the fix; and the stiffness calibration: every normal schedule's
stiffness against MAX_STIFFNESS, and the exact flow's solver cost as stiffness grows.

    python bench/hostile_input.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "core" / "fuzz"), str(ROOT)]

import hostile_corpus as hc  # noqa: E402

import inflow_core as ic  # noqa: E402
from inflow_core import checkpoints, datasets, schedules  # noqa: E402


def tally(title: str, cases: dict, run) -> None:
    counts = {"value_error": 0, "loaded": 0, "wrong": []}
    for name, case in cases.items():
        try:
            run(case)
            outcome = "loaded"
        except ValueError:
            outcome = "value_error"
        except Exception as err:  # anything else is a bug: list it
            counts["wrong"].append(f"{name}: {type(err).__name__}")
            continue
        if (outcome == "loaded") != case.valid:
            counts["wrong"].append(f"{name}: {outcome} although valid={case.valid}")
        else:
            counts[outcome] += 1
    print(
        f"{title:22s} tried {len(cases):4d}   clear ValueError {counts['value_error']:4d}   valid and "
        f"loaded {counts['loaded']:3d}   other {len(counts['wrong'])}"
    )
    for wrong in counts["wrong"]:
        print(f"    {wrong}")


def cpu_seconds_until_refused(build) -> tuple[float, str]:
    start = time.process_time()
    try:
        build()
        message = "NOT REFUSED"
    except ValueError as err:
        message = str(err)
    return time.process_time() - start, message


def main() -> None:
    torch.set_num_threads(1)
    print("== corpus (tests/core/fuzz/hostile_corpus.py)")
    lam = np.array([1.0, 0.5])
    tally("model files", hc.model_files(), lambda c: ic.load_flow(c.data))
    tally("tables", hc.tables(), lambda c: datasets.load_table(c.data, c.filename, c.label_column))
    tally(
        "schedule parameters", hc.schedule_params(), lambda c: ic.Schedule.create(eigenvalues=lam, **c.kwargs)
    )
    tally("dataset parameters", hc.dataset_params(), lambda c: datasets.load(**c.kwargs))

    print("\n== peak memory while loading one corpus file, above the resident size just before it")
    rises = hc.peak_memory_of_loading()
    top = sorted(rises, key=rises.get, reverse=True)[:3]
    print(f"{len(rises)} files; largest rises: " + "; ".join(f"{rises[k] / 2**20:.1f} MB ({k})" for k in top))
    print(
        "(before the fix the 2.4 KB 'width 4096 depth 64' file alone raised it by 4.1 GB: the same "
        "measurement run on the previous commit's library)"
    )

    print(
        "\n== hopeless schedules: CPU seconds from the request to the refusal "
        "(the attack run measured 157 s to a SolverError before the fix)"
    )
    X, _ = datasets.load("circles", n=2000, seed=0)
    basis = ic.EigenBasis.fit(X)
    den = ic.EmpiricalDenoiser(basis.to_eigen(X))
    requests = {
        "reducing d=1, inflation gap 1e6": {"dims_to_keep": 1, "inflation_gap": 1e6},
        "reducing d=1, gap 50, T = 100": {"dims_to_keep": 1, "inflation_gap": 50.0, "t_max": 100.0},
    }
    for title, params in requests.items():
        seconds, message = cpu_seconds_until_refused(
            lambda p=params: ic.InflationaryFlow(
                basis, ic.Schedule.create("reducing", basis.eigenvalues, **p), den
            ).encode(X[:500])
        )
        print(f"{title:34s} {seconds:6.3f} s  {message[:100]}")
    flow = ic.InflationaryFlow(basis, ic.Schedule.reducing(basis.eigenvalues, 1, inflation_gap=20.0), den)
    start, wall = time.process_time(), time.perf_counter()
    try:
        flow.encode(X[:500], max_seconds=5.0)
        print("gap 20 (allowed but slow) finished within a 5 s budget")
    except ic.SolverError as err:
        print(
            f"{'gap 20 (allowed), max_seconds=5':34s} {time.process_time() - start:6.3f} s  (wall "
            f"{time.perf_counter() - wall:.1f} s) {str(err)[:60]}"
        )

    print(f"\n== stiffness calibration (MAX_STIFFNESS = {schedules.MAX_STIFFNESS:g})")
    rows = []
    for name, meta in datasets.REGISTRY.items():
        lam_d = ic.EigenBasis.fit(datasets.load(name, n=min(2000, meta.max_n), seed=0)[0]).eigenvalues
        params = {"dims_to_keep": meta.dims_to_keep} if meta.default_schedule == "reducing" else {}
        rows.append(
            (
                f"{name} default ({meta.default_schedule})",
                ic.Schedule.create(meta.default_schedule, lam_d, **params).stiffness(),
            )
        )
        for family in ("isotropic", "proportional"):
            rows.append((f"{name} {family}", ic.Schedule.create(family, lam_d).stiffness()))
        worst = max(
            ic.Schedule.reducing(lam_d, 1, inflation_gap=gap, gamma0=1e-6, kappa=1e6).stiffness()
            for gap in (2.0, 5.0, 10.0, 20.0)
        )
        rows.append((f"{name} gaps 2-20, gamma0 1e-6, kappa 1e6", worst))
    for model in checkpoints.shipped_models():
        rows.append((f"shipped {model['name']}", ic.load_flow(model["path"]).schedule.stiffness()))
    print(
        f"normal schedules: {len(rows)}, stiffness {min(r[1] for r in rows):.1f} to "
        f"{max(r[1] for r in rows):.1f}; largest: "
        + ", ".join(f"{n} {s:.0f}" for n, s in sorted(rows, key=lambda r: -r[1])[:3])
    )
    print("exact flow cost vs stiffness (circles, 50 reference points, 20 particles, encode, dopri5 1e-5):")
    ref = ic.EmpiricalDenoiser(basis.to_eigen(X[:50]))
    for gap in (2.0, 5.0, 20.0, 50.0):
        sched = ic.Schedule.reducing(basis.eigenvalues, 1, inflation_gap=gap)
        small = ic.InflationaryFlow(basis, sched, ref)
        start = time.process_time()
        small.encode(X[:20])
        print(
            f"  gap {gap:4g}: stiffness {sched.stiffness():6.1f}, NFE {small.last_stats.nfe:5d}, "
            f"{time.process_time() - start:5.2f} CPU s"
        )


if __name__ == "__main__":
    main()
