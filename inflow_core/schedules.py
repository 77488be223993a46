"""Noise and scale schedules of inflationary flows (docs/MATH.md section 4), diagonal in the eigenbasis.

Every schedule is one formula family evaluated per eigen-dimension i:

* ``noise(t)``       c_i(t), the variance of the Gaussian the data is convolved with,
* ``noise_log_rate`` r_i(t) = (dc_i/dt) / c_i,
* ``scale(t)``       A_i(t), the rescaling that keeps flow coordinates u = A * y of order one,
* ``scale_log_rate`` a_i(t) = (dA_i/dt) / A_i.

All functions take a float or a 1-D array of times and return ``(D,)`` or ``(K, D)`` float64
arrays. They stay finite for any real t, because adaptive solvers probe far outside [0, T]
when they choose their first step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import Parameter, shown

FAMILIES = ("isotropic", "reducing", "proportional")

# Exponents are clipped here so exp() never overflows for wild solver probes (exp(700) ~ 1e304).
_MAX_EXPONENT = 700.0
# Defaults (docs/MATH.md section 4): noise variance at t = 0, its exponential rate, and the sharpness of
# the auto end time (the fastest dimension's noise reaches kappa * lam_star).
DEFAULT_GAMMA0 = 5e-4
DEFAULT_RHO = 1.0
DEFAULT_KAPPA = 1000.0
# Largest stiffness (see Schedule.stiffness) a schedule may have. Every normal schedule is far below it
# (defaults of all built-in datasets and the shipped models 14.5-20, inflation gaps up to 20 with the most
# extreme in-range kappa and gamma0 at most 267; bench/hostile_input.py prints them); near 700 the noise
# leaves float64's range, and the exact flow's cost grows with it (about 1.2 field evaluations per unit
# on a 50-point flow, far more with 2,000 reference points; measured in bench/RESULTS.md).
MAX_STIFFNESS = 600.0

# The allowed range of every numeric schedule parameter: the library checks these, the app's widgets and
# shared links can use the same table. dims_to_keep's maximum is D - 1 (set by the data).
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter(
            "dims_to_keep",
            int,
            1,
            None,
            1,
            "The number of principal directions a reducing schedule keeps, from 1 to D - 1.",
        ),
        Parameter(
            "inflation_gap",
            float,
            0.01,
            100.0,
            None,
            "How much faster kept directions inflate than compressed ones; None means D / (D - d).",
        ),
        Parameter(
            "gamma0",
            float,
            1e-6,
            0.1,
            5e-4,
            "The noise variance at t = 0, small against the data's unit variances.",
        ),
        Parameter("rho", float, 0.05, 10.0, 1.0, "The rate at which the noise grows."),
        Parameter(
            "kappa",
            float,
            2.0,
            1e6,
            DEFAULT_KAPPA,
            "The automatic end time is when the noise reaches kappa times the largest data variance.",
        ),
        Parameter("t_max", float, 0.01, 1000.0, None, "The end time T; None computes it from kappa."),
        Parameter("final_scale", float, 1e-3, 1e3, 1.0, "The standard deviation of the latent Gaussian."),
    )
}


def participation_ratio_of_variances(variances: np.ndarray) -> np.ndarray:
    """PR = (sum v)^2 / sum v^2 of a diagonal covariance, along the last axis."""
    v = np.asarray(variances, dtype=np.float64)
    return v.sum(axis=-1) ** 2 / (v**2).sum(axis=-1)


def _exp(x):
    return np.exp(np.clip(x, -_MAX_EXPONENT, _MAX_EXPONENT))


def _times(t) -> np.ndarray:
    """Times as a column so that formulas broadcast to (K, D); scalars come back as (D,)."""
    return np.asarray(t, dtype=np.float64)[..., None]


@dataclass(frozen=True)
class Schedule:
    """A per-dimension schedule. Build it with ``isotropic``, ``reducing`` or ``proportional``.

    ``growth`` holds 1 + g_i, the exponent multiplier of each dimension's noise in the
    isotropic and reducing families (ignored by the proportional family).
    """

    family: str
    eigenvalues: np.ndarray
    gamma0: float
    rho: float
    final_scale: float
    growth: np.ndarray
    t_max: float
    kappa: float
    dims_to_keep: int
    inflation_gap: float | None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def isotropic(
        cls,
        eigenvalues,
        gamma0: float = DEFAULT_GAMMA0,
        rho: float = DEFAULT_RHO,
        t_max: float | None = None,
        final_scale: float = 1.0,
        kappa: float = DEFAULT_KAPPA,
    ) -> Schedule:
        """The released PR-preserving schedule: the same noise on every dimension, all D kept."""
        lam = _check_eigenvalues(eigenvalues)
        return cls._build(
            "isotropic", lam, gamma0, rho, final_scale, np.ones_like(lam), t_max, kappa, lam.size, None
        )

    @classmethod
    def reducing(
        cls,
        eigenvalues,
        dims_to_keep: int = 1,
        inflation_gap: float | None = None,
        gamma0: float = DEFAULT_GAMMA0,
        rho: float = DEFAULT_RHO,
        t_max: float | None = None,
        final_scale: float = 1.0,
        kappa: float = DEFAULT_KAPPA,
    ) -> Schedule:
        """Keep the top ``dims_to_keep`` principal directions; compress the rest.

        ``inflation_gap`` (IG = g* - g_i > 0) defaults to D / (D - d), the released toy default.
        """
        lam = _check_eigenvalues(eigenvalues)
        dim = lam.size
        if dim < 2:
            raise ValueError("A reducing schedule needs data with at least 2 dimensions; use isotropic.")
        d = PARAMETERS["dims_to_keep"].check(dims_to_keep, maximum=dim - 1)
        gap = PARAMETERS["inflation_gap"].check(inflation_gap, example=dim / (dim - d))
        gap = dim / (dim - d) if gap is None else gap
        g = np.where(np.arange(dim) < d, 1.0, 1.0 - gap)
        return cls._build("reducing", lam, gamma0, rho, final_scale, 1.0 + g, t_max, kappa, d, gap)

    @classmethod
    def proportional(
        cls,
        eigenvalues,
        gamma0: float = DEFAULT_GAMMA0,
        rho: float = DEFAULT_RHO,
        t_max: float | None = None,
        final_scale: float = 1.0,
        kappa: float = DEFAULT_KAPPA,
    ) -> Schedule:
        """The paper's PR-exact schedule: noise grows in proportion to each eigenvalue."""
        lam = _check_eigenvalues(eigenvalues)
        return cls._build(
            "proportional", lam, gamma0, rho, final_scale, np.ones_like(lam), t_max, kappa, lam.size, None
        )

    @classmethod
    def create(cls, family: str, eigenvalues, **params) -> Schedule:
        """Build a schedule by family name (used by the app, the CLI and checkpoints).

        Every parameter is checked against ``PARAMETERS``; a parameter the family does not take
        (``dims_to_keep`` for isotropic, say) is a ValueError, not a TypeError.
        """
        if not isinstance(family, str) or family not in FAMILIES:
            raise ValueError(f"Unknown schedule family {shown(family)}; choose one of {', '.join(FAMILIES)}.")
        allowed = set(PARAMETERS) - ({"dims_to_keep", "inflation_gap"} if family != "reducing" else set())
        unknown = sorted(set(params) - allowed)
        if unknown:
            names = ", ".join(shown(k) for k in unknown[:5])
            raise ValueError(
                f"The {family} schedule does not take {names}; its parameters are "
                f"{', '.join(sorted(allowed))}."
            )
        return getattr(cls, family)(eigenvalues, **params)

    @classmethod
    def _build(cls, family, lam, gamma0, rho, final_scale, growth, t_max, kappa, d, gap) -> Schedule:
        given = {"gamma0": gamma0, "rho": rho, "final_scale": final_scale, "kappa": kappa, "t_max": t_max}
        values = {name: PARAMETERS[name].check(value) for name, value in given.items()}
        lam_star = float(lam.max())
        if values["gamma0"] >= values["kappa"] * lam_star:
            raise ValueError(
                f"gamma0 = {values['gamma0']:g} is not below kappa x the largest data "
                f"variance ({values['kappa']:g} x {lam_star:.3g}), so the noise has nowhere to "
                f"grow; use a smaller gamma0 (e.g. {min(5e-4, 1e-3 * lam_star):.2g}) or "
                "standardise the data."
            )
        sched = cls(
            family,
            lam,
            values["gamma0"],
            values["rho"],
            values["final_scale"],
            growth,
            0.0,
            values["kappa"],
            d,
            gap,
        )
        end = sched.auto_t_max() if values["t_max"] is None else values["t_max"]
        object.__setattr__(sched, "t_max", end)
        check_solvable(sched)
        return sched

    # ----------------------------------------------------------------- basic facts
    @property
    def dim(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def lam_star(self) -> float:
        return float(self.eigenvalues.max())

    @property
    def kept(self) -> np.ndarray:
        """Boolean mask of the dimensions the flow keeps (all but the compressed ones)."""
        return np.arange(self.dim) < self.dims_to_keep

    @property
    def frozen(self) -> np.ndarray:
        """Dimensions whose noise never grows (1 + g_i <= 0): their latent marginal is not Gaussian."""
        if self.family == "proportional":
            return np.zeros(self.dim, dtype=bool)
        return self.growth <= 0

    def auto_t_max(self) -> float:
        """Smallest T at which the fastest-inflating noise reaches kappa * lam_star (docs/MATH.md 4)."""
        lam_star = self.lam_star
        if self.family == "proportional":
            return float(np.log((1 + self.kappa) * lam_star / (lam_star + self.gamma0)) / self.rho)
        return float(np.log(self.kappa * lam_star / self.gamma0) / (self.rho * self.growth.max()))

    # ----------------------------------------------------------------- c(t) and A(t)
    def noise(self, t) -> np.ndarray:
        """Per-dimension noise variance c_i(t) > 0."""
        t = _times(t)
        lam = self.eigenvalues
        if self.family == "proportional":
            c = self.gamma0 * _exp(self.rho * t) + lam * np.expm1(np.clip(self.rho * t, None, _MAX_EXPONENT))
            # c < 0 just below t = 0; keep probes finite and positive (never reached by the flow itself).
            return np.maximum(c, self.gamma0 * 1e-9)
        return self.gamma0 * _exp(self.rho * self.growth * t)

    def noise_log_rate(self, t) -> np.ndarray:
        """r_i(t) = (dc_i/dt) / c_i(t)."""
        t = _times(t)
        if self.family == "proportional":
            lam = self.eigenvalues
            return self.rho * (lam + self.gamma0) * _exp(self.rho * t) / self.noise(t[..., 0])
        return np.broadcast_to(self.rho * self.growth, np.broadcast_shapes(t.shape, self.growth.shape)).copy()

    def noise_rate(self, t) -> np.ndarray:
        """dc_i/dt."""
        return self.noise_log_rate(t) * self.noise(t)

    def scale(self, t) -> np.ndarray:
        """Per-dimension scale A_i(t) of the flow coordinates u = A * y."""
        t = _times(t)
        lam = self.eigenvalues
        if self.family == "proportional":
            return self.final_scale * np.sqrt(lam / (lam + self.noise(t[..., 0])))
        c_star = self.gamma0 * _exp(self.rho * self.growth.max() * t)
        return np.broadcast_to(
            self.final_scale / np.sqrt(self.lam_star + c_star), np.broadcast_shapes(t.shape, lam.shape)
        ).copy()

    def scale_log_rate(self, t) -> np.ndarray:
        """a_i(t) = (dA_i/dt) / A_i(t)."""
        t = _times(t)
        lam = self.eigenvalues
        if self.family == "proportional":
            c = self.noise(t[..., 0])
            return -0.5 * self.noise_rate(t[..., 0]) / (lam + c)
        g_star = self.growth.max()
        c_star = self.gamma0 * _exp(self.rho * g_star * t)
        rate = -0.5 * self.rho * g_star * c_star / (self.lam_star + c_star)
        return np.broadcast_to(rate, np.broadcast_shapes(t.shape, lam.shape)).copy()

    # ----------------------------------------------------------------- marginals
    def marginal_variance(self, t) -> np.ndarray:
        """v_i(t) = A_i(t)^2 (lam_i + c_i(t)): exact variance of the flowing particles (docs/MATH.md 2)."""
        return self.scale(t) ** 2 * (self.eigenvalues + self.noise(t))

    def latent_variance(self) -> np.ndarray:
        """v_i(T), the variance of the latent Gaussian at the end time."""
        return self.marginal_variance(self.t_max)

    def predicted_pr(self, t) -> np.ndarray:
        """Participation ratio of diag(v(t)) along the schedule."""
        return participation_ratio_of_variances(self.marginal_variance(t))

    def gaussianity(self) -> float:
        """min over kept dims of c_i(T) / lam_i: how strongly noise dominates data at the end.

        Large (>> 1) means the latent is close to Gaussian; near or below 1 means visibly not.
        """
        c_end = self.noise(self.t_max)
        return float(np.min(c_end[self.kept] / self.eigenvalues[self.kept]))

    def end_ratio(self) -> np.ndarray:
        """Compressed-to-kept variance ratio at T, (lam_i + c_i(T)) / (lam_star + c*(T)), per dim."""
        c_end = self.noise(self.t_max)
        return (self.eigenvalues + c_end) / (self.lam_star + c_end.max())

    def stiffness(self) -> float:
        """How far the noise of the fastest-changing dimension moves over [0, T], in e-folds:
        max_i |ln c_i(T) - ln c_i(0)|, i.e. its log-rate times T.

        An explicit solver must follow relaxation at the rate |r_i| / 2 wherever the denoiser does not
        track its input (exact and learned flows at low noise), so its cost grows with this number, and
        beyond about 700 the noise itself leaves float64's range. ``check_solvable`` refuses large ones.
        """
        if self.family == "proportional":
            lam = self.lam_star
            decay = -np.expm1(-self.rho * self.t_max)
            return float(self.rho * self.t_max + np.log((self.gamma0 + lam * decay) / self.gamma0))
        return float(np.max(np.abs(self.rho * self.growth)) * self.t_max)

    def describe(self) -> str:
        """One line for the UI and model cards."""
        text = f"{self.family}"
        if self.family == "reducing":
            text += f" to d={self.dims_to_keep} (inflation gap {self.inflation_gap:.3g})"
        return text + f", gamma0={self.gamma0:g}, rho={self.rho:g}, T={self.t_max:.3g}"

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """JSON-friendly parameters; ``Schedule.from_dict(d, eigenvalues)`` rebuilds it exactly."""
        params = {
            "family": self.family,
            "gamma0": self.gamma0,
            "rho": self.rho,
            "t_max": self.t_max,
            "final_scale": self.final_scale,
            "kappa": self.kappa,
        }
        if self.family == "reducing":
            params.update(dims_to_keep=self.dims_to_keep, inflation_gap=self.inflation_gap)
        return params

    @classmethod
    def from_dict(cls, params: dict, eigenvalues) -> Schedule:
        """Rebuild a schedule from ``to_dict`` output (or untrusted JSON): every field is checked."""
        if not isinstance(params, dict):
            raise ValueError(
                f"Schedule parameters must be a mapping of names to numbers; got {shown(params)}."
            )
        params = dict(params)
        family = params.pop("family", None)
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ValueError(
                f"Unknown schedule parameters: {', '.join(shown(k) for k in unknown[:5])}; "
                f"the known ones are {', '.join(PARAMETERS)}."
            )
        return cls.create(family, eigenvalues, **params)


def check_solvable(schedule: Schedule) -> None:
    """Raise ValueError, before any solve, when a schedule is too stiff to integrate (see ``stiffness``)."""
    stiffness = schedule.stiffness()
    if stiffness <= MAX_STIFFNESS:
        return
    if schedule.family == "reducing" and schedule.inflation_gap > 2:
        fix = (
            f"lower the inflation gap (now {schedule.inflation_gap:.3g}; the default "
            f"{schedule.dim / (schedule.dim - schedule.dims_to_keep):.3g} works)"
        )
    else:
        fix = "lower rho or the end time T (leave T empty for the automatic end time)"
    raise ValueError(
        f"This schedule changes the noise by a factor e^{stiffness:.3g} over the flow (at "
        f"most e^{MAX_STIFFNESS:g}): no ODE solver can follow that, and the noise leaves "
        f"floating-point range. To fix it, {fix}."
    )


def _check_eigenvalues(eigenvalues) -> np.ndarray:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 1:
        raise ValueError(f"eigenvalues must be a 1-D array with at least one entry; got shape {lam.shape}.")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("eigenvalues must be positive and finite (fit them with EigenBasis.fit).")
    if np.any(np.diff(lam) > 1e-12 * lam.max()):
        raise ValueError("eigenvalues must be sorted in descending order (as EigenBasis.fit returns them).")
    return lam.copy()
