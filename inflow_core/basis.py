"""The eigenbasis every schedule is diagonal in (docs/MATH.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_points

# Eigenvalues below EIGENVALUE_FLOOR * lam_1 are raised to it, so no dimension has zero variance
# (D > N, constant or collinear features) and the schedules never divide by zero.
EIGENVALUE_FLOOR = 1e-6
# Values beyond these cannot be fitted in float64: the covariance sums squares of up to 50,000 rows
# (overflow near 1e154), and a spread below 1e-100 squares to below 1e-200, where z-scoring and the
# eigensolver lose it. Such data is refused with a request to rescale it.
MAX_ABS_VALUE = 1e100
MIN_SPREAD = 1e-100


@dataclass(frozen=True)
class EigenBasis:
    """Preprocessing (optional z-scoring) plus the principal axes of the training data.

    ``offset``/``scale`` are the raw per-feature mean and standard deviation used for z-scoring
    (zeros and ones without it). ``mean``, ``vectors`` (columns) and ``eigenvalues`` (descending,
    floored) are in preprocessed units. ``to_eigen``/``from_eigen`` take and return raw data.
    """

    mean: np.ndarray
    vectors: np.ndarray
    eigenvalues: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    standardize: bool

    @classmethod
    def fit(cls, X, standardize: bool = True) -> EigenBasis:
        """Fit the basis to data X (N, D); ValueError with the true reason when X cannot be fitted."""
        X = as_points(X, name="X")
        n, dim = X.shape
        if n < 2:
            raise ValueError(f"Fitting a basis needs at least 2 data points; got {n}.")
        _check_computable(X)
        if standardize:
            offset = X.mean(axis=0)
            std = X.std(axis=0, ddof=1)
            # A constant feature (up to rounding) carries no information; leave it unscaled, not divided by 0.
            varying = std > 1e-12 * np.abs(X).max(axis=0)
            if not varying.any():
                raise ValueError(
                    "Every column is constant up to rounding (it varies by less than 1e-12 of "
                    "its size): the data has no variance, nothing to flow. Use data whose rows "
                    "differ."
                )
            scale = np.where(varying, std, 1.0)
        else:
            offset, scale = np.zeros(dim), np.ones(dim)
        Z = (X - offset) / scale
        mean = Z.mean(axis=0)
        cov = np.atleast_2d(np.cov(Z, rowvar=False))
        eigenvalues, vectors = np.linalg.eigh(cov)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = eigenvalues[order], vectors[:, order]
        # Deterministic signs: the largest-magnitude entry of each axis is positive.
        signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(dim)])
        vectors = vectors * np.where(signs == 0, 1.0, signs)
        eigenvalues = np.maximum(eigenvalues, EIGENVALUE_FLOOR * float(eigenvalues[0]))
        return cls(mean, vectors, eigenvalues, offset, scale, bool(standardize))

    @property
    def dim(self) -> int:
        return int(self.eigenvalues.size)

    def to_eigen(self, X) -> np.ndarray:
        """Raw data (N, D) -> unscaled eigen-coordinates y = W^T (z - mean)."""
        X = as_points(X, dim=self.dim, name="X")
        return ((X - self.offset) / self.scale - self.mean) @ self.vectors

    def from_eigen(self, Y) -> np.ndarray:
        """Unscaled eigen-coordinates (N, D) -> raw data space."""
        Y = as_points(Y, dim=self.dim, name="Y")
        return (Y @ self.vectors.T + self.mean) * self.scale + self.offset

    def linear_map(self) -> np.ndarray:
        """The matrix M with y = M (x - x_mean): W^T diag(1 / scale). Used by uncertainty propagation."""
        return self.vectors.T / self.scale[None, :]

    def raw_mean(self) -> np.ndarray:
        """The training mean in raw data units."""
        return self.mean * self.scale + self.offset

    def explained_variance_ratio(self) -> np.ndarray:
        return self.eigenvalues / self.eigenvalues.sum()

    def state(self) -> dict[str, np.ndarray]:
        """Arrays needed to rebuild the basis (for checkpoints)."""
        return {
            "mean": self.mean,
            "vectors": self.vectors,
            "eigenvalues": self.eigenvalues,
            "offset": self.offset,
            "scale": self.scale,
        }

    @classmethod
    def from_state(cls, state: dict, standardize: bool) -> EigenBasis:
        arrays = {
            k: np.asarray(state[k], dtype=np.float64)
            for k in ("mean", "vectors", "eigenvalues", "offset", "scale")
        }
        dim = arrays["eigenvalues"].shape[0] if arrays["eigenvalues"].ndim == 1 else -1
        shapes_ok = (
            dim > 0
            and arrays["vectors"].shape == (dim, dim)
            and all(arrays[k].shape == (dim,) for k in ("mean", "offset", "scale"))
        )
        if not shapes_ok:
            raise ValueError("Basis arrays have inconsistent shapes.")
        if not all(np.all(np.isfinite(a)) for a in arrays.values()):
            raise ValueError("Basis arrays contain NaN or infinite values.")
        if np.any(arrays["eigenvalues"] <= 0) or np.any(arrays["scale"] <= 0):
            raise ValueError("Basis eigenvalues and scales must be positive.")
        return cls(**arrays, standardize=bool(standardize))


def _check_computable(X: np.ndarray) -> None:
    """Refuse data that float64 cannot fit, saying why: identical rows, values too large or too small."""
    largest = float(np.abs(X).max())
    if largest > MAX_ABS_VALUE:
        raise ValueError(
            f"The data's values reach {largest:.3g}, too large to compute with (their squares "
            "overflow floating point). Rescale the data to units near 1, e.g. divide every "
            f"column by {10.0 ** np.floor(np.log10(largest)):.0e}."
        )
    spread = float(np.ptp(X, axis=0).max())
    if spread == 0:
        raise ValueError(
            f"All {len(X)} points are identical (every column is constant): the data has no "
            "variance, nothing to flow. Use data whose rows differ."
        )
    if spread < MIN_SPREAD:
        raise ValueError(
            f"The data varies by at most {spread:.3g}, too little to compute with (its squares "
            "underflow floating point). Rescale the data to units near 1, e.g. multiply every "
            f"column by {10.0 ** -np.floor(np.log10(spread)):.0e}."
        )
