"""Denoisers Den(y, t) = E[y_0 | y_t = y] behind one call signature (docs/MATH.md section 5).

Every denoiser is a callable ``den(y, t, noise) -> (N, D)`` tensor, where ``y`` is an (N, D)
tensor of unscaled eigen-coordinates, ``t`` a float and ``noise`` the (D,) tensor c(t) of the
schedule. Denoisers are ``torch.nn.Module``s so that ``.to(device, dtype)`` moves them.
"""

from __future__ import annotations

import numpy as np
import torch

from .validation import as_points

# Size of the (queries x references) logit block one chunk materialises: about 1 MB of float64,
# so each block stays in cache while it is exponentiated and reduced (measured ~2x faster than one
# big block on 2,000 x 2,000), and memory stays small for any number of queries.
_BLOCK_ENTRIES = 131_072


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
    reproduces training points (up to the tiny blur c(0)). Cost O(N * M * D) per call, chunked.
    """

    kind = "empirical"
    exact = True

    def __init__(self, reference, block_entries: int = _BLOCK_ENTRIES):
        super().__init__()
        ref = as_points(reference, name="reference")
        self.register_buffer("reference", torch.as_tensor(ref))
        self.block_entries = int(block_entries)

    @property
    def dim(self) -> int:
        return int(self.reference.shape[1])

    def forward(self, y: torch.Tensor, t: float, noise: torch.Tensor) -> torch.Tensor:
        ref = self.reference.to(y.dtype)
        inv_sd = noise.to(y.dtype).rsqrt()
        ref_s = ref * inv_sd
        # log w_j = -|y - y_j|^2_C / 2 + const = y.y_j - |y_j|^2 / 2 (+ a term constant in j).
        # Dropping |y|^2 avoids the cancellation of the expanded square when c is tiny.
        half_norm = 0.5 * (ref_s * ref_s).sum(dim=1)
        ref_s_t = ref_s.T.contiguous()
        ys_all = y * inv_sd
        chunk = max(1, self.block_entries // ref.shape[0])
        out = torch.empty_like(y)
        for start in range(0, y.shape[0], chunk):
            logits = torch.addmm(half_norm, ys_all[start : start + chunk], ref_s_t, beta=-1)
            out[start : start + chunk] = torch.softmax(logits, dim=1) @ ref
        return out
