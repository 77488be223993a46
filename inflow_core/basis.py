"""The eigenbasis every schedule is diagonal in (docs/MATH.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_points

# Eigenvalues below EIGENVALUE_FLOOR * lam_1 are raised to it, so no dimension has zero variance
# (D > N, constant or collinear features) and the schedules never divide by zero.
EIGENVALUE_FLOOR = 1e-6


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
        X = as_points(X, name="X")
        n, dim = X.shape
        if n < 2:
            raise ValueError(f"Fitting a basis needs at least 2 data points; got {n}.")
        if standardize:
            offset = X.mean(axis=0)
            std = X.std(axis=0, ddof=1)
            # A constant feature carries no information; leave it unscaled instead of dividing by 0.
            scale = np.where(std > 1e-12 * max(1.0, float(np.abs(X).max())), std, 1.0)
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
        top = max(float(eigenvalues[0]), 1e-300)
        if top <= 1e-300 or not np.isfinite(top):
            raise ValueError("The data has no variance (all points identical); nothing to flow.")
        eigenvalues = np.maximum(eigenvalues, EIGENVALUE_FLOOR * top)
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
