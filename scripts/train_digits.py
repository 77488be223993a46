"""Train the shipped digits models: the 64-D 8x8 digits reduced to d = 2 and d = 10, with their cards.

    python scripts/train_digits.py [--dims 2 10] [--steps 6000] [--width 128]

Training data: ``datasets.load("digits", n=1200, seed=0)`` (the app's digits with n = 1200, seed 0); the
other 597 digits are held out for the card's figures (reduction.evaluate: round trip, reconstruction
through d dims vs PCA, neighbourhood scores vs PCA, generation distance vs the held-out floor). Pixels
share one unit (ink, 0-16), so the basis does not z-score them: z-scoring would blow up the rarely inked
border pixels into unit-variance dimensions. Reproducible: fixed seeds, a step budget, one CPU thread.
Writes assets/models/digits_reducing<d>.safetensors (card embedded) and the card as .json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import inflow_core as ic  # noqa: E402
from inflow_core import reduction  # noqa: E402
from inflow_core.training import TrainConfig, TrainResult, train  # noqa: E402

N_TRAIN, SEED = 1200, 0
STEPS, WIDTH = 6000, 128


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, labels_train, X_test, labels_test): the app's digits n = 1200 / seed 0, and the rest."""
    X, labels = ic.datasets.load("digits")
    train_idx, test_idx = reduction.holdout_split(len(X), N_TRAIN, SEED)
    return X[train_idx], labels[train_idx], X[test_idx], labels[test_idx]


def train_model(d: int, X_train: np.ndarray, steps: int = STEPS, width: int = WIDTH) -> TrainResult:
    """Train a flow reducing the digits to d dimensions (step budget; the card records the seconds)."""
    basis = ic.EigenBasis.fit(X_train, standardize=False)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=d)
    config = TrainConfig(seconds=None, steps=steps, width=width, seed=SEED, device="cpu")
    data_info = {"dataset": "digits", "n": N_TRAIN, "seed": SEED, "noise": None}
    return train(X_train, basis, schedule, config, data_info=data_info)


def build(d: int, steps: int, width: int, out_dir: Path) -> dict:
    """Train, evaluate on the held-out digits, write model + card; return the card."""
    X_train, _, X_test, labels_test = split()
    result = train_model(d, X_train, steps, width)
    start = time.perf_counter()
    figures = reduction.evaluate(result.flow, X_train, X_test, labels_test, k=10)
    figures["seconds"] = round(time.perf_counter() - start, 1)
    card = dict(
        result.card,
        quality=figures,
        script="scripts/train_digits.py",
        load_average=round(os.getloadavg()[0], 2),
    )
    name = f"digits_reducing{d}"
    ic.checkpoints.save_asset(result.flow, card, name, out_dir)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--out", type=Path, default=ic.resources.asset_path("models"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # small problems on a shared 2-core machine: see TrainConfig.threads
    args.out.mkdir(parents=True, exist_ok=True)
    for d in args.dims:
        card = build(d, args.steps, args.width, args.out)
        q = card["quality"]
        rec, nb, gen = q["reconstruction_rms"], q["neighbourhood"], q["generation"]
        print(
            f"digits d={d:2d}: train {card['training']['seconds']:.0f} s, round trip "
            f"{q['round_trip']['max_error']:.1e}, reconstruction RMS {rec['flow']:.2f} "
            f"(PCA {rec['pca']:.2f}), trustworthiness {nb['flow']['trustworthiness']:.3f} "
            f"(PCA {nb['pca']['trustworthiness']:.3f}), energy {gen['gaussian']:.3f} / empirical prior "
            f"{gen['empirical']:.3f} (floor {gen['floor']:.3f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
