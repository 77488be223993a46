"""Figures of merit: participation ratio, two-sample energy distance, round-trip error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .validation import as_points

# Pairwise-distance blocks are computed in chunks of at most this many entries (float64: 128 MB).
_BLOCK = 16_000_000


def participation_ratio(cov) -> float:
    """PR(S) = (tr S)^2 / tr(S^2) of a covariance matrix, or of a vector of variances."""
    S = np.asarray(cov, dtype=np.float64)
    if S.ndim == 1:
        return float(S.sum() ** 2 / (S**2).sum())
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"participation_ratio needs a square matrix or a vector; got shape {S.shape}.")
    return float(np.trace(S) ** 2 / np.sum(S * S))


def measured_pr(points) -> float:
    """Participation ratio of the empirical covariance of a point cloud (N, D)."""
    X = as_points(points, name="points")
    return participation_ratio(np.atleast_2d(np.cov(X, rowvar=False)))


def _mean_distance(A: torch.Tensor, B: torch.Tensor) -> float:
    chunk = max(1, _BLOCK // max(1, B.shape[0]))
    total = 0.0
    for start in range(0, A.shape[0], chunk):
        total += torch.cdist(A[start : start + chunk], B).sum().item()
    return total / (A.shape[0] * B.shape[0])


def energy_distance(X, Y) -> float:
    """Energy distance 2 E|x - y| - E|x - x'| - E|y - y'| between two samples (V-statistic).

    It is zero only for identical samples and positive otherwise, so two independent draws of
    one distribution give a positive floor of order 1/n: compare figures to that floor.
    """
    A = torch.as_tensor(as_points(X, name="X"))
    B = torch.as_tensor(as_points(Y, dim=A.shape[1], name="Y"))
    return 2 * _mean_distance(A, B) - _mean_distance(A, A) - _mean_distance(B, B)


@dataclass(frozen=True)
class RoundTripError:
    """Distance between points and their encode -> decode round trip, in data units."""

    max_abs: float
    mean_abs: float
    max_norm: float

    def describe(self) -> str:
        return f"max |error| {self.max_abs:.2e}, mean {self.mean_abs:.2e} (data units)"


def round_trip_error(X, X_back) -> RoundTripError:
    """Largest and mean absolute coordinate error, and largest per-point Euclidean error."""
    A = as_points(X, name="X")
    B = as_points(X_back, dim=A.shape[1], name="X_back")
    if A.shape != B.shape:
        raise ValueError(f"Round trip compares equal shapes; got {A.shape} and {B.shape}.")
    diff = np.abs(A - B)
    return RoundTripError(float(diff.max()), float(diff.mean()), float(np.linalg.norm(A - B, axis=1).max()))
