"""Exact log-density of data under an inflationary flow: instantaneous change of variables (docs/MATH.md 12).

The state u and the log-density change l are integrated together from t = 0 to T,

    du/dt = f(u, t),        dl/dt = div f(u, t),        l(0) = 0,

and then, in data units,

    log p(x) = log p_T(u(T)) + l(T) + sum_i log A_i(0) - sum_j log sigma_j

(the eigenbasis is orthogonal; sigma only when the basis z-scores). ``log p_T`` is the latent prior:
N(0, diag(v(T))) on every dimension by default, or any function of u(T) (``prior=``). The divergence is
exact (one autograd pass per dimension) up to D = 8, and a Hutchinson estimate above: fixed Rademacher
probes, the same along the whole trajectory, one l per probe, so their spread gives a standard error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .flow import InflationaryFlow, SolverError, SolveStats, solve_ode
from .validation import as_points, check_positive_int

DIVERGENCES = ("auto", "exact", "hutchinson")
# Largest D for which "auto" computes the divergence exactly (D autograd passes per field evaluation).
EXACT_MAX_DIM = 8
DEFAULT_PROBES = 16

LatentLogPrior = Callable[[np.ndarray], np.ndarray]


@dataclass
class LogProb:
    """Log-density of data points under a flow (docs/MATH.md 12); all log values in nats.

    ``total`` (N,) log p(x) in data units = ``prior`` + ``log_det`` + ``affine_log_det``.
    ``log_det`` (N,) l(T), the integrated divergence; ``latent`` (N, D) u(T); ``prior`` (N,) log p_T(u(T));
    ``affine_log_det`` the constant sum log A(0) - sum log sigma; ``se`` (N,) the Hutchinson standard
    error of ``log_det`` (zeros when exact); ``bits_per_dim`` = -total / (D ln 2).
    """

    total: np.ndarray
    log_det: np.ndarray
    latent: np.ndarray
    prior: np.ndarray
    affine_log_det: float
    se: np.ndarray
    divergence: str
    stats: SolveStats

    @property
    def bits_per_dim(self) -> np.ndarray:
        return -self.total / (self.latent.shape[1] * np.log(2.0))

    @property
    def nfe(self) -> int:
        return self.stats.nfe


def gaussian_log_prior(flow: InflationaryFlow) -> LatentLogPrior:
    """log N(u; 0, diag(v(T))): the generation prior on every dimension (docs/MATH.md 7)."""
    v = flow.schedule.latent_variance()

    def log_prior(U: np.ndarray) -> np.ndarray:
        return -0.5 * ((U**2 / v).sum(axis=1) + np.log(2 * np.pi * v).sum())

    return log_prior


def mixture_log_prior(centres: np.ndarray, variances: np.ndarray) -> LatentLogPrior:
    """log (1/M) sum_j N(u; centres_j, diag(variances)): an equal-weight Gaussian mixture in u(T).

    With centres A(T) y_j and variances A(T)^2 c(T) this is the exact latent marginal of the empirical
    flow of the reference points y_j (see ``empirical_log_prior``).
    """
    centres = np.asarray(centres, dtype=np.float64)
    variances = np.asarray(variances, dtype=np.float64)
    const = -0.5 * np.log(2 * np.pi * variances).sum() - np.log(len(centres))

    def log_prior(U: np.ndarray) -> np.ndarray:
        return _logsumexp_gaussians(U / np.sqrt(variances), centres / np.sqrt(variances)) + const

    return log_prior


def empirical_log_prior(flow: InflationaryFlow) -> LatentLogPrior:
    """The exact latent marginal at T of an empirical-denoiser flow, (1/M) sum_j N(u; A y_j, A^2 C(T)).

    With it, ``log_prob`` returns the kernel density (1/M) sum_j N(y; y_j, C(0)) of the reference points
    up to solver error (docs/MATH.md 12), which is what the tests check.
    """
    reference = getattr(flow.denoiser, "reference", None)
    if reference is None:
        raise ValueError(
            "The empirical prior needs a flow with an EmpiricalDenoiser (it has the reference points)."
        )
    sched = flow.schedule
    scale = sched.scale(sched.t_max)
    Y = reference.detach().cpu().numpy().astype(np.float64)
    return mixture_log_prior(Y * scale, scale**2 * sched.noise(sched.t_max))


def _logsumexp_gaussians(Q: np.ndarray, C: np.ndarray, block: int = 1024) -> np.ndarray:
    """log sum_j exp(-|q - c_j|^2 / 2) for each row q of Q, in blocks of rows."""
    out = np.empty(len(Q))
    half_c = 0.5 * (C**2).sum(axis=1)
    for start in range(0, len(Q), block):
        q = Q[start : start + block]
        logits = q @ C.T - half_c - 0.5 * (q**2).sum(axis=1, keepdims=True)
        peak = logits.max(axis=1, keepdims=True)
        out[start : start + block] = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
    return out


def log_prob(
    flow: InflationaryFlow,
    X,
    divergence: str = "auto",
    probes: int = DEFAULT_PROBES,
    seed: int = 0,
    prior: LatentLogPrior | None = None,
    **solver,
) -> LogProb:
    """log p(x) of raw data X (N, D) under the flow and a latent prior (docs/MATH.md 12).

    ``divergence``: "exact" (D autograd passes per field evaluation), "hutchinson" (``probes`` fixed
    Rademacher probes per point, drawn from ``seed``) or "auto" (exact up to D = 8). ``prior`` maps
    u(T) (N, D) to log p_T (N,); default N(0, diag(v(T))) on all dimensions. On compressed dimensions
    whose latent marginal is not Gaussian (1 + g_i <= 0) this is the density of the model that
    generates with that prior, not of the data (docs/MATH.md 7, 12). Solver keywords as for ``encode``.
    """
    X = as_points(X, dim=flow.dim, name="X")
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {', '.join(DIVERGENCES)}; got {divergence!r}.")
    if divergence == "auto":
        divergence = "exact" if flow.dim <= EXACT_MAX_DIM else "hutchinson"
    eps = None
    if divergence == "hutchinson":
        probes = check_positive_int(probes, "probes", minimum=2, maximum=1000)
        eps = flow.tensor(np.random.default_rng(seed).choice([-1.0, 1.0], size=(probes, len(X), flow.dim)))
    U, logs, stats = _solve(flow, flow.to_flow(X), eps, solver)
    log_det = logs.mean(axis=1)
    se = logs.std(axis=1, ddof=1) / np.sqrt(logs.shape[1]) if eps is not None else np.zeros(len(X))
    log_prior = (prior or gaussian_log_prior(flow))(U)
    affine = float(np.log(flow.schedule.scale(0.0)).sum() - np.log(flow.basis.scale).sum())
    return LogProb(log_prior + log_det + affine, log_det, U, log_prior, affine, se, divergence, stats)


def _solve(flow: InflationaryFlow, u0: np.ndarray, eps: torch.Tensor | None, solver: dict):
    """Integrate (u, l_1..l_P) from 0 to T; P = 1 for the exact divergence, else one l per probe."""
    opts = flow.solver_options(solver)
    n, dim = u0.shape
    n_logs = 1 if eps is None else eps.shape[0]
    state0 = flow.tensor(np.concatenate([u0, np.zeros((n, n_logs))], axis=1))
    times = flow.tensor(np.array([0.0, flow.schedule.t_max]))
    nfe = 0

    def augmented(t, state):
        nonlocal nfe
        nfe += 1
        f, div = _field_and_divergence(flow, float(t), state[:, :dim], eps)
        return torch.cat([f, div], dim=1)

    start = time.perf_counter()
    with torch.no_grad():
        out = solve_ode(augmented, state0, times, opts)[-1]
    if not torch.isfinite(out).all():
        raise SolverError(
            "The log-density solve produced NaN or infinite values; try a tighter tolerance "
            "or an adaptive solver."
        )
    stats = SolveStats("log_prob", n, nfe, time.perf_counter() - start, opts)
    out = out.cpu().numpy().astype(np.float64, copy=False)
    return out[:, :dim], out[:, dim:], stats


def _field_and_divergence(
    flow: InflationaryFlow, t: float, u: torch.Tensor, eps: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """f(t, u) (N, D) and div f: (N, 1) exact, or (N, P) Hutchinson terms eps_p^T (df/du) eps_p.

    The field acts on each point separately, so gradients of sums over points are per-point gradients.
    """
    with torch.enable_grad():
        u = u.detach().requires_grad_(True)
        f = flow.field(t, u)
        if eps is None:
            dim = u.shape[1]
            diag = [
                torch.autograd.grad(f[:, k].sum(), u, retain_graph=k < dim - 1)[0][:, k] for k in range(dim)
            ]
            div = torch.stack(diag, dim=1).sum(dim=1, keepdim=True)
        else:
            n_probes = eps.shape[0]
            terms = [
                (torch.autograd.grad((f * eps[p]).sum(), u, retain_graph=p < n_probes - 1)[0] * eps[p]).sum(
                    dim=1
                )
                for p in range(n_probes)
            ]
            div = torch.stack(terms, dim=1)
    return f.detach(), div.detach()


def density_grid(
    flow: InflationaryFlow,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    n: int = 100,
    **options,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), log p (n, n)) of a 2-D flow on a regular grid, for a density heatmap.

    ``log_p[i, j]`` is the log-density at (xs[j], ys[i]) (rows follow y, as heatmaps expect).
    ``options`` go to ``log_prob`` (solver keywords, prior).
    """
    if flow.dim != 2:
        raise ValueError(f"A density grid is drawn for 2-D flows; this flow has D = {flow.dim}.")
    xs, ys, points = grid_points(x_range, y_range, n)
    lp = log_prob(flow, points, **options)
    return xs, ys, lp.total.reshape(len(ys), len(xs))


def grid_points(
    x_range: tuple[float, float], y_range: tuple[float, float], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), points (n * n, 2)) of a regular grid, rows of ``points`` in the order of
    ``log_p.ravel()`` for ``log_p[i, j]`` at (xs[j], ys[i])."""
    n = check_positive_int(n, "n", minimum=2, maximum=1000)
    for name, (low, high) in (("x_range", x_range), ("y_range", y_range)):
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"{name} must be (low, high) with low < high; got ({low}, {high}).")
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def padded_range(values, pad: float = 0.1) -> tuple[float, float]:
    """(low, high) of ``values`` widened by ``pad`` times their span on each side (1 if they are equal)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    return low - pad * span, high + pad * span


def grid_integral(xs, ys, log_p) -> float:
    """The integral of exp(log p) over a regular 2-D grid, by the trapezoid rule in x and in y.

    ``log_p[i, j]`` is the log-density at (xs[j], ys[i]), as ``density_grid`` returns it. Close to 1 when
    the grid covers the density's mass and resolves it; less when mass lies outside the grid.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    log_p = np.asarray(log_p, dtype=np.float64)
    if xs.ndim != 1 or ys.ndim != 1 or len(xs) < 2 or len(ys) < 2 or log_p.shape != (len(ys), len(xs)):
        raise ValueError(
            f"grid_integral needs xs (nx,), ys (ny,) with at least 2 points each and log_p (ny, nx); got "
            f"{xs.shape}, {ys.shape} and {log_p.shape}."
        )
    if not (np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)):
        raise ValueError("grid_integral needs increasing grid coordinates xs and ys.")
    if np.isnan(log_p).any() or not np.isfinite(log_p).any():
        raise ValueError("log_p must be finite (or -inf where the density is 0) and not all -inf.")
    peak = log_p[np.isfinite(log_p)].max()
    inner = _trapezoid_weights(ys) @ np.exp(log_p - peak) @ _trapezoid_weights(xs)
    return float(np.exp(peak) * inner)


def _trapezoid_weights(v: np.ndarray) -> np.ndarray:
    """Weights w with sum_k w_k f(v_k) the trapezoid rule on the points v."""
    steps = np.diff(v)
    w = np.zeros(len(v))
    w[:-1] += steps / 2
    w[1:] += steps / 2
    return w


def gaussian_log_density(X_fit, X) -> np.ndarray:
    """log N(x; mean, cov) (N,) at the rows of X, of the full-covariance Gaussian fitted to X_fit by maximum
    likelihood: the simplest density model, a baseline for a flow's log-likelihood."""
    X_fit = as_points(X_fit, name="X_fit")
    X = as_points(X, dim=X_fit.shape[1], name="X")
    mean = X_fit.mean(axis=0)
    cov = np.atleast_2d(np.cov(X_fit, rowvar=False, bias=True))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            "The data's covariance is singular (a feature is constant or a linear combination of others): "
            "a Gaussian fit has no density."
        ) from None
    white = np.linalg.solve(chol, (X - mean).T)
    dim = X.shape[1]
    return -0.5 * (white**2).sum(axis=0) - np.log(np.diag(chol)).sum() - 0.5 * dim * np.log(2 * np.pi)


def gaussian_nll(X_fit, X) -> float:
    """Mean negative log-likelihood (nats) of the points X under the Gaussian fitted to X_fit."""
    return float(-gaussian_log_density(X_fit, X).mean())


def kernel_log_density(flow: InflationaryFlow, X) -> np.ndarray:
    """log p(x) (N,) of an exact (empirical-denoiser) flow in closed form: the kernel density
    (1/M) sum_j N(y; y_j, C(0)) of its M reference points, in raw data units (docs/MATH.md 12).

    ``log_prob`` with ``empirical_log_prior`` returns the same up to solver error, at the cost of an ODE
    solve whose field sums over all references; this costs one kernel sum.
    """
    reference = getattr(flow.denoiser, "reference", None)
    if reference is None:
        raise ValueError(
            "The closed form needs a flow with an EmpiricalDenoiser (it has the reference points)."
        )
    X = as_points(X, dim=flow.dim, name="X")
    Y_ref = reference.detach().cpu().numpy().astype(np.float64)
    c0 = flow.schedule.noise(0.0)
    sd = np.sqrt(c0)
    return (
        _logsumexp_gaussians(flow.basis.to_eigen(X) / sd, Y_ref / sd)
        - np.log(len(Y_ref))
        - 0.5 * np.log(2 * np.pi * c0).sum()
        - np.log(flow.basis.scale).sum()
    )


def dequantize(X, bin_width: float = 1.0, seed: int = 0) -> np.ndarray:
    """Integer-valued data plus uniform noise on [0, bin_width): a continuous stand-in (docs/MATH.md 12)."""
    X = as_points(X, name="X")
    if not np.isfinite(bin_width) or bin_width <= 0:
        raise ValueError(f"bin_width must be a positive number (1 for integer data); got {bin_width}.")
    return X + bin_width * np.random.default_rng(seed).uniform(size=X.shape)


def discrete_bits_per_dim(total: np.ndarray, dim: int, bin_width: float = 1.0) -> np.ndarray:
    """Bits/dim of the discrete data from the log-density of its dequantised version.

    P(k) = integral of p over the bin >= bin_width^D exp(E log p(k + u)), so
    -(log p(x_deq) + D log bin_width) / (D ln 2) bounds the discrete bits/dim from above (on average).
    """
    return -(np.asarray(total) + dim * np.log(bin_width)) / (dim * np.log(2.0))
