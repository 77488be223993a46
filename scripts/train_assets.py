"""Train the shipped models: 5 built-in datasets x (isotropic, reducing to D - 1), with their cards.

    python scripts/train_assets.py [--steps 2000] [--only circles_isotropic ...]

Reproducible: fixed seeds and a step budget (not a time budget), one CPU thread. Writes
assets/models/<dataset>_<family>.safetensors (card embedded) and the same card as <name>.json,
with the quality figures of inflow_core.quality.report (generation vs iid floor and vs the exact
empirical flow of the 2,000 training points, round trip with NFE).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import inflow_core as ic  # noqa: E402
from inflow_core import quality  # noqa: E402
from inflow_core.training import TrainConfig, train  # noqa: E402

DATASETS = ("circles", "moons", "sine", "swiss_roll", "s_curve")
FAMILIES = ("isotropic", "reducing")
N_TRAIN, SEED = 2000, 0


def build(dataset: str, family: str, steps: int, out_dir: Path) -> dict:
    """Train one model, measure it, write model + card; return the card."""
    X, _ = ic.datasets.load(dataset, n=N_TRAIN, seed=SEED)
    basis = ic.EigenBasis.fit(X)
    params = {"dims_to_keep": basis.dim - 1} if family == "reducing" else {}
    schedule = ic.Schedule.create(family, basis.eigenvalues, **params)
    data_info = {"dataset": dataset, "n": N_TRAIN, "seed": SEED, "noise": None}
    result = train(
        X,
        basis,
        schedule,
        TrainConfig(seconds=None, steps=steps, seed=SEED, device="cpu"),
        data_info=data_info,
        sampler=quality.fresh_sampler(dataset, SEED),
    )
    start = time.perf_counter()
    card = dict(result.card, quality=quality.report(result.flow, dataset, X))
    card["quality"]["seconds"] = round(time.perf_counter() - start, 1)
    card["script"] = "scripts/train_assets.py"
    name = f"{dataset}_{family}"
    ic.checkpoints.save_asset(result.flow, card, name, out_dir)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--only", nargs="*", default=None, help="names like circles_isotropic")
    parser.add_argument("--out", type=Path, default=ic.resources.asset_path("models"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # small problems on a shared 2-core machine: see TrainConfig.threads
    args.out.mkdir(parents=True, exist_ok=True)
    for dataset in DATASETS:
        for family in FAMILIES:
            if args.only and f"{dataset}_{family}" not in args.only:
                continue
            card = build(dataset, family, args.steps, args.out)
            q = card["quality"]
            print(
                f"{dataset:10s} {family:9s} train {card['training']['seconds']:5.1f} s  "
                f"energy {q['energy']:.2e} (floor {q['floor']:.2e}, ratio {q['ratio_to_floor']:.2f}, "
                f"exact flow {q.get('exact_energy', float('nan')):.2e})  "
                f"round trip {q['round_trip']['max_error']:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
