"""Input checks shared by the library: every array a user can pass is checked here once."""

from __future__ import annotations

from dataclasses import dataclass

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


def shown(value, limit: int = 40) -> str:
    """A short repr of an untrusted value for error messages: at most ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Parameter:
    """The allowed range of one numeric user parameter, in one place for the library, widgets and links.

    ``maximum`` None means the bound depends on the data (``help`` says how; pass it to ``check``);
    ``default`` None means the value is computed automatically, and then None is an accepted value.
    """

    name: str
    kind: type
    minimum: float
    maximum: float | None
    default: float | int | None
    help: str

    def check(self, value, maximum: float | None = None, example: float | int | None = None):
        """``value`` as an int or float within range (None where the default is automatic), or ValueError.

        ``maximum`` supplies a data-dependent upper bound; ``example`` a sensible value for the message.
        """
        upper = self.maximum if maximum is None else maximum
        if value is None and self.default is None:
            return None
        number = _as_float(value)
        if self.kind is int and number != np.floor(number):
            number = float("nan")
        if not (self.minimum <= number and (upper is None or number <= upper) and number < np.inf):
            what = "a whole number" if self.kind is int else "a number"
            fmt = (lambda x: str(int(x))) if self.kind is int else (lambda x: f"{x:g}")  # noqa: E731
            bound = (
                f"from {fmt(self.minimum)} to {fmt(upper)}"
                if upper is not None
                else f"of at least {fmt(self.minimum)}"
            )
            suggestion = example if example is not None else self.default
            hint = (
                f" (e.g. {fmt(suggestion)})"
                if suggestion is not None
                else " (or None for the automatic value)"
            )
            raise ValueError(f"{self.name} must be {what} {bound}{hint}; got {shown(value)}. {self.help}")
        return int(number) if self.kind is int else number


def _as_float(value) -> float:
    """A real number (not a bool) as a float; NaN for anything else, including ints beyond float range."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return float("nan")
    try:
        return float(value)
    except OverflowError:
        return float("nan")
