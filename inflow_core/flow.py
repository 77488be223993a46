"""The probability-flow ODE of an inflationary flow and its integration (docs/MATH.md sections 3 and 7).

State: flow coordinates u = A(t) * y (N, D). Field, per dimension,

    du/dt = (a + r/2) u - (r/2) A Den(u / A, t)

integrated with torchdiffeq forward (0 -> T, encode / inflate) or backward (T -> 0, decode /
generate). Adaptive solvers control the error of every point and dimension separately (max
norm), so accuracy does not depend on the batch, and never step past the end time.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torchdiffeq import odeint

from .basis import EigenBasis
from .schedules import Schedule
from .validation import as_points, check_positive_int

ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "adaptive_heun", "fehlberg2")
FIXED_METHODS = ("euler", "midpoint", "rk4")
DEFAULT_METHOD, DEFAULT_TOL = "dopri5", 1e-5
# A solve that needs more steps than this is stuck (stiffness, a diverging model): stop with a message.
# Healthy flows take 15-60 dopri5 steps at the default tolerance and a few hundred at 1e-10.
MAX_STEPS = 5_000
# decode / generate refuse latents farther than this many latent standard deviations sqrt(v_i(T)) from
# the origin: the prior puts essentially nothing there, and decoding such points gives meaningless data.
LATENT_LIMIT = 50.0
PRIORS = ("gaussian", "empirical")


class SolverError(ValueError):
    """The ODE solver could not finish; the message says what to change."""


@dataclass(frozen=True)
class SolverOptions:
    """How the pfODE is integrated. ``step_size`` only applies to fixed-step methods.

    ``max_seconds`` is a wall-clock budget per solve: a solve still running after it stops with a
    SolverError (a stiff field can stay under the step cap and still take minutes). It is off (None)
    by default, because wall time depends on the machine, not only on the inputs: at load 8 on 2 cores
    a 2,000-point exact encode took 34 s with one torch thread and 295 s with two. Interactive callers
    (the app) set it.
    """

    method: str = DEFAULT_METHOD
    rtol: float = DEFAULT_TOL
    atol: float = DEFAULT_TOL
    step_size: float | None = None
    max_seconds: float | None = None

    def __post_init__(self):
        if self.method not in ADAPTIVE_METHODS + FIXED_METHODS:
            raise ValueError(
                f"Unknown solver {self.method!r}; choose one of "
                f"{', '.join(ADAPTIVE_METHODS + FIXED_METHODS)}."
            )
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not np.isfinite(value) or not 0 < value < 1:
                raise ValueError(f"{name} must be between 0 and 1 (e.g. 1e-5); got {value}.")
        if self.method in FIXED_METHODS and (self.step_size is None or not self.step_size > 0):
            raise ValueError(f"Fixed-step solver {self.method!r} needs a positive step_size (e.g. 0.01).")
        seconds = self.max_seconds
        if seconds is not None and not (isinstance(seconds, int | float) and 0 < seconds < np.inf):
            raise ValueError(
                f"max_seconds must be a positive number of seconds (e.g. 60) or None; got {seconds!r}."
            )

    @property
    def adaptive(self) -> bool:
        return self.method in ADAPTIVE_METHODS

    def describe(self) -> str:
        if self.adaptive:
            return f"{self.method}, rtol={self.rtol:g}, atol={self.atol:g}"
        return f"{self.method}, step {self.step_size:g}"


@dataclass
class SolveStats:
    """What one integration cost and how it was done: shown next to every result."""

    direction: str
    n_points: int
    nfe: int
    wall_time: float
    options: SolverOptions = field(default_factory=SolverOptions)

    def describe(self) -> str:
        return (
            f"{self.options.describe()}; {self.nfe} field evaluations; {self.wall_time:.2f} s "
            f"for {self.n_points} points"
        )


@dataclass
class Trajectory:
    """Flow coordinates u(t) of every particle at each frame time.

    ``times`` (K,) run 0 -> T for "inflate" and T -> 0 for "generate"; ``states`` is (K, N, D).
    """

    times: np.ndarray
    states: np.ndarray
    direction: str
    stats: SolveStats

    @property
    def nfe(self) -> int:
        return self.stats.nfe


class InflationaryFlow:
    """Data <-> latent map of an inflationary flow: basis + schedule + denoiser.

    Solver settings given here are defaults; every method also takes ``method``, ``rtol``,
    ``atol``, ``step_size`` and ``max_seconds`` keyword arguments for one call. ``last_stats`` holds the cost
    (NFE, wall time, tolerance) of the latest integration.
    """

    def __init__(
        self,
        basis: EigenBasis,
        schedule: Schedule,
        denoiser: torch.nn.Module,
        method: str = DEFAULT_METHOD,
        rtol: float = DEFAULT_TOL,
        atol: float = DEFAULT_TOL,
        step_size: float | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        card: dict | None = None,
        max_seconds: float | None = None,
    ):
        if schedule.dim != basis.dim:
            raise ValueError(f"The schedule has D = {schedule.dim} but the basis has D = {basis.dim}.")
        den_dim = getattr(denoiser, "dim", basis.dim)
        if den_dim != basis.dim:
            raise ValueError(
                f"The denoiser works in D = {den_dim} but the basis has D = {basis.dim}; "
                "build it from the same data."
            )
        self.basis = basis
        self.schedule = schedule
        self.denoiser = denoiser
        self.solver = SolverOptions(method, rtol, atol, step_size, max_seconds)
        self.card = card  # a learned model's card: what it was trained on, how, and how good (or None)
        self.last_stats: SolveStats | None = None
        self.to(device, dtype)

    def with_solver(self, **options) -> InflationaryFlow:
        """The same flow (shared basis, schedule and denoiser) with other default solver settings."""
        clone = copy.copy(self)
        clone.solver = self.solver_options(options)
        clone.last_stats = None
        return clone

    # ----------------------------------------------------------------- device handling
    def to(self, device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> InflationaryFlow:
        """Move the flow; float64 on CPU by default, float32 on accelerators."""
        self.device = torch.device(device)
        self.dtype = dtype or (torch.float64 if self.device.type == "cpu" else torch.float32)
        self.denoiser.to(self.device)
        return self

    @property
    def dim(self) -> int:
        return self.basis.dim

    def tensor(self, array) -> torch.Tensor:
        """An array as a tensor of the flow's device and dtype (for code that solves augmented states)."""
        return torch.as_tensor(np.asarray(array), dtype=self.dtype, device=self.device)

    # ----------------------------------------------------------------- coordinates
    def to_flow(self, X) -> np.ndarray:
        """Raw data -> flow coordinates at t = 0, u(0) = A(0) * y."""
        return self.basis.to_eigen(X) * self.schedule.scale(0.0)

    def from_flow(self, U0) -> np.ndarray:
        """Flow coordinates at t = 0 -> raw data."""
        U0 = as_points(U0, dim=self.dim, name="U")
        return self.basis.from_eigen(U0 / self.schedule.scale(0.0))

    # ----------------------------------------------------------------- the ODE
    def field(self, t: float, u: torch.Tensor) -> torch.Tensor:
        """du/dt at time t for flow coordinates u (N, D)."""
        sched = self.schedule
        noise = self.tensor(sched.noise(t))
        scale = self.tensor(sched.scale(t))
        half_r = 0.5 * self.tensor(sched.noise_log_rate(t))
        a = self.tensor(sched.scale_log_rate(t))
        den = self.denoiser(u / scale, t, noise)
        return (a + half_r) * u - half_r * scale * den

    def solver_options(self, overrides: dict | None = None) -> SolverOptions:
        """The flow's solver settings with one call's keyword overrides applied (validated)."""
        overrides = overrides or {}
        unknown = set(overrides) - {"method", "rtol", "atol", "step_size", "max_seconds"}
        if unknown:
            raise TypeError(f"Unknown solver options: {sorted(unknown)}.")
        if not overrides:
            return self.solver
        return dataclasses.replace(self.solver, **overrides)

    def integrate(
        self,
        u: np.ndarray,
        times: np.ndarray,
        direction: str,
        on_field: Callable[[float], None] | None = None,
        **solver,
    ) -> tuple[np.ndarray, SolveStats]:
        """Integrate flow coordinates ``u`` (N, D) given at ``times[0]``; return states (K, N, D).
        ``on_field(t)`` is called before every field evaluation (progress; it may raise to stop the solve).

        The solver works on s = u * n / g(t), with g_i(t) = A_i(t) sqrt(lam_i + c_i(t)) the growth that
        the Gaussian denoiser gives u_i (MATH.md 6) and n_i the largest g_i over the solve, so
        |error of u| <= |error of s|. Its field is zero for Gaussian data, so the solver only follows the
        data's departure from a Gaussian, and a dimension whose noise stays constant (a reducing
        schedule's frozen dimensions) is exactly constant. In u the solver had to follow u_i ~ A(t), and
        its small errors there were amplified by the denoiser's 1/c_i sensitivity (bench/flow_speed.py:
        fewer field evaluations and a smaller latent error at the same tolerance on circles reduced to 1).
        """
        opts = self.solver_options(solver)
        times = np.asarray(times, dtype=np.float64)
        sched = self.schedule
        lam = sched.eigenvalues

        def gaussian_growth(tt: np.ndarray) -> np.ndarray:
            return sched.scale(tt) * np.sqrt(lam + sched.noise(tt))

        growth = gaussian_growth(times)  # (K, D)
        # g need not be monotone (a compressed dimension's can rise, then fall): take its top on a grid.
        grid = np.linspace(times[0], times[-1], 257)
        norm = np.maximum(growth.max(axis=0), gaussian_growth(grid).max(axis=0))
        denoiser = self.denoiser
        if opts.adaptive and hasattr(denoiser, "for_tolerance"):
            denoiser = denoiser.for_tolerance(min(opts.rtol, opts.atol))
        lam_t, norm_t = self.tensor(lam), self.tensor(norm)
        nfe = 0

        def counted_field(tt, state):
            nonlocal nfe
            nfe += 1
            t = float(tt)
            if on_field is not None:
                on_field(t)
            noise = self.tensor(sched.noise(t))
            total = lam_t + noise
            root = total.sqrt()
            den = denoiser(state * (root / norm_t), t, noise)
            half_r = 0.5 * self.tensor(sched.noise_log_rate(t))
            return half_r * (lam_t / total * state - norm_t * den / root)

        s0 = self.tensor(u * (norm / growth[0]))
        t = torch.as_tensor(times, dtype=self.dtype, device=self.device)
        start = time.perf_counter()
        with torch.no_grad():
            states = solve_ode(counted_field, s0, t, opts)
        if not torch.isfinite(states).all():
            raise SolverError(
                "The flow produced NaN or infinite values; the denoiser or the solver "
                "diverged. Try a tighter tolerance, an adaptive solver, or a different model."
            )
        stats = SolveStats(direction, int(s0.shape[0]), nfe, time.perf_counter() - start, opts)
        self.last_stats = stats
        states = states.detach().cpu().numpy().astype(np.float64, copy=False)
        return states * (growth / norm)[:, None, :], stats

    # ----------------------------------------------------------------- public maps
    def encode(self, X, **solver) -> np.ndarray:
        """Raw data (N, D) -> latent flow coordinates u(T) (N, D)."""
        U0 = self.to_flow(X)
        states, _ = self.integrate(U0, np.array([0.0, self.schedule.t_max]), "inflate", **solver)
        return states[-1]

    def check_latents(self, U, name: str = "U", limit: float = LATENT_LIMIT) -> np.ndarray:
        """U as a float64 (N, D) array of latents, or ValueError when a coordinate lies more than ``limit``
        latent standard deviations sqrt(v_i(T)) from the origin (or is not finite)."""
        U = as_points(U, dim=self.dim, name=name)
        sigmas = np.abs(U) / np.sqrt(self.schedule.latent_variance())
        worst = np.unravel_index(np.argmax(sigmas), sigmas.shape)
        if sigmas[worst] > limit:
            row, col = worst[0] + 1, worst[1] + 1
            raise ValueError(
                f"{name} has a coordinate {sigmas[worst]:.3g} latent standard deviations from "
                f"the origin (row {row}, dimension {col}); the prior's latents lie within a "
                f"few, and decoding beyond {limit:g} gives meaningless data. Use latents from "
                "flow.prior_samples or flow.encode."
            )
        return U

    def decode(self, U, **solver) -> np.ndarray:
        """Latent flow coordinates u(T) (N, D) -> raw data (N, D); refuses latents far outside the prior."""
        U = self.check_latents(U)
        states, _ = self.integrate(U, np.array([self.schedule.t_max, 0.0]), "generate", **solver)
        return self.from_flow(states[-1])

    def trajectory(self, X, direction: str = "inflate", n_frames: int = 60, **solver) -> Trajectory:
        """Frames of the flow. "inflate" takes raw data X; "generate" takes latent flow coordinates."""
        n_frames = check_positive_int(n_frames, "n_frames", minimum=2, maximum=2000)
        times = np.linspace(0.0, self.schedule.t_max, n_frames)
        if direction == "inflate":
            start = self.to_flow(X)
        elif direction == "generate":
            start = self.check_latents(X)
            times = times[::-1].copy()
        else:
            raise ValueError(f"direction must be 'inflate' or 'generate'; got {direction!r}.")
        states, stats = self.integrate(start, times, direction, **solver)
        return Trajectory(times, states, direction, stats)

    def log_prob(self, X, **options):
        """log p(x) of raw data X (N, D) by the instantaneous change of variables (docs/MATH.md 12).

        Returns ``likelihood.LogProb`` (.total nats in data units, .log_det, .latent); ``options`` are
        ``likelihood.log_prob``'s (divergence, probes, seed, prior) and solver keywords.
        """
        from .likelihood import log_prob  # here, not at the top: likelihood imports this module

        return log_prob(self, X, **options)

    # ----------------------------------------------------------------- generation
    def prior_samples(
        self,
        n: int,
        seed: int = 0,
        prior: str = "gaussian",
        eps: float | None = None,
        reference=None,
        **solver,
    ) -> np.ndarray:
        """Latent draws u(T) for generation (docs/MATH.md section 7).

        Kept dimensions always come from N(0, v(T)). Compressed dimensions come from
        * ``prior="gaussian"``: N(0, v_i(T)), or N(0, eps) when ``eps`` is given (the released code's
          choice). Exact only where the noise dominates the data at T; on dimensions whose noise
          never grows (1 + g_i <= 0) the true latent marginal is the data's own, not Gaussian.
        * ``prior="empirical"``: the compressed coordinates of encoded reference points (drawn from
          the flow's t = 0 distribution, data + N(0, C(0))), resampled jointly. This matches the
          true latent marginal of those dimensions as well as the reference set represents the data.
          ``reference`` is raw training data; an empirical denoiser's own points are the default.
        """
        n = check_positive_int(n, "n", maximum=1_000_000)
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}; got {prior!r}.")
        rng = np.random.default_rng(seed)
        compressed = ~self.schedule.kept
        U = rng.standard_normal((n, self.dim)) * np.sqrt(self.schedule.latent_variance())
        if eps is not None:
            if not np.isfinite(eps) or eps <= 0:
                raise ValueError(f"eps must be a positive variance (e.g. 1e-2); got {eps}.")
            U[:, compressed] = rng.standard_normal((n, int(compressed.sum()))) * np.sqrt(eps)
        if prior == "empirical" and compressed.any():
            latents = self.encode_reference(reference, seed=seed, **solver)
            U[:, compressed] = latents[rng.integers(0, len(latents), n)][:, compressed]
        return U

    def initial_draws(self, X, seed: int = 0) -> np.ndarray:
        """Draws from the flow's t = 0 distribution in data space: each point of X plus N(0, C(0)) in
        eigen-coordinates. The flow maps this distribution (not the bare points, which are its
        centres) onto the latent Gaussian, so these draws show the predicted spread at every time."""
        X = as_points(X, dim=self.dim)
        return self.basis.from_eigen(self._blur(self.basis.to_eigen(X), seed))

    def _blur(self, Y: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed + 1)
        return Y + rng.standard_normal(Y.shape) * np.sqrt(self.schedule.noise(0.0))

    def encode_reference(self, reference=None, seed: int = 0, **solver) -> np.ndarray:
        """Encode draws from the flow's t = 0 distribution around the reference points."""
        if reference is None:
            ref = getattr(self.denoiser, "reference", None)
            if ref is None:
                raise ValueError("The empirical prior needs reference data: pass reference=<training data>.")
            Y = ref.detach().cpu().numpy().astype(np.float64)
        else:
            Y = self.basis.to_eigen(reference)
        states, _ = self.integrate(
            self._blur(Y, seed) * self.schedule.scale(0.0),
            np.array([0.0, self.schedule.t_max]),
            "inflate",
            **solver,
        )
        return states[-1]

    def sample(
        self,
        n: int,
        seed: int = 0,
        prior: str = "gaussian",
        eps: float | None = None,
        reference=None,
        **solver,
    ) -> np.ndarray:
        """Generate n data-space samples: draw latents (see ``prior_samples``) and integrate back."""
        U = self.prior_samples(n, seed, prior, eps, reference, **solver)
        return self.decode(U, **solver)


def solve_ode(func, state: torch.Tensor, times: torch.Tensor, opts: SolverOptions) -> torch.Tensor:
    """torchdiffeq.odeint with the project's solver conventions (max norm, no step past the end time,
    a step cap) and SolverError messages; also used for augmented states (uncertainty.py)."""
    if opts.adaptive:
        kwargs = {
            "rtol": opts.rtol,
            "atol": opts.atol,
            "options": {"norm": _max_norm, "step_t": times[-1:], "max_num_steps": MAX_STEPS},
        }
    else:
        kwargs = {"options": {"step_size": opts.step_size}}
    if opts.max_seconds is not None:
        func = _with_deadline(func, opts)
    try:
        return odeint(func, state, times, method=opts.method, **kwargs)
    except AssertionError as err:
        raise SolverError(_explain_solver_failure(str(err), opts)) from None


def _with_deadline(func, opts: SolverOptions):
    """``func`` that raises SolverError once the solve has run longer than ``opts.max_seconds``."""
    deadline = time.monotonic() + opts.max_seconds

    def timed(t, state):
        if time.monotonic() > deadline:
            raise SolverError(
                f"The solve was stopped after {opts.max_seconds:g} s "
                f"({opts.describe()}): the field is too stiff for this schedule, the batch too "
                "large or the machine busy. Use fewer points, a looser tolerance or a smaller "
                "inflation gap (or raise max_seconds)."
            )
        return func(t, state)

    return timed


def _max_norm(x: torch.Tensor) -> torch.Tensor:
    """Error norm: the worst point and dimension, so no particle is less accurate than asked."""
    return x.abs().max()


def _explain_solver_failure(message: str, opts: SolverOptions) -> str:
    if "max_num_steps" in message:
        return (
            f"The solver ({opts.describe()}) needed more than {MAX_STEPS} steps and was stopped. "
            "The field is too stiff or the model diverges: loosen the tolerance (e.g. 1e-4), "
            "lower rho, or check the model."
        )
    if "underflow" in message:
        return (
            f"The solver's step size underflowed ({opts.describe()}): the field blew up. "
            "Loosen the tolerance or check the model and the schedule parameters."
        )
    if "non-finite" in message:
        return "The flow produced NaN or infinite values; the denoiser or schedule diverged."
    return f"The ODE solver failed ({opts.describe()}): {message}"
