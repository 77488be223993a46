"""The learned denoiser: a small residual MLP inside EDM-style per-dimension preconditioning (docs/MATH.md 5).

With ``sd = lam_i`` (data variance of eigen-dimension i) and ``sn = c_i(t)`` (its noise variance):

    c_in  = 1 / sqrt(sd + sn)        c_skip = sd / (sd + sn)        c_out = sqrt(sd sn / (sd + sn))
    Den(y, t) = c_skip * y + c_out * F_theta(c_in * y, cond(t))

so the network's input and its regression target both have unit variance at every noise level,
and the Gaussian denoiser is the special case F = 0.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

ARCHITECTURE = "resmlp-v1"
# Frequencies pi * k, k = 1..N_FREQ, of the time embedding: smooth in t (high frequencies would make
# the field wiggle in time and cost the ODE solver steps), rich enough for the denoiser's time dependence.
N_FREQ = 8
# Flow solves at this tolerance or looser run a float64 network in float32 (see for_tolerance).
FLOAT32_MIN_TOL = 1e-5
# Evaluations without gradients (flow solves) run the network on blocks of this many rows: measured on one
# CPU thread, 100,000 points took 1.38 s in one block, 0.42 s in blocks of 1,024 and 0.52 s of 2,048 or 0.56 s
# of 512; 2,000 points 11.5 against 9.3 ms. (ResidualMLP.evaluate: 0.35-0.38 s on one thread, 0.20 s on two.)
CHUNK_ROWS = 1024


def preconditioning(lam: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(c_in, c_skip, c_out) of docs/MATH.md 5 for data variances ``lam`` and noise variances ``noise``."""
    total = lam + noise
    return total.rsqrt(), lam / total, (lam * noise / total).sqrt()


def time_features(s: torch.Tensor) -> torch.Tensor:
    """Fourier features of normalised time s = t / T: (K,) -> (K, 2 N_FREQ + 1)."""
    freqs = math.pi * torch.arange(1, N_FREQ + 1, dtype=s.dtype, device=s.device)
    angles = s[:, None] * freqs
    return torch.cat([s[:, None], angles.sin(), angles.cos()], dim=1)


class ResidualMLP(nn.Module):
    """F_theta: input layer, ``depth`` residual layers h += W_k silu(h + e_k(t)), linear output."""

    def __init__(self, dim: int, width: int = 128, depth: int = 4):
        super().__init__()
        self.width, self.depth = width, depth
        self.inp = nn.Linear(dim, width)
        # Each layer gets its own Fourier series in t (one linear map). A hidden time MLP (17 -> 128 -> 512)
        # cost 14.2 against 10.6 ms per step at batch 1024 on one CPU thread, and gave the same energy
        # distance after a 15 s budget (measured once on circles, before fresh-data training).
        self.time = nn.Linear(2 * N_FREQ + 1, width * depth)
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, dim)
        # Start at F = 0, i.e. at the Gaussian denoiser, the best linear guess.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        emb = self.time(time_features(s)).view(-1, self.depth, self.width)
        h = self.inp(x)
        for k, layer in enumerate(self.layers):
            h = h + layer(nn.functional.silu(h + emb[:, k]))
        return self.out(nn.functional.silu(h))

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, s: torch.Tensor, rows: int) -> torch.Tensor:
        """``forward`` without gradients, in blocks of ``rows`` rows: the same function, computed in place
        in two activation buffers per block (small enough to stay in the CPU's cache) with the weights
        transposed once, where ``forward`` allocates a new array for every operation. ``s`` is (1,) or
        one time per row."""
        emb = self.time(time_features(s)).view(-1, self.depth, self.width)
        w_in, w_out = self.inp.weight.T, self.out.weight.T
        weights = [layer.weight.T.contiguous() for layer in self.layers]
        out = x.new_empty(x.shape[0], w_out.shape[1])
        for start in range(0, x.shape[0], rows):
            block = slice(start, start + rows)
            e = emb if emb.shape[0] == 1 else emb[block]
            h = torch.addmm(self.inp.bias, x[block], w_in)
            a = torch.empty_like(h)
            for k, layer in enumerate(self.layers):
                nn.functional.silu(torch.add(h, e[:, k], out=a), inplace=True)
                h.addmm_(a, weights[k]).add_(layer.bias)
            torch.addmm(self.out.bias, nn.functional.silu(h, inplace=True), w_out, out=out[block])
        return out


class NetworkDenoiser(nn.Module):
    """Learned denoiser with the exact denoisers' call signature ``den(y, t, noise) -> (N, D)``.

    ``t`` may be a float (flow integration) or an (N,) tensor (training). The network computes in
    its own parameter dtype; inputs are cast to it and results cast back.
    """

    kind = "network"
    exact = False

    def __init__(self, eigenvalues, t_max: float, width: int = 128, depth: int = 4):
        super().__init__()
        lam = np.asarray(eigenvalues, dtype=np.float64)
        if lam.ndim != 1 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError("NetworkDenoiser needs positive, finite eigenvalues (a 1-D array).")
        if not (np.isfinite(t_max) and t_max > 0):
            raise ValueError(f"t_max must be a positive time; got {t_max}.")
        if not (1 <= width <= 4096 and 1 <= depth <= 64):
            raise ValueError(f"width must be 1..4096 and depth 1..64; got {width}, {depth}.")
        self.t_max = float(t_max)
        self.register_buffer("eigenvalues", torch.as_tensor(lam, dtype=torch.float32))
        self.net = ResidualMLP(lam.size, int(width), int(depth))

    @property
    def dim(self) -> int:
        return int(self.eigenvalues.numel())

    def config(self) -> dict:
        """The architecture, as stored in checkpoints."""
        return {
            "architecture": ARCHITECTURE,
            "dim": self.dim,
            "width": self.net.width,
            "depth": self.net.depth,
            "t_max": self.t_max,
            "n_freq": N_FREQ,
        }

    def forward(self, y: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
        dtype = self.eigenvalues.dtype
        yy = y.to(dtype)
        c_in, c_skip, c_out = preconditioning(self.eigenvalues, noise.to(dtype))
        # One time embedding when all rows share the time (a float t, as in flow solves), broadcast over
        # the rows: computing it per row cost ~15 % of a 2,000-point evaluation. Training passes (N,) times.
        s = torch.as_tensor(t, dtype=dtype, device=yy.device).reshape(-1) / self.t_max
        if s.numel() > 1 and bool((s == s[0]).all()):
            s = s[:1]
        x = c_in * yy
        # Without gradients: blocks whose activations stay in the CPU's cache (~3x faster for 100,000 points)
        out = self.net(x, s) if torch.is_grad_enabled() else self.net.evaluate(x, s, CHUNK_ROWS)
        return (c_skip * yy + c_out * out).to(y.dtype)

    def for_tolerance(self, tol: float) -> NetworkDenoiser:
        """The denoiser a flow solve at tolerance ``tol`` should use: a float32 copy of a float64 network
        when tol >= 1e-5 (about 2x faster on CPU; its rounding, ~1e-7 of Den, moves the latent far less
        than the tolerance and far less than the network's own error), else this one."""
        if tol < FLOAT32_MIN_TOL or self.eigenvalues.dtype != torch.float64:
            return self
        return copy.deepcopy(self).float()

    def loss(self, y0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """docs/MATH.md 5: batch mean of sum_i ((Den_i(y0 + n, t) - y0_i) / c_out_i)^2, n ~ N(0, C(t)).

        ``eps`` is standard normal (N, D) (n = sqrt(C) eps), ``t`` is (N,), ``noise`` the per-sample
        variances (N, D). Written as the equivalent regression of F on its unit-variance target.
        """
        y = y0 + noise.sqrt() * eps
        c_in, c_skip, c_out = preconditioning(self.eigenvalues, noise)
        target = (y0 - c_skip * y) / c_out
        return (self.net(c_in * y, t / self.t_max) - target).square().sum(dim=1).mean()
