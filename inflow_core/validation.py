"""Input checks shared by the library: every array a user can pass is checked here once."""

from __future__ import annotations

import numpy as np
import torch


def as_points(X, dim: int | None = None, name: str = "X", allow_single: bool = False) -> np.ndarray:
    """Return X as a float64 (N, D) array, or raise ValueError saying what to change.

    With ``allow_single`` a single (D,) point is accepted and returned as (1, D).
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array; could not convert it ({err}).") from None
    if allow_single and arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D); got shape {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one point with one feature.")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns but the model expects D = {dim}; "
            "use data with the same features the model was fitted on."
        )
    if not np.all(np.isfinite(arr)):
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(
            f"{name} contains NaN or infinite values in {bad} row(s); remove or fill them first."
        )
    return arr


def check_positive_int(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number within [minimum, maximum], or a ValueError naming the range."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be a whole number of at least {minimum}{upper}; got {value!r}.")
    return int(value)
