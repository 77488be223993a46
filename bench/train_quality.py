"""Learned-denoiser quality vs training budget on circles (issue 3 acceptance figures).

    python bench/train_quality.py [--budgets 5 10 20 40] [--main 20] [--device cpu] [--batch-size 1024]

(``--main`` is the budget used for the baseline, the 20,000-point comparison and the reduced model;
``bench/gpu_check.sh`` runs this with --device cuda --main 5.)

Prints, from one run: the iid floor; the exact empirical flow of the 2,000 training points; for each
time budget the generation figure (energy distance of 2,000 generated vs 2,000 held-out iid points,
averaged over 3 pairs with the same latent seeds for every model), its ratio to the floor and the
round trip (max error, NFE); the 20-second budget spent with the released recipe's optimiser settings
(Adam lr 1e-5, batch 8192, constant rate) on the same network as the baseline, and the ratio of the
two; a 20,000-point comparison with one fixed latent draw (20 s model vs exact flow); the learned
field's distance to the exact one along trajectories; and circles reduced to 1 dimension (Gaussian
and empirical priors, each against the exact flow under the same prior). First, how fast a run stops
when its stop flag is set (the app's Stop button), next to the time of one training step measured in
the same run. Timings depend on the load of this shared machine: the load average is printed at the
start and the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

import inflow_core as ic  # noqa: E402
from inflow_core import quality  # noqa: E402
from inflow_core.training import TrainConfig, train  # noqa: E402

DATASET, N, SEED = "circles", 2000, 0
RELEASED = dict(lr=1e-5, batch_size=8192, lr_schedule="constant", warmup=0.0)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _train(X, basis, schedule, seconds, device, stop_event=None, **overrides):
    cfg = TrainConfig(**{"seconds": seconds, "seed": SEED, "device": device, **overrides})
    return train(
        X,
        basis,
        schedule,
        cfg,
        data_info={"dataset": DATASET, "n": N, "seed": SEED},
        sampler=quality.fresh_sampler(DATASET, SEED),
        stop_event=stop_event,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="*", default=[5, 10, 20, 40])
    parser.add_argument("--main", type=float, default=20.0, help="budget of the detailed comparisons")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, device {args.device}; {_load()}"
    )
    X, _ = ic.datasets.load(DATASET, n=N, seed=SEED)
    basis = ic.EigenBasis.fit(X)
    iso = ic.Schedule.isotropic(basis.eigenvalues)
    held = quality.iid_draws(DATASET, N, 1, seed=77)[0]
    _stop_latency(X, basis, iso, args.device, args.batch_size)

    floor = quality.iid_floor(DATASET, N)
    print(f"iid floor (2,000 vs 2,000, mean of 10 pairs): {floor:.3e}")
    exact = quality.exact_flow(basis, iso, X)
    exact_q = quality.generation_quality(exact, DATASET)
    print(
        f"exact empirical flow of the {N} training points: {exact_q['energy']:.3e} "
        f"(x{exact_q['energy'] / floor:.2f} floor; pairs {_fmt(exact_q['pairs'])})"
    )

    print(
        f"\nisotropic, default recipe (AdamW 2e-3, warm-up + cosine, batch {args.batch_size}, EMA, "
        "fresh data)"
    )
    print("budget_s  steps  energy     x_floor  pairs                          round_trip_max  nfe_enc/dec")
    models = {}
    for budget in args.budgets:
        res = _train(X, basis, iso, budget, args.device, batch_size=args.batch_size)
        models[budget] = res
        _row(f"{budget:6g}", res, floor, held)
    main_s = args.main
    base = _train(X, basis, iso, main_s, args.device, **RELEASED)
    print(f"released recipe (Adam 1e-5, batch 8192, constant lr), same network, {main_s:g} s:")
    base_q = _row(f"{main_s:6g}", base, floor, held)
    if main_s in models:
        ours = quality.generation_quality(models[main_s].flow, DATASET)["energy"]
        print(f"baseline / default at {main_s:g} s: {base_q / ours:.2f}x the energy distance")

        print("\n20,000 generated points, one fixed latent draw, vs 20,000 held-out points")
        flows = {f"learned_{main_s:g}s": models[main_s].flow, "exact_flow": exact}
        big = quality.large_comparison(flows, DATASET)
        print("  " + ", ".join(f"{k} {v:.3e}" for k, v in big.items()))
        field = quality.field_distance(models[main_s].flow, exact, held[:500])
        print(
            "learned vs exact field along the learned inflation of 500 held-out points, relative RMS "
            "per time: "
            + ", ".join(
                f"t={t:.1f}: {r:.3f}" for t, r in zip(field["times"], field["relative_rms"], strict=True)
            )
        )
        print(
            f"RMS distance between the learned and exact encodings of those points: "
            f"{field['latent_gap']:.3f} latent standard deviations"
        )

    print(f"\ncircles reduced to 1 dimension (inflation gap 2), {main_s:g} s budget")
    red = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    res = _train(X, basis, red, main_s, args.device, batch_size=args.batch_size)
    exact_red = quality.exact_flow(basis, red, X)
    for prior, kwargs in (("gaussian", {}), ("empirical", {"prior": "empirical", "reference": X})):
        learned = quality.generation_quality(res.flow, DATASET, **kwargs)["energy"]
        ref = quality.generation_quality(exact_red, DATASET, **kwargs)["energy"]
        print(
            f"  {prior:9s} prior: learned {learned:.3e} (x{learned / floor:.2f} floor), "
            f"exact flow {ref:.3e} (x{ref / floor:.2f})"
        )
    rt = quality.round_trip(res.flow, held)
    print(
        f"  round trip max {rt['max_error']:.1e} (NFE {rt['nfe_encode']}/{rt['nfe_decode']}, {rt['solver']})"
    )
    print(f"# done {datetime.now(UTC):%H:%M} UTC; {_load()}")


def _stop_latency(X, basis, schedule, device, batch_size, repeats=3) -> None:
    """Seconds from setting the stop flag (from another thread, as the app does) to train() returning,
    against the time of one step of the same network: a prompt stop costs about one step."""
    steps = 100
    timed = _train(X, basis, schedule, None, device, steps=steps, batch_size=batch_size)
    step_s = timed.seconds / steps
    latencies = []
    for _ in range(repeats):
        stop, done = threading.Event(), {}

        def run(stop=stop, done=done):
            _train(X, basis, schedule, 600, device, batch_size=batch_size, stop_event=stop)
            done["at"] = time.perf_counter()

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(1.0)
        stop.set()
        asked = time.perf_counter()
        worker.join()
        latencies.append(done["at"] - asked)
    print(
        f"stop latency (default network, batch {batch_size}, {repeats} runs): median "
        f"{statistics.median(latencies) * 1e3:.0f} ms, max {max(latencies) * 1e3:.0f} ms; "
        f"one training step {step_s * 1e3:.1f} ms ({steps} steps in {timed.seconds:.2f} s); {_load()}",
        flush=True,
    )


def _row(label, res, floor, held) -> float:
    start = time.perf_counter()
    q = quality.generation_quality(res.flow, DATASET)
    rt = quality.round_trip(res.flow, held)
    print(
        f"{label}  {res.history[-1][0]:5d}  {q['energy']:.3e}  {q['energy'] / floor:6.2f}  "
        f"{_fmt(q['pairs']):29s}  {rt['max_error']:.1e}         {rt['nfe_encode']}/{rt['nfe_decode']}"
        f"   (measured in {time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    return q["energy"]


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.2e}" for v in values) + "]"


if __name__ == "__main__":
    main()
