"""Training the learned denoiser (docs/MATH.md 5): fresh noisy batches, AdamW, EMA, budgets, stop flag.

Every step draws a fresh batch: data points (resampled from the training set, or fresh draws from a
sampler), times with log c*(t) uniform (= t ~ U[0, T] for the isotropic and reducing schedules, see
TrainConfig.time_sampling) and noise n ~ N(0, C(t)). Under ``torchrun`` (torch.distributed
initialised) training is data-parallel with DistributedDataParallel; every rank draws the same global
batch from the same seed and trains on its own slice, so the run follows the single-process one with
the same global batch.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np
import torch
import torch.distributed as dist

from .basis import EigenBasis
from .flow import InflationaryFlow
from .networks import NetworkDenoiser
from .schedules import Schedule

DEVICES = ("auto", "cpu", "cuda", "mps")
LR_SCHEDULES = ("cosine", "constant")
TIME_SAMPLINGS = ("uniform", "log-noise")
# Time grid t_k = T (k / (K - 1))^2 on which log c_i(t) is tabulated and linearly interpolated for each
# batch: exact for the isotropic and reducing families (log c is linear in t); for the proportional one,
# whose log c changes fastest near t = 0 (where the grid is densest), it is < 1e-3 (measured 2e-4).
_GRID = 4097
# A loss this many times its unit-variance start (per dimension) means the run has blown up.
_DIVERGED_PER_DIM = 1e4
_PROGRESS_EVERY = 0.1  # seconds between progress callbacks (and loss read-backs from the device)


class TrainingDiverged(ValueError):
    """The loss became NaN, infinite or exploded; the message says what to change."""


@dataclass
class TrainConfig:
    """How to train. A step budget, when given, wins over the time budget."""

    seconds: float | None = 20.0
    steps: int | None = None
    batch_size: int = 1024
    lr: float = 2e-3
    width: int = 128
    depth: int = 4
    # EMA half-life as a fraction of the steps taken so far (a "power" EMA): the average always covers
    # the last few percent of the run whatever the budget, which a fixed half-life cannot do.
    ema_half_life: float = 0.05
    warmup: float = 0.05  # fraction of the budget with a linear learning-rate warm-up
    lr_schedule: str = "cosine"  # "cosine" decay to 0 after warm-up, or "constant" (no schedule)
    # Training times: "uniform" t ~ U[0, T] (docs/MATH.md 5) or "log-noise" (log c*(t) uniform). For the
    # isotropic and reducing families log c is linear in t, so both give the very same times (checked
    # bit for bit on every shipped model). They differ for the proportional family, whose noise grows
    # from gamma0 to ~lam within t ~ 1 and then slowly: uniform t spends little of the budget at small
    # noise, where the data's shape is learned. Measured on circles, 1,500 steps, 2 seeds, 5 pairs:
    # uniform 3.30e-3 / 3.26e-3 (2.2x the iid floor), log-noise 1.87e-3 / 1.94e-3 (1.25x). Hence log-noise.
    time_sampling: str = "log-noise"
    weight_decay: float = 0.0  # AdamW decoupled weight decay; 0 = Adam
    grad_clip: float = 1.0  # max global gradient norm
    seed: int = 0
    device: str = "auto"

    def check(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        if self.steps is None and self.seconds is None:
            raise ValueError("Give a time budget (seconds) or a step budget (steps).")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise ValueError(f"steps must be a whole number >= 1; got {self.steps!r}.")
        if self.seconds is not None and not (np.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be a positive number; got {self.seconds!r}.")
        positive = {
            "batch_size": self.batch_size,
            "lr": self.lr,
            "width": self.width,
            "depth": self.depth,
            "ema_half_life": self.ema_half_life,
            "grad_clip": self.grad_clip,
        }
        for name, value in positive.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive; got {value!r}.")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup is a fraction of the budget in [0, 1); got {self.warmup!r}.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay!r}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {self.lr_schedule!r}."
            )
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {self.device!r}.")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(
                f"time_sampling must be one of {', '.join(TIME_SAMPLINGS)}; got {self.time_sampling!r}."
            )


@dataclass
class Progress:
    """What the progress callback receives, at most ~10 times per second."""

    step: int
    samples_seen: int
    loss: float
    elapsed: float
    eta: float | None
    lr: float


@dataclass
class TrainResult:
    """A trained flow (EMA weights, CPU float64) with its loss history and model card."""

    flow: InflationaryFlow
    history: list[tuple[int, float]]
    stopped: bool
    seconds: float
    card: dict = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if available, then mps, else cpu; an unavailable explicit choice is a ValueError."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {name!r}.")
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ValueError(f"device {name!r} is not available on this machine; use 'cpu' or 'auto'.")
    return torch.device(name)


class _NoiseTable:
    """c_i(t) of a schedule for batches of times, on the training device (log-linear interpolation).

    ``times(u)`` maps uniform draws u to training times: t = u T ("uniform"), or t such that log c*(t)
    is uniform ("log-noise", c* the largest noise). For the isotropic and reducing families log c is
    linear in t, so the two are the same distribution; they differ only for the proportional family.
    """

    def __init__(self, schedule: Schedule, device: torch.device, sampling: str = "uniform"):
        self.t_max = schedule.t_max
        grid = schedule.t_max * np.linspace(0.0, 1.0, _GRID) ** 2
        log_noise = np.log(schedule.noise(grid))
        self.log_noise = torch.as_tensor(log_noise, dtype=torch.float32, device=device)
        levels = np.linspace(0.0, 1.0, _GRID)
        if sampling == "log-noise":
            top = log_noise.max(axis=1)
            t_of_u = np.interp(top[0] + levels * (top[-1] - top[0]), top, grid)
        else:
            t_of_u = levels * schedule.t_max
        self.t_of_u = torch.as_tensor(t_of_u, dtype=torch.float32, device=device)

    def times(self, u: torch.Tensor) -> torch.Tensor:
        pos = u * (_GRID - 1)
        low = pos.floor().long().clamp(max=_GRID - 2)
        w = pos - low
        return (1 - w) * self.t_of_u[low] + w * self.t_of_u[low + 1]

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        pos = (t / self.t_max).clamp(0, 1).sqrt() * (_GRID - 1)
        low = pos.floor().long().clamp(max=_GRID - 2)
        w = (pos - low)[:, None]
        return torch.exp((1 - w) * self.log_noise[low] + w * self.log_noise[low + 1])


class _LossModule(torch.nn.Module):
    """Wraps the denoiser's loss as forward(), which DistributedDataParallel needs to sync gradients."""

    def __init__(self, denoiser: NetworkDenoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, y0, eps, t, noise):
        return self.denoiser.loss(y0, eps, t, noise)


def _lr_factor(progress: float, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero (or constant)."""
    if config.lr_schedule == "constant":
        return 1.0
    if progress < config.warmup:
        return max(progress / config.warmup, 1e-3)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - config.warmup) / (1 - config.warmup))))


def train(
    X: np.ndarray,
    basis: EigenBasis,
    schedule: Schedule,
    config: TrainConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    data_info: dict | None = None,
    sampler: Callable[[int], np.ndarray] | None = None,
    preview: Callable[[int, InflationaryFlow], None] | None = None,
    preview_every: float = 3.0,
) -> TrainResult:
    """Train a NetworkDenoiser on data X (raw units) for ``schedule``; return the EMA flow and its card.

    Batches resample X, unless ``sampler`` is given: then ``sampler(k)`` returns the k-th chunk of fresh
    raw data (a generator of the data distribution, e.g. a built-in dataset with seed k), and batches
    are drawn from a new chunk every len(chunk) // batch_size steps. Fresh data lets the model learn the
    distribution rather than the training sample (whose own sampling error the exact flow reproduces).
    ``preview(step, flow)``, when given, receives a snapshot of the model so far (the EMA weights as a CPU
    float64 flow) about every ``preview_every`` seconds, on the training thread: to watch it learn.
    Raises ValueError on bad settings and TrainingDiverged when the loss blows up.
    """
    config = config or TrainConfig()
    config.check()
    if schedule.dim != basis.dim:
        raise ValueError(f"The schedule has D = {schedule.dim} but the basis has D = {basis.dim}.")
    device = resolve_device(config.device)
    distributed = dist.is_available() and dist.is_initialized()
    if distributed and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())  # torchrun: one GPU per process
    world, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} must be divisible by the {world} processes.")
    local = config.batch_size // world

    torch.manual_seed(config.seed)
    den = NetworkDenoiser(basis.eigenvalues, schedule.t_max, config.width, config.depth).to(device)
    to_device = lambda data: torch.as_tensor(basis.to_eigen(data), dtype=torch.float32, device=device)  # noqa: E731
    Y = to_device(X)
    chunks = None if sampler is None else (to_device(sampler(k)) for k in itertools.count())
    ema = copy.deepcopy(den).requires_grad_(False)
    module = _LossModule(den)
    if distributed:
        ids = [device.index] if device.type == "cuda" else None
        module = torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)
    optimizer = torch.optim.AdamW(den.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    table = _NoiseTable(schedule, device, config.time_sampling)
    snapshot = None
    if preview is not None and rank == 0:

        def snapshot(step: int) -> None:
            net = copy.deepcopy(ema).to("cpu", torch.float64).eval()
            preview(step, InflationaryFlow(basis, schedule, net))

    history, stopped, seconds = _loop(
        Y,
        chunks,
        den,
        ema,
        module,
        optimizer,
        table,
        config,
        device,
        world,
        rank,
        local,
        progress,
        stop_event,
        snapshot,
        preview_every,
    )

    ema = ema.to("cpu", torch.float64).eval()
    if not all(torch.isfinite(p).all() for p in ema.parameters()):
        raise TrainingDiverged("Training produced non-finite weights; lower the learning rate and try again.")
    steps = history[-1][0] if history else 0
    card = {
        "data": dict(data_info or {}, dim=basis.dim, n_train=int(len(X)), fresh_samples=sampler is not None),
        "schedule": schedule.to_dict(),
        "network": ema.config(),
        "training": {
            "steps": steps,
            "samples_seen": steps * config.batch_size,
            "seconds": round(seconds, 3),
            "device": str(device),
            "processes": world,
            "stopped": stopped,
            "final_loss": float(np.mean([loss for _, loss in history[-100:]])) if history else None,
            "config": asdict(config),
            "torch": torch.__version__,
            "finished_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "quality": {},
    }
    flow = InflationaryFlow(basis, schedule, ema, card=card)
    return TrainResult(flow, history, stopped, seconds, card)


def _loop(
    Y,
    chunks,
    den,
    ema,
    module,
    optimizer,
    noise_table,
    config,
    device,
    world,
    rank,
    local,
    progress,
    stop_event,
    snapshot=None,
    snapshot_every: float = 3.0,
):
    """The optimisation loop; returns (history, stopped, seconds)."""
    gen = torch.Generator(device=device).manual_seed(config.seed)
    params, ema_params = list(den.parameters()), list(ema.parameters())
    dim, batch = Y.shape[1], config.batch_size
    steps_left_in_chunk = 0
    history: list[tuple[int, float]] = []
    pending: list[torch.Tensor] = []
    start = last_report = last_snapshot = time.perf_counter()
    step, stopped = 0, False
    while True:
        elapsed = time.perf_counter() - start
        frac = step / config.steps if config.steps else elapsed / config.seconds
        halt = float(stop_event is not None and stop_event.is_set())
        if world > 1:  # every rank must agree on the schedule position and on stopping
            flags = torch.tensor([frac, halt], device=device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
            frac, halt = float(flags[0]), float(flags[1])
        if frac >= 1 or halt:
            stopped = bool(halt) and frac < 1
            break
        lr = config.lr * _lr_factor(frac, config)
        for group in optimizer.param_groups:
            group["lr"] = lr

        if chunks is not None and steps_left_in_chunk == 0:
            Y = next(chunks)  # basis.to_eigen has already rejected a chunk with the wrong D
            steps_left_in_chunk = max(1, Y.shape[0] // batch)
        steps_left_in_chunk -= 1
        # The global batch, identical on every rank; each rank trains on its slice.
        idx = torch.randint(Y.shape[0], (batch,), generator=gen, device=device)
        t = noise_table.times(torch.rand(batch, generator=gen, device=device))
        eps = torch.randn(batch, dim, generator=gen, device=device)
        part = slice(rank * local, (rank + 1) * local)
        loss = module(Y[idx[part]], eps[part], t[part], noise_table(t[part]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        step += 1
        beta = 0.5 ** (1.0 / max(1.0, config.ema_half_life * step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1.0 - beta)

        logged = loss.detach()
        if world > 1:
            dist.all_reduce(logged)
            logged = logged / world
        pending.append(logged)
        now = time.perf_counter()
        if now - last_report >= _PROGRESS_EVERY:
            _flush(pending, history, step, dim, lr)
            last_report = now
            if progress is not None:
                _report(progress, history, step, batch, now - start, frac, lr, config)
        if snapshot is not None and now - last_snapshot >= snapshot_every:
            snapshot(step)
            last_snapshot = time.perf_counter()  # the snapshot's own time does not count towards the next
    elapsed = time.perf_counter() - start
    _flush(pending, history, step, dim, optimizer.param_groups[0]["lr"])
    if progress is not None and history:
        _report(progress, history, step, batch, elapsed, 1.0, optimizer.param_groups[0]["lr"], config)
    return history, stopped, elapsed


def _flush(pending: list, history: list, step: int, dim: int, lr: float) -> None:
    """Read queued losses back from the device (one sync) and stop on divergence."""
    if not pending:
        return
    values = torch.stack(pending).cpu().tolist()
    first = step - len(values) + 1
    pending.clear()
    for k, value in enumerate(values):
        if not math.isfinite(value) or value > _DIVERGED_PER_DIM * dim:
            raise TrainingDiverged(
                f"Training diverged at step {first + k} (loss {value:.3g}, learning rate "
                f"{lr:.3g}): lower the learning rate (e.g. 2e-3) or the gradient clip."
            )
        history.append((first + k, value))


def _report(progress, history, step, batch, elapsed, frac, lr, config) -> None:
    eta = None
    if frac > 0:
        eta = max(0.0, config.seconds - elapsed) if not config.steps else elapsed * (1 - frac) / frac
    progress(Progress(step, step * batch, history[-1][1], elapsed, eta, lr))
