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
LOG2E = 1.0 / math.log(2.0)


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
    float64; ``torch.float32`` exponentiates the weights in float32 (their sums stay in the queries'
    dtype), and computes the logits in float32 too wherever they are small enough (``_use_float32``),
    else in float64 (a logit's rounding is relative to its size; a weight's is relative to the weight).
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
        it alone): the frames move by <= 7.5e-7 (isotropic; 3.1e-7 reducing to 1), 13x below the
        default tolerance and over 100x below the solver's own latent error there. Tighter solves
        (references, likelihoods) stay in float64.
        """
        if self.kernel_dtype is not None or tol < FLOAT32_KERNEL_MIN_TOL:
            return self
        twin = copy.copy(self)  # shares the reference and the caches
        twin.kernel_dtype = torch.float32
        return twin

    def _sorted_by(self, k: int, dtype: torch.dtype) -> torch.Tensor:
        """The references ordered along dimension k, (M, D), in ``dtype``."""
        key = (k, dtype)
        if key not in self._sorted:
            self._sorted[key] = self.reference[torch.argsort(self.reference[:, k])].to(dtype)
        return self._sorted[key]

    def _summed(self, k: int, dtype: torch.dtype) -> torch.Tensor:
        """The sorted references as contiguous (D + 1, M) rows with a last row of ones: one product with
        the weights gives the weighted sums and the sum of the weights."""
        key = ("summed", k, dtype)
        if key not in self._sorted:
            ref = self._sorted_by(k, dtype)
            self._sorted[key] = torch.cat([ref.T, ref.new_ones(1, ref.shape[0])]).contiguous()
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
        ref_s = self._sorted_by(k, dtype) * inv_sd
        weights = torch.float32 if self.kernel_dtype == torch.float32 else dtype
        plan = _plan(ys.detach(), ref_s.detach(), k, self.block_entries, torch.finfo(weights).eps)
        summed = self._summed(k, dtype)
        # Float32 weights (their rounding is relative, ~6e-8 of each weight); float32 logits only where
        # they are bounded, else the logits and their shift by the row's largest stay in float64.
        if weights != dtype and self._use_float32(ys.detach(), ref_s.detach()):
            ys, ref_s = ys.float(), ref_s.float()
        return _kernel(ys, ref_s, summed, plan, weights)

    def _use_float32(self, ys: torch.Tensor, ref_s: torch.Tensor) -> bool:
        """Float32 logits only where every logit is bounded (|logit| <= sum_i |y_i| |y_j,i| + |y_j|^2 / 2):
        a logit of size L carries a float32 rounding error ~ L * 6e-8, which moves Den by about that
        times the posterior's spread. Larger logits (small noise) stay in float64, where that error is
        ~1e-16 L. Measured on circles at solver tolerance 1e-8: with the bound at 1,000 the frames move
        by <= 1.7e-6 against float64; with no bound by 5e-6, and the solver needs more steps (the
        rounding shows in its error estimate)."""
        q, r = ys.abs().amax(dim=0), ref_s.abs().amax(dim=0)
        return float((q * r).sum() + 0.5 * (r * r).sum()) <= FLOAT32_MAX_LOGIT


class _Plan(NamedTuple):
    """How the kernel visits the references: queries in ``order`` (None: as given) in blocks of ``rows``;
    block i visits the sorted references [lo[i], hi[i])."""

    order: torch.Tensor | None
    rows: int
    lo: list
    hi: list


def _kernel(ys, ref_s, summed, plan, weights):
    """Den = sum_j w_j y_j / sum_j w_j for each block of queries, w_j = 2^(l_j - max_j l_j) with the logits
    l_j = log2(e) (y.y_j - |y_j|^2 / 2) (the Gaussian log-weight in base 2, up to a term constant in j).

    Dropping |y|^2 avoids the cancellation of the expanded square when c is tiny. The logits are
    computed and shifted in the queries' dtype, exponentiated in ``weights`` and summed in ``summed``'s
    (the (D + 1, M) unscaled references and a row of ones): float32 sums of ~1,000 terms round enough to
    show in the solver's error estimate (circles: 86 -> 92 and 116 -> 128 field evaluations), and where
    the noise is wide, where they cost no evaluations, they still moved SBC's ranks (exact isotropic
    flow, 200 x 500: one weight's p-value 0.12 -> 0.0063); float32 weights do not. Base 2 because
    ``exp2`` runs ~2x faster than ``exp`` on CPU (float32); one product with the ones row replaces
    softmax's normalising passes. ``summed @ w.T`` (D + 1, rows) is ~3x faster than ``w @ ref``
    (rows, D) on CPU: both operands run along their contiguous rows.
    """
    queries = ys if plan.order is None else ys[plan.order]
    ref_s_t = ref_s.T.contiguous()
    half = (0.5 * LOG2E) * (ref_s_t * ref_s_t).sum(dim=0)
    dim = queries.shape[1]
    out = queries.new_empty(queries.shape, dtype=summed.dtype)

    for i, start in enumerate(range(0, queries.shape[0], plan.rows)):
        lo, hi = plan.lo[i], plan.hi[i]
        rows = slice(start, start + plan.rows)
        logits = torch.addmm(half[lo:hi], queries[rows], ref_s_t[:, lo:hi], beta=-1, alpha=LOG2E)
        sums = summed[:, lo:hi] @ _weights(logits, weights).to(summed.dtype).T
        out[rows] = (sums[:dim] / sums[dim]).T
    return out if plan.order is None else torch.empty_like(out).index_copy_(0, plan.order, out)


def _weights(logits: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """2^(logits - the row's largest), shifted in the logits' precision and exponentiated in ``dtype``.

    Shifts below log2 of the smallest normal number are raised to it: weights that small change no sum
    (M of them add M 2^-126 to a largest weight of 1 in float32), and producing subnormal or underflowing
    results is ~3x slower per element on CPU (most weights are that small where the noise is narrow).
    Without gradients every step works in place (the logits are a scratch block).
    """
    peak = logits.amax(dim=1, keepdim=True)
    floor = math.log2(torch.finfo(dtype).tiny)
    if logits.requires_grad:
        return (logits - peak).clamp(min=floor).to(dtype).exp2()
    return logits.sub_(peak).clamp_(min=floor).to(dtype).exp2_()


def _plan(ys, ref_s, k, block_entries, eps) -> _Plan:
    """Which references each block of queries must visit: all of them, or where the kernel is narrow
    along k, a range around the block that provably holds all the weight.

    ``ys`` (N, D) queries and ``ref_s`` (M, D) references sorted along column k, in noise-std units.
    A reference j with |y_k - y_j,k| >= w is dropped when w^2 / 2 >= g + margin, with g the gap
    |y - y_i|^2 / 2 to some reference i (here the best of a few neighbours along k, an upper bound on
    the smallest gap): its weight is then below exp(-margin) times the largest one, and all dropped
    references together carry less than M exp(-margin) = eps of the total weight, i.e. the rounding of
    the weights' dtype (``eps``: its machine epsilon).
    """
    n, n_ref = ys.shape[0], ref_s.shape[0]
    rows = max(1, block_entries // n_ref)
    n_blocks = -(-n // rows)
    dense = _Plan(None, rows, [0] * n_blocks, [n_ref] * n_blocks)
    margin = math.log(n_ref / eps)
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
    return _Plan(order, rows, lo.tolist(), hi.tolist())


def _block_reduce(x: torch.Tensor, rows: int, reduce) -> torch.Tensor:
    """``reduce`` over consecutive blocks of ``rows`` entries of a 1-D tensor (the last one may be short)."""
    full = (x.shape[0] // rows) * rows
    parts = [reduce(x[:full].view(-1, rows), dim=1)] if full else []
    if full < x.shape[0]:
        parts.append(reduce(x[full:], dim=0, keepdim=True))
    return torch.cat(parts)
