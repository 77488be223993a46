"""Denoisers Den(y, t) = E[y_0 | y_t = y] behind one call signature (docs/MATH.md section 5).

Every denoiser is a callable ``den(y, t, noise) -> (N, D)`` tensor, where ``y`` is an (N, D)
tensor of unscaled eigen-coordinates, ``t`` a float and ``noise`` the (D,) tensor c(t) of the
schedule. Denoisers are ``torch.nn.Module``s so that ``.to(device, dtype)`` moves them.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import numpy as np
import torch

from .validation import as_points

# Size of the (queries x references) logit block one chunk materialises: about 1 MB of float64,
# so each block stays in cache while it is exponentiated and reduced (measured ~2x faster than one
# big block on 2,000 x 2,000), and memory stays small for any number of queries.
_BLOCK_ENTRIES = 131_072
# Pruning (EmpiricalDenoiser): neighbours along the sort key whose gaps bound a query's smallest gap, and
# the fraction of query-reference pairs above which visiting all references is cheaper (no sorting).
_PROBES = 4
_DENSE_ABOVE = 0.75
# The fixed cost of one block of the kernel (a few torch calls, ~30 us), in query-reference pairs (~3 ns).
_BLOCK_COST = 10_000
# The float32 kernel (see EmpiricalDenoiser._use_float32 and for_tolerance).
FLOAT32_MAX_LOGIT = 1000.0
FLOAT32_KERNEL_MIN_TOL = 1e-5


class GaussianDenoiser(torch.nn.Module):
    """Closed form for Gaussian data: Den_i = lam_i / (lam_i + c_i) * y_i. Exact, no training."""

    kind = "gaussian"
    exact = True

    def __init__(self, eigenvalues):
        super().__init__()
        lam = np.asarray(eigenvalues, dtype=np.float64)
        if lam.ndim != 1 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError("GaussianDenoiser needs positive, finite eigenvalues (a 1-D array).")
        self.register_buffer("eigenvalues", torch.as_tensor(lam))

    @property
    def dim(self) -> int:
        return int(self.eigenvalues.numel())

    def forward(self, y: torch.Tensor, t: float, noise: torch.Tensor) -> torch.Tensor:
        lam = self.eigenvalues.to(y.dtype)
        return y * (lam / (lam + noise))


class EmpiricalDenoiser(torch.nn.Module):
    """Exact denoiser of the empirical distribution of M reference points (a softmax mixture).

    It needs no training and gives the exact flow of the training set; generating with it
    reproduces training points (up to the tiny blur c(0)). Cost O(N * M * D) per call at most,
    chunked; where the noise is small only the references that can carry weight are visited (_plan),
    which changes the result by rounding only.

    ``kernel_dtype`` is the precision of the softmax kernel: ``None`` (default) computes in the
    queries' dtype (float64 on CPU: exact to rounding) when called directly, and lets a flow solve at
    a loose tolerance use the float32 kernel (``for_tolerance``); ``torch.float64`` always computes in
    float64; ``torch.float32`` uses the float32 kernel wherever its logits are small enough
    (``_use_float32``), which is about 2x faster per reference visited.
    """

    kind = "empirical"
    exact = True

    def __init__(
        self, reference, block_entries: int = _BLOCK_ENTRIES, kernel_dtype: torch.dtype | None = None
    ):
        super().__init__()
        ref = as_points(reference, name="reference")
        if kernel_dtype not in (None, torch.float32, torch.float64):
            raise ValueError(
                f"kernel_dtype must be None, torch.float32 or torch.float64; got {kernel_dtype}."
            )
        self.register_buffer("reference", torch.as_tensor(ref))
        self.block_entries = int(block_entries)
        self.kernel_dtype = kernel_dtype
        self._sorted = {}

    @property
    def dim(self) -> int:
        return int(self.reference.shape[1])

    def _apply(self, fn, *args, **kwargs):
        self._sorted = {}  # cached copies follow the reference to its new device or dtype
        return super()._apply(fn, *args, **kwargs)

    def for_tolerance(self, tol: float) -> EmpiricalDenoiser:
        """The denoiser a solve at tolerance ``tol`` should use: the float32 kernel when its error is far
        below ``tol`` and the kernel precision was left to the solve, else this one.

        The float32 kernel moves Den by a few 1e-6 of the data's spread; the field carries that times
        (r/2) A <= 1/2. Measured on circles (both default schedules, 2,000 points, solved at 1e-8 to see
        it alone): the frames move by <= 1.7e-6, 6x below the default tolerance and 60x below the
        solver's own latent error there. Tighter solves (references, likelihoods) stay in float64.
        """
        if self.kernel_dtype is not None or tol < FLOAT32_KERNEL_MIN_TOL:
            return self
        twin = copy.copy(self)  # shares the reference and the caches
        twin.kernel_dtype = torch.float32
        return twin

    def _sorted_by(self, k: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The references ordered along dimension k, as (M, D) and as contiguous (D, M), in ``dtype``."""
        key = (k, dtype)
        if key not in self._sorted:
            ref = self.reference[torch.argsort(self.reference[:, k])].to(dtype)
            self._sorted[key] = (ref, ref.T.contiguous())
        return self._sorted[key]

    def _extent(self, dtype: torch.dtype) -> torch.Tensor:
        """Range of the references along each dimension."""
        key = ("extent", dtype)
        if key not in self._sorted:
            self._sorted[key] = (self.reference.amax(0) - self.reference.amin(0)).to(dtype)
        return self._sorted[key]

    def forward(self, y: torch.Tensor, t: float, noise: torch.Tensor) -> torch.Tensor:
        dtype = y.dtype
        inv_sd = noise.to(dtype).rsqrt()
        # Everything in units of the noise's standard deviation. References are sorted along the dimension
        # in which the kernel is narrowest relative to the data, so those that can carry weight for a
        # query form one contiguous range (see _plan).
        ys = y * inv_sd
        k = int(torch.argmax(self._extent(dtype) * inv_sd))
        ref, ref_t = self._sorted_by(k, dtype)
        ref_s = ref * inv_sd
        plan = _plan(ys.detach(), ref_s.detach(), k, self.block_entries)
        if self._use_float32(ys.detach(), ref_s.detach(), k, plan):
            return _kernel(ys.float(), ref_s.float(), self._sorted_by(k, torch.float32)[1], k, plan).to(dtype)
        return _kernel(ys, ref_s, ref_t, k, plan)

    def _use_float32(self, ys: torch.Tensor, ref_s: torch.Tensor, k: int, plan: _Plan) -> bool:
        """The float32 kernel only where every logit is bounded (|logit| <= sum_i |y_i| |y_j,i| + |y_j|^2 / 2,
        per block after centring): a logit of size L carries a float32 rounding error ~ L * 6e-8, which
        moves Den by about that times the posterior's spread. Larger logits (small noise along an
        uncentred dimension) stay in float64. Measured on circles at solver tolerance 1e-8: with the bound
        at 1,000 the frames move by <= 1.7e-6 against float64; with no bound by 5e-6, and the solver needs
        more steps (the rounding shows in its error estimate)."""
        if self.kernel_dtype != torch.float32 or ys.dtype == torch.float32:
            return False
        q, r = ys.abs().amax(dim=0), ref_s.abs().amax(dim=0)
        if plan.order is not None:
            q[k] = r[k] = plan.half_span
        return float((q * r).sum() + 0.5 * (r * r).sum()) <= FLOAT32_MAX_LOGIT


class _Plan(NamedTuple):
    """How the kernel visits the references: queries in ``order`` (None: as given) in blocks of ``rows``;
    block i visits the sorted references [lo[i], hi[i]) with the sort coordinate centred at centre[i]
    (None: no centring); ``half_span`` bounds every centred sort coordinate."""

    order: torch.Tensor | None
    rows: int
    lo: list
    hi: list
    centre: list | None
    half_span: float


def _kernel(ys, ref_s, ref_t, k, plan):
    """Den = softmax(logits) @ references for each block of queries.

    log w_j = -|y - y_j|^2 / 2 + const = y.y_j - |y_j|^2 / 2 (+ a term constant in j). Dropping |y|^2
    avoids the cancellation of the expanded square when c is tiny; centring the sort coordinate of a
    block changes every logit of a query by the same constant and keeps the numbers small.
    ``ref_t @ w.T`` (D, rows) is ~3x faster than ``w @ ref`` (rows, D) on CPU: both operands run along
    their contiguous rows.
    """
    queries = ys if plan.order is None else ys[plan.order]
    ref_s_t = ref_s.T.contiguous()
    half = 0.5 * (ref_s_t * ref_s_t).sum(dim=0) if plan.centre is None else None
    out = torch.empty_like(queries)
    for i, start in enumerate(range(0, queries.shape[0], plan.rows)):
        lo, hi = plan.lo[i], plan.hi[i]
        yb, rb = queries[start : start + plan.rows], ref_s_t[:, lo:hi]
        if plan.centre is None:
            hb = half[lo:hi]
        else:
            yb, rb = yb.clone(), rb.clone()
            yb[:, k] -= plan.centre[i]
            rb[k] -= plan.centre[i]
            hb = 0.5 * (rb * rb).sum(dim=0)
        logits = torch.addmm(hb, yb, rb, beta=-1)
        out[start : start + plan.rows] = (ref_t[:, lo:hi] @ torch.softmax(logits, dim=1).T).T
    return out if plan.order is None else torch.empty_like(out).index_copy_(0, plan.order, out)


def _plan(ys, ref_s, k, block_entries) -> _Plan:
    """Which references each block of queries must visit: all of them, or where the kernel is narrow
    along k, a range around the block that provably holds all the weight.

    ``ys`` (N, D) queries and ``ref_s`` (M, D) references sorted along column k, in noise-std units.
    A reference j with |y_k - y_j,k| >= w is dropped when w^2 / 2 >= g + margin, with g the gap
    |y - y_i|^2 / 2 to some reference i (here the best of a few neighbours along k, an upper bound on
    the smallest gap): its weight is then below exp(-margin) times the largest one, and all dropped
    references together carry less than M exp(-margin) = eps of the total weight, i.e. rounding.
    """
    n, n_ref = ys.shape[0], ref_s.shape[0]
    rows = max(1, block_entries // n_ref)
    n_blocks = -(-n // rows)
    dense = _Plan(None, rows, [0] * n_blocks, [n_ref] * n_blocks, None, 0.0)
    margin = math.log(n_ref / torch.finfo(ys.dtype).eps)
    key, q = ref_s[:, k].contiguous(), ys[:, k]
    if max(float(q.max()), float(key[-1])) - min(float(q.min()), float(key[0])) <= math.sqrt(2 * margin):
        return dense  # the kernel is wider than the data along k: every reference counts
    order = torch.argsort(q)
    q = q[order]
    near = torch.searchsorted(key, q)[:, None] + torch.arange(-_PROBES, _PROBES, device=ys.device)
    gap = 0.5 * (ys[order][:, None, :] - ref_s[near.clamp_(0, n_ref - 1)]).square().sum(dim=-1).amin(dim=1)
    width = (2 * (gap + margin)).sqrt()
    lo = torch.searchsorted(key, q - width)
    hi = torch.searchsorted(key, q + width, right=True)
    visited = float((hi - lo).sum()) / (n * n_ref)
    if visited > _DENSE_ABOVE:
        return dense
    # A block visits the union of its queries' ranges: small blocks visit fewer references, large ones
    # pay the fixed cost of a block less often. Take the cheapest of a few sizes.
    best = None
    for rows in (32, 128, 512):
        if best is not None and rows * visited * n_ref > block_entries:
            break
        lo_b, hi_b = _block_reduce(lo, rows, torch.amin), _block_reduce(hi, rows, torch.amax)
        cost = float((hi_b - lo_b).sum()) * rows + len(lo_b) * _BLOCK_COST
        if best is None or cost < best[0]:
            best = (cost, rows, lo_b, hi_b)
    _, rows, lo, hi = best
    # Centre each block's sort coordinate in the middle of its queries and references.
    low = torch.minimum(_block_reduce(q, rows, torch.amin), key[lo])
    high = torch.maximum(_block_reduce(q, rows, torch.amax), key[hi - 1])
    return _Plan(
        order, rows, lo.tolist(), hi.tolist(), (0.5 * (low + high)).tolist(), float(0.5 * (high - low).max())
    )


def _block_reduce(x: torch.Tensor, rows: int, reduce) -> torch.Tensor:
    """``reduce`` over consecutive blocks of ``rows`` entries of a 1-D tensor (the last one may be short)."""
    full = (x.shape[0] // rows) * rows
    parts = [reduce(x[:full].view(-1, rows), dim=1)] if full else []
    if full < x.shape[0]:
        parts.append(reduce(x[full:], dim=0, keepdim=True))
    return torch.cat(parts)
