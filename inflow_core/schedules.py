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

FAMILIES = ("isotropic", "reducing", "proportional")

# Exponents are clipped here so exp() never overflows for wild solver probes (exp(700) ~ 1e304).
_MAX_EXPONENT = 700.0
# Defaults (docs/MATH.md section 4): noise variance at t = 0, its exponential rate, and the sharpness of
# the auto end time (the fastest dimension's noise reaches kappa * lam_star).
DEFAULT_GAMMA0 = 5e-4
DEFAULT_RHO = 1.0
DEFAULT_KAPPA = 1000.0


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
        d = int(dims_to_keep)
        if dim < 2:
            raise ValueError("A reducing schedule needs data with at least 2 dimensions; use isotropic.")
        if not 1 <= d <= dim - 1 or d != dims_to_keep:
            raise ValueError(
                f"dims_to_keep must be a whole number from 1 to {dim - 1} (D - 1); got {dims_to_keep}."
            )
        gap = dim / (dim - d) if inflation_gap is None else float(inflation_gap)
        if not np.isfinite(gap) or gap <= 0:
            raise ValueError(
                f"inflation_gap must be a positive number (e.g. {dim / (dim - d):.3g}); got {inflation_gap}."
            )
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
        """Build a schedule by family name (used by the app, the CLI and checkpoints)."""
        if family not in FAMILIES:
            raise ValueError(f"Unknown schedule family {family!r}; choose one of {', '.join(FAMILIES)}.")
        return getattr(cls, family)(eigenvalues, **params)

    @classmethod
    def _build(cls, family, lam, gamma0, rho, final_scale, growth, t_max, kappa, d, gap) -> Schedule:
        for name, value in (("gamma0", gamma0), ("rho", rho), ("final_scale", final_scale), ("kappa", kappa)):
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number; got {value}.")
        sched = cls(
            family, lam, float(gamma0), float(rho), float(final_scale), growth, 0.0, float(kappa), d, gap
        )
        end = sched.auto_t_max() if t_max is None else float(t_max)
        if not np.isfinite(end) or end <= 0:
            raise ValueError(f"t_max must be a positive finite time (or None for auto); got {t_max}.")
        object.__setattr__(sched, "t_max", end)
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
        params = dict(params)
        family = params.pop("family", None)
        allowed = {"gamma0", "rho", "t_max", "final_scale", "kappa", "dims_to_keep", "inflation_gap"}
        unknown = set(params) - allowed
        if unknown:
            raise ValueError(f"Unknown schedule parameters: {sorted(unknown)}.")
        return cls.create(family, eigenvalues, **params)


def _check_eigenvalues(eigenvalues) -> np.ndarray:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 1:
        raise ValueError(f"eigenvalues must be a 1-D array with at least one entry; got shape {lam.shape}.")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("eigenvalues must be positive and finite (fit them with EigenBasis.fit).")
    if np.any(np.diff(lam) > 1e-12 * lam.max()):
        raise ValueError("eigenvalues must be sorted in descending order (as EigenBasis.fit returns them).")
    return lam.copy()
