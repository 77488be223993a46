"""Command line: ``python -m inflow_core train|sample|encode ...`` (see ``--help``).

``train`` runs data-parallel when started by ``torchrun`` (NCCL on CUDA, gloo on CPU); rank 0 shows
the progress bar and writes the model.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from . import datasets, quality
from .basis import EigenBasis
from .checkpoints import load_flow, save_flow, shipped_models
from .schedules import FAMILIES, Schedule
from .training import DEVICES, TrainConfig, TrainingDiverged, resolve_device, train

MODEL_HELP = "a .safetensors file, or the name of a shipped model (e.g. circles_isotropic)"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors a user can cause print one line, status 2)."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TrainingDiverged) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inflow_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(required=True, metavar="command")

    t = sub.add_parser("train", help="train a learned flow and save it as .safetensors")
    t.add_argument("--dataset", choices=[k for k in datasets.REGISTRY], help="built-in dataset")
    t.add_argument("--data", type=Path, help="or your own .csv/.npy file (numeric columns)")
    t.add_argument("--n", type=int, default=None, help="training points (default: the dataset's default)")
    t.add_argument("--schedule", choices=FAMILIES, default="isotropic")
    t.add_argument("--keep", type=int, default=1, help="dimensions kept by a reducing schedule")
    t.add_argument(
        "--no-fresh",
        action="store_true",
        help="built-in datasets: resample the n training points instead of drawing fresh data "
        "(the digits always do)",
    )
    t.add_argument("--out", type=Path, required=True)
    defaults = TrainConfig()
    t.add_argument("--seconds", type=float, default=defaults.seconds, help="time budget")
    t.add_argument("--steps", type=int, default=None, help="step budget (wins over --seconds)")
    t.add_argument("--batch-size", type=int, default=defaults.batch_size, help="global batch")
    t.add_argument("--lr", type=float, default=defaults.lr)
    t.add_argument("--width", type=int, default=defaults.width)
    t.add_argument("--depth", type=int, default=defaults.depth)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=DEVICES, default="auto")
    # One CPU thread by default: measured on a 2-core machine (width 128, batch 1024), 1 thread 10.6 ms a
    # step vs 6.5 ms with 2 on an idle machine, but 9.5 vs 32.6 ms once the other core is busy.
    t.add_argument("--threads", type=int, default=1, help="CPU threads for training (default 1)")
    t.add_argument("--history", type=Path, help="also write the loss curve (step, loss) as CSV")
    t.set_defaults(run=_train)

    s = sub.add_parser("sample", help="generate data-space samples from a saved model")
    s.add_argument("--model", required=True, help=MODEL_HELP)
    s.add_argument("--n", type=int, default=2000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, required=True, help=".csv or .npy")
    s.set_defaults(run=_sample)

    e = sub.add_parser("encode", help="map data (.csv/.npy) to latent flow coordinates")
    e.add_argument("--model", required=True, help=MODEL_HELP)
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True, help=".csv or .npy")
    e.set_defaults(run=_encode)
    return parser


def _train(args) -> int:
    if (args.dataset is None) == (args.data is None):
        raise ValueError("Give exactly one of --dataset NAME or --data FILE.")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(args.device)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.set_num_threads(max(1, args.threads))  # this process's own setting: the CLI owns its process
    try:
        X, data_info, sampler = _training_data(args)
        basis = EigenBasis.fit(X)
        params = {"dims_to_keep": args.keep} if args.schedule == "reducing" else {}
        schedule = Schedule.create(args.schedule, basis.eigenvalues, **params)
        config = TrainConfig(
            seconds=None if args.steps else args.seconds,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            width=args.width,
            depth=args.depth,
            seed=args.seed,
            device=args.device,
        )
        bar = _ProgressBar(config) if rank == 0 else None
        result = train(
            X, basis, schedule, config, progress=bar and bar.callback, data_info=data_info, sampler=sampler
        )
        if bar:
            bar.close()
        if rank == 0:
            save_flow(result.flow, args.out, result.card)
            if args.history:
                np.savetxt(
                    args.history, np.array(result.history), delimiter=",", header="step,loss", comments=""
                )
            info = result.card["training"]
            print(
                f"saved {args.out}: {info['steps']} steps, {info['samples_seen']:,} samples, "
                f"{info['seconds']:.1f} s on {info['device']} x{info['processes']}, "
                f"final loss {info['final_loss']:.4f}"
            )
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


def _training_data(args):
    """(X, data_info, sampler): built-in datasets train on fresh draws unless --no-fresh."""
    if args.dataset:
        X, _ = datasets.load(args.dataset, n=args.n, seed=args.seed)
        info = {"dataset": args.dataset, "n": len(X), "seed": args.seed, "noise": None}
        fresh = not args.no_fresh and args.dataset not in quality.FIXED_DATASETS
        sampler = quality.fresh_sampler(args.dataset, args.seed) if fresh else None
        return X, info, sampler
    raw = args.data.read_bytes()
    table = datasets.load_table(raw, args.data.name)
    info = {"dataset": "upload", "file": args.data.name, "sha256": hashlib.sha256(raw).hexdigest()}
    return table.X, info, None


class _ProgressBar:
    """tqdm bar fed by the training progress callback (time or step units)."""

    def __init__(self, config: TrainConfig):
        from tqdm import tqdm

        self.by_steps = config.steps is not None
        total = config.steps if self.by_steps else config.seconds
        fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]{postfix}"
        unit = "step" if self.by_steps else "s"
        self.bar = tqdm(total=total, unit=unit, dynamic_ncols=True, bar_format=fmt)

    def callback(self, p) -> None:
        self.bar.n = min(self.bar.total, p.step if self.by_steps else p.elapsed)
        self.bar.set_postfix_str(f"step {p.step}, loss {p.loss:.4f}, lr {p.lr:.2e}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _model(name_or_path: str):
    """Load a model file, or a shipped model by name (e.g. circles_isotropic) when no such file exists."""
    if Path(name_or_path).is_file():
        return load_flow(name_or_path)
    shipped = {m["name"]: m["path"] for m in shipped_models()}
    if name_or_path in shipped:
        return load_flow(shipped[name_or_path])
    raise ValueError(
        f"No model file {name_or_path!r} and no shipped model of that name; shipped models: "
        f"{', '.join(shipped) or 'none installed'}."
    )


def _sample(args) -> int:
    flow = _model(args.model)
    _write(args.out, flow.sample(args.n, seed=args.seed))
    print(f"wrote {args.n} samples to {args.out} ({flow.last_stats.describe()})")
    return 0


def _encode(args) -> int:
    flow = _model(args.model)
    X = datasets.load_table(args.data.read_bytes(), args.data.name).X
    _write(args.out, flow.encode(X))
    print(f"wrote {len(X)} latent points to {args.out} ({flow.last_stats.describe()})")
    return 0


def _write(path: Path, array: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".csv":
        np.savetxt(path, array, delimiter=",")
    else:
        raise ValueError(f"--out must end in .csv or .npy; got {path.name}.")


if __name__ == "__main__":
    sys.exit(main())
