"""Bayesian inference through the flow: mixture weights of a latent model (docs/MATH.md section 11).

The flow F: x -> u(T) is a bijection, so for a latent model p(u | w) the Jacobian factor of
p(x | w) = p(F(x) | w) |det dF/dx| does not depend on w and cancels in the posterior: data are
encoded once and inference runs on their latent codes. Everything here works in normalised latent
units z_i = u_i / sqrt(v_i(T)), so one mixture specification serves every schedule.

* ``LatentMixture``: sum_k w_k N(z; m_k, diag(s_k^2)); ``paper_preset()`` is the paper's 2-D demo.
* ``simulate``: draw z from the mixture, decode with the flow, optionally add observation noise.
* ``posterior_weights``: the posterior over w with a Dirichlet prior by Gibbs sampling (default),
  Hamiltonian Monte Carlo on free logits, or a grid over the 3-weight simplex (an oracle).
* ``sbc``: simulation-based calibration (Talts et al. 2018) of the whole pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from .flow import InflationaryFlow, SolveStats
from .uncertainty import as_covariances, propagate
from .validation import as_points, check_positive_int

METHODS = ("gibbs", "hmc", "grid")
PAPER_WEIGHTS = (0.5, 0.25, 0.25)
WEIGHT_TOLERANCE = 1e-6
# Gibbs starts from the EM estimate of the posterior mode and discards this many sweeps.
GIBBS_BURN_IN = 100
# HMC: warm-up iterations (step size adapted toward ACCEPT_TARGET, then discarded), leapfrog steps per
# iteration, and the starting spread of the chains in posterior standard deviations (dispersed starts).
HMC_WARMUP, HMC_LEAPFROG, HMC_START_SPREAD, ACCEPT_TARGET = 300, 6, 3.0, 0.8
# Grid oracle: cells per axis of the coarse pass (whole simplex) and of the fine pass (the box where the
# coarse log posterior is within GRID_SPAN of its maximum).
GRID_COARSE, GRID_FINE, GRID_SPAN = 60, 150, 30.0
# SBC: default thinning of each posterior chain so the L draws are close to independent (the paper
# preset's Gibbs chain has an integrated autocorrelation time of ~3 sweeps), and the largest histogram.
SBC_THIN, SBC_MAX_BINS, SBC_MIN_EXPECTED = 5, 20, 5


class Cancelled(Exception):
    """Raised by ``sbc`` when its ``stop`` flag is set; nothing partial is returned."""


# ----------------------------------------------------------------------------------------- the model
@dataclass
class LatentMixture:
    """A Gaussian mixture in normalised latent units z_i = u_i / sqrt(v_i(T)) (docs/MATH.md 11).

    ``means`` and ``sds`` are (K, d): component k is N(m_k, diag(s_k^2)). d must equal the flow's D.
    """

    means: np.ndarray
    sds: np.ndarray

    def __post_init__(self):
        self.means = np.atleast_2d(np.asarray(self.means, dtype=np.float64))
        self.sds = np.atleast_2d(np.asarray(self.sds, dtype=np.float64))
        if self.means.ndim != 2 or self.means.shape != self.sds.shape:
            raise ValueError(
                f"means and sds must both be (K, d) arrays; got {self.means.shape} and {self.sds.shape}."
            )
        if len(self.means) < 2:
            raise ValueError("A mixture needs at least 2 components to have weights to infer.")
        if not (np.all(np.isfinite(self.means)) and np.all(np.isfinite(self.sds)) and np.all(self.sds > 0)):
            raise ValueError("Component means must be finite and standard deviations positive and finite.")

    @classmethod
    def paper_preset(cls) -> LatentMixture:
        """The paper's 2-D demo: a broad component and two thin ones, crossed (weights: PAPER_WEIGHTS)."""
        return cls(means=[[0.0, 0.0], [-0.05, 0.0], [0.05, 0.0]], sds=[[0.75, 0.75], [0.1, 1.0], [1.0, 0.1]])

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def check_weights(self, weights) -> np.ndarray:
        """Weights as a (K,) array, or a ValueError: non-negative, summing to 1 within 1e-6."""
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (self.n_components,):
            raise ValueError(f"Give {self.n_components} weights, one per component; got shape {w.shape}.")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1) > WEIGHT_TOLERANCE:
            raise ValueError(
                f"Weights must be non-negative and sum to 1 (e.g. {PAPER_WEIGHTS} for "
                f"3 components); got {tuple(np.round(w, 6))} (sum {w.sum():.6g})."
            )
        return w

    def sample(self, n: int, weights, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n draws (z (n, d), component labels (n,)) from the mixture with these weights."""
        n = check_positive_int(n, "n", maximum=10_000_000)
        w = self.check_weights(weights)
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.n_components, size=n, p=w)
        return self.means[labels] + self.sds[labels] * rng.standard_normal((n, self.dim)), labels

    def component_log_densities(self, z, extra_cov: np.ndarray | None = None) -> np.ndarray:
        """log N(z_n; m_k, S_k) (N, K); with ``extra_cov`` (N, d, d) each component's covariance is
        S_k + extra_cov[n] (observation noise carried to the latent, see ``posterior_weights``)."""
        z = as_points(z, dim=self.dim, name="z")
        const = -0.5 * self.dim * np.log(2 * np.pi)
        if extra_cov is None:
            scaled = (z[:, None, :] - self.means[None]) / self.sds[None]
            return -0.5 * (scaled**2).sum(axis=2) - np.log(self.sds).sum(axis=1) + const
        cov = extra_cov[:, None] + np.stack([np.diag(s**2) for s in self.sds])[None]  # (N, K, d, d)
        chol = np.linalg.cholesky(cov)
        diff = (z[:, None, :] - self.means[None])[..., None]
        white = np.linalg.solve(chol, diff)[..., 0]
        log_det = np.log(np.diagonal(chol, axis1=2, axis2=3)).sum(axis=2)
        return -0.5 * (white**2).sum(axis=2) - log_det + const

    def log_prob(self, z, weights) -> np.ndarray:
        """log p(z | w) (N,) of the mixture."""
        w = self.check_weights(weights)
        with np.errstate(divide="ignore"):
            return _logsumexp(self.component_log_densities(z) + np.log(w), axis=1)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    peak = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(peak, axis=axis) + np.log(np.exp(a - peak).sum(axis=axis))


def _check_flow(flow: InflationaryFlow, mixture: LatentMixture) -> None:
    if flow.dim != mixture.dim:
        raise ValueError(
            f"The mixture is {mixture.dim}-D but the flow has D = {flow.dim}; give one mean "
            "and sd per latent dimension."
        )


def _latent_sd(flow: InflationaryFlow) -> np.ndarray:
    return np.sqrt(flow.schedule.latent_variance())


def _noise_cov(obs_noise, dim: int) -> np.ndarray | None:
    """Observation noise as a (D, D) covariance in data units, or None for none. ``obs_noise`` is a
    variance (scalar, same on every feature), (D,) variances or a (D, D) covariance."""
    cov = as_covariances(obs_noise, 1, dim)[0]
    return None if np.all(cov == 0) else cov


# ----------------------------------------------------------------------------------------- simulation
def simulate(
    flow: InflationaryFlow, mixture: LatentMixture, weights, n: int, seed: int = 0, obs_noise=0.0, **solver
) -> tuple[np.ndarray, np.ndarray]:
    """Data (n, D) and component labels (n,): z ~ mixture, u = z sqrt(v(T)), x = decode(u) (+ noise).

    ``obs_noise`` is the observation noise variance in data units (scalar, (D,) or (D, D)); the released
    code used 1e-2. Solver keywords go to the decode.
    """
    _check_flow(flow, mixture)
    noise = _noise_cov(obs_noise, flow.dim)
    z, labels = mixture.sample(n, weights, seed)
    X = flow.decode(z * _latent_sd(flow), **solver)
    if noise is not None:
        X = X + _noise_draws(noise, len(X), seed)
    return X, labels


def _noise_draws(cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws of N(0, cov); cov may be singular (noise on some features only)."""
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return np.random.default_rng([seed, 1]).standard_normal((n, len(cov))) @ root.T


# ----------------------------------------------------------------------------------------- posterior
@dataclass
class Posterior:
    """Posterior over mixture weights: ``draws`` (L, K), their ``mean`` (K,) (exact for the grid) and
    central 95 % interval ``interval95`` (K, 2); ``rhat`` and ``ess`` (K,) for HMC, else None.
    ``latents`` are the codes z (N, d) used, ``encode_stats`` the encoding's cost (None when given latents).
    """

    method: str
    draws: np.ndarray
    mean: np.ndarray
    interval95: np.ndarray
    latents: np.ndarray
    seconds: float
    encode_stats: SolveStats | None = None
    rhat: np.ndarray | None = None
    ess: np.ndarray | None = None


def posterior_weights(
    flow: InflationaryFlow,
    X,
    mixture: LatentMixture,
    prior_alpha=1.0,
    method: str = "gibbs",
    draws: int = 2000,
    chains: int = 4,
    seed: int = 0,
    obs_noise=0.0,
    latents=None,
    thin: int = 1,
    solver_method: str | None = None,
    **solver,
) -> Posterior:
    """Posterior over the mixture weights of data X (N, D) under a Dirichlet(prior_alpha) prior.

    X is encoded once (``solver_method`` is the ODE solver, since ``method`` names the sampler; other
    solver keywords: rtol, atol, step_size), or ``latents`` z (N, d) in normalised units are used instead
    (e.g. the true latents of a simulation; X is then ignored and may be None). ``method``: "gibbs"
    (allocations, then Dirichlet), "hmc" (``chains`` chains on free logits, split R-hat and ESS) or
    "grid" (3 components: the exact posterior on a fine simplex grid, draws sampled from its cells).
    ``thin`` keeps every thin-th sweep of the samplers. With ``obs_noise`` (variance in data units,
    as in ``simulate``) each code gets the linearised latent covariance J S_obs J^T, added to every
    component's covariance: an approximation (docs/MATH.md 11) that ``sbc`` can check.
    """
    start = time.perf_counter()
    _check_flow(flow, mixture)
    method = _check_method(method, mixture)
    solver = _with_solver_method(solver, solver_method)
    draws = check_positive_int(draws, "draws", minimum=2, maximum=1_000_000)
    thin = check_positive_int(thin, "thin", maximum=1000)
    alpha = _check_alpha(prior_alpha, mixture.n_components)
    noise = _noise_cov(obs_noise, flow.dim)
    stats, extra = None, None
    if latents is not None:
        if noise is not None:
            raise ValueError(
                "Given latents are exact codes: observation noise applies only when X is "
                "encoded (pass X and obs_noise, or latents without obs_noise)."
            )
        z = as_points(latents, dim=mixture.dim, name="latents")
    else:
        z, extra, stats = encode_latents(flow, X, noise, **solver)
    log_lik = mixture.component_log_densities(z, extra)
    rng = np.random.default_rng(seed)
    samples, mean, rhat, ess = _sample(method, log_lik, alpha, draws, thin, chains, rng)
    interval = np.quantile(samples, [0.025, 0.975], axis=0).T
    return Posterior(method, samples, mean, interval, z, time.perf_counter() - start, stats, rhat, ess)


def encode_latents(
    flow: InflationaryFlow, X, noise_cov: np.ndarray | None = None, **solver
) -> tuple[np.ndarray, np.ndarray | None, SolveStats]:
    """Normalised latent codes z (N, D) of X, their linearised covariances (N, D, D) under observation
    noise ``noise_cov`` (D, D) in data units (None without), and the solve's cost."""
    X = as_points(X, dim=flow.dim, name="X")
    sd = _latent_sd(flow)
    if noise_cov is None:
        U = flow.encode(X, **solver)
        return U / sd, None, flow.last_stats
    res = propagate(flow, X, noise_cov, method="linear", **solver)
    return res.mean / sd, res.cov / np.outer(sd, sd), res.stats


def _with_solver_method(solver: dict, solver_method: str | None) -> dict:
    return solver if solver_method is None else {**solver, "method": solver_method}


def _check_method(method: str, mixture: LatentMixture) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    if method == "grid" and mixture.n_components != 3:
        raise ValueError(
            f"The grid oracle covers the 3-weight simplex; this mixture has "
            f"{mixture.n_components} components (use gibbs or hmc)."
        )
    return method


def _check_alpha(prior_alpha, k: int) -> np.ndarray:
    """Dirichlet concentrations (K,) from one number or K numbers."""
    alpha = np.asarray(prior_alpha, dtype=np.float64)
    if alpha.ndim == 0:
        alpha = np.full(k, float(alpha))
    if alpha.shape != (k,) or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise ValueError(
            f"prior_alpha must be a positive number or {k} positive numbers (1 = uniform on the "
            f"simplex); got {prior_alpha!r}."
        )
    return alpha


def _sample(method, log_lik, alpha, draws, thin, chains, rng):
    """Posterior (draws (L, K), mean (K,), R-hat, ESS) from the (N, K) component log densities."""
    if method == "gibbs":
        samples = _gibbs(log_lik[None], alpha, draws, thin, rng)[0]
        return samples, samples.mean(axis=0), None, None
    if method == "hmc":
        chains = check_positive_int(chains, "chains", minimum=2, maximum=64)
        chain_draws = _hmc(log_lik, alpha, -(-draws // chains), thin, chains, rng)  # (C, S, K)
        samples = chain_draws.reshape(-1, log_lik.shape[1])[:draws]
        return samples, samples.mean(axis=0), split_rhat(chain_draws), effective_sample_size(chain_draws)
    samples, mean = _grid(log_lik, alpha, draws, rng)
    return samples, mean, None, None


def _stable_likelihood(log_lik: np.ndarray) -> np.ndarray:
    """N_nk / max_k N_nk: each row scaled by its maximum, so nothing underflows (docs/MATH.md 11)."""
    return np.exp(log_lik - log_lik.max(axis=-1, keepdims=True))


def _em_mode(lik: np.ndarray, alpha: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Weights (..., K) maximising sum_n log sum_k w_k N_nk + sum_k alpha_k log w_k (the logit-space
    mode) for likelihoods (..., N, K), by EM."""
    w = np.full(lik.shape[:-2] + lik.shape[-1:], 1.0 / lik.shape[-1])
    lik_t = np.swapaxes(lik, -1, -2)
    for _ in range(iterations):
        # Responsibilities r_nk = w_k N_nk / mix_n summed over n, as two matrix-vector products: 30x
        # faster than forming r for 200 SBC replicates of 500 points (2.0 -> 0.07 s), same values.
        mix = (lik @ w[..., :, None])[..., 0]
        counts = w * (lik_t @ (1.0 / mix)[..., None])[..., 0]
        w = (counts + alpha) / (counts.sum(axis=-1, keepdims=True) + alpha.sum())
    return w


def _gibbs(log_lik, alpha, draws, thin, rng, count_scale=1.0) -> np.ndarray:
    """Gibbs sweeps for B data sets at once, log_lik (B, N, K) -> draws (B, L, K): allocations
    c_n ~ Cat(w_k N_nk), then w ~ Dir(alpha + count_scale * counts). Starts at the EM mode."""
    lik = _stable_likelihood(log_lik)
    batch, n, k = lik.shape
    w = _em_mode(lik, alpha)
    lik_t = np.ascontiguousarray(lik.transpose(0, 2, 1))  # (B, K, N): each component's row contiguous
    # cum[:, j] = sum_{i <= j} w_i N_i, filled in place every sweep, one component row at a time: np.cumsum
    # along the short K axis (strided) took 4x as long for 200 x 500 points, with the same sums.
    cum = np.empty_like(lik_t)
    # above[:, j] = how many points are allocated to a component >= j; counts are its differences, so no
    # per-point labels are formed (5x faster than labels + bincount for 200 x 500 points, same draws).
    above = np.zeros((batch, k + 1))
    above[:, 0] = n
    out = np.empty((batch, draws, k))
    for sweep in range(GIBBS_BURN_IN + draws * thin):
        np.multiply(lik_t[:, 0], w[:, :1], out=cum[:, 0])
        for j in range(1, k):
            np.multiply(lik_t[:, j], w[:, j : j + 1], out=cum[:, j])
            cum[:, j] += cum[:, j - 1]
        pick = rng.random((batch, n)) * cum[:, -1]
        above[:, 1:k] = np.count_nonzero(pick[:, None, :] > cum[:, :-1], axis=2)
        counts = above[:, :-1] - above[:, 1:]
        gammas = rng.standard_gamma(alpha + count_scale * counts)
        w = gammas / gammas.sum(axis=1, keepdims=True)
        kept = sweep - GIBBS_BURN_IN
        if kept >= 0 and kept % thin == 0:
            out[:, kept // thin] = w
    return out


# ----------------------------------------------------------------------------------------- HMC
def _softmax_last_fixed(eta: np.ndarray) -> np.ndarray:
    """w = softmax(eta_1..eta_{K-1}, 0): the last logit is fixed, so the target is proper."""
    full = np.concatenate([eta, np.zeros(eta.shape[:-1] + (1,))], axis=-1)
    full -= full.max(axis=-1, keepdims=True)
    e = np.exp(full)
    return e / e.sum(axis=-1, keepdims=True)


def _log_target(eta, lik, alpha):
    """log posterior of the free logits (C, K-1) and its gradient.

    sum_n log sum_k w_k N_nk + sum_k alpha_k log w_k: the Dirichlet density times the softmax Jacobian
    prod_k w_k (docs/MATH.md 11). Gradient: R_j + alpha_j - (N + sum alpha) w_j, R_j = sum_n r_nj.
    """
    w = _softmax_last_fixed(eta)
    mix = lik @ w.T  # (N, C)
    value = np.log(mix).sum(axis=0) + (alpha * np.log(w)).sum(axis=1)
    resp_sums = w * ((1.0 / mix).T @ lik)  # R (C, K)
    grad = resp_sums + alpha - (lik.shape[0] + alpha.sum()) * w
    return value, grad[:, :-1]


def _hessian_at(eta, lik, alpha) -> np.ndarray:
    """Hessian (K-1, K-1) of the log target: sum_n r_j (d_ij - r_i) - (N + sum alpha) w_j (d_ij - w_i)."""
    w = _softmax_last_fixed(eta[None])[0]
    resp = lik * w
    resp /= resp.sum(axis=1, keepdims=True)
    data = np.diag(resp.sum(axis=0)) - resp.T @ resp
    prior = (lik.shape[0] + alpha.sum()) * (np.diag(w) - np.outer(w, w))
    return (data - prior)[:-1, :-1]


def _hmc(log_lik, alpha, per_chain, thin, chains, rng) -> np.ndarray:
    """Chains of HMC on the free logits, whitened by the Hessian at the mode; returns weights (C, S, K).

    Leapfrog in theta = L^T (eta - mode), L L^T the negative Hessian, so the target is ~N(0, I);
    dispersed starts HMC_START_SPREAD sds out; the step size is adapted during warm-up only.
    """
    lik = _stable_likelihood(log_lik)
    mode_w = _em_mode(lik, alpha)
    mode = np.log(mode_w[:-1] / mode_w[-1])
    chol = np.linalg.cholesky(-_hessian_at(mode, lik, alpha))
    to_eta = np.linalg.inv(chol.T)  # eta = mode + to_eta @ theta

    def target(theta):
        value, grad = _log_target(mode + theta @ to_eta.T, lik, alpha)
        return value, grad @ to_eta

    dim = len(mode)
    theta = HMC_START_SPREAD * rng.standard_normal((chains, dim))
    value, grad = target(theta)
    log_step = np.log(0.5)
    out = np.empty((chains, per_chain, len(mode_w)))
    for it in range(HMC_WARMUP + per_chain * thin):
        step = np.exp(log_step) * rng.uniform(0.8, 1.2)
        p = rng.standard_normal((chains, dim))
        new_theta, new_p = theta.copy(), p + 0.5 * step * grad
        for leap in range(HMC_LEAPFROG):
            new_theta += step * new_p
            new_value, new_grad = target(new_theta)
            new_p += (step if leap < HMC_LEAPFROG - 1 else 0.5 * step) * new_grad
        log_accept = new_value - value - 0.5 * ((new_p**2).sum(axis=1) - (p**2).sum(axis=1))
        accept = np.log(rng.random(chains)) < np.nan_to_num(log_accept, nan=-np.inf)
        theta[accept], value[accept], grad[accept] = new_theta[accept], new_value[accept], new_grad[accept]
        if it < HMC_WARMUP:
            rate = np.exp(np.minimum(np.nan_to_num(log_accept, nan=-np.inf), 0)).mean()
            log_step += (rate - ACCEPT_TARGET) / np.sqrt(it + 1)
        kept = it - HMC_WARMUP
        if kept >= 0 and kept % thin == 0:
            out[:, kept // thin] = _softmax_last_fixed(mode + theta @ to_eta.T)
    return out


def split_rhat(chains: np.ndarray) -> np.ndarray:
    """Split R-hat (Gelman et al., BDA3) of draws (C, S, K) per parameter; ~1 when the chains agree."""
    half = chains.shape[1] // 2
    split = np.concatenate([chains[:, :half], chains[:, half : 2 * half]], axis=0)
    n = split.shape[1]
    within = split.var(axis=1, ddof=1).mean(axis=0)
    between = n * split.mean(axis=1).var(axis=0, ddof=1)
    return np.sqrt(((n - 1) / n * within + between / n) / within)


def effective_sample_size(chains: np.ndarray) -> np.ndarray:
    """Effective sample size of draws (C, S, K) per parameter: multi-chain autocorrelation with Geyer's
    initial positive sequence (as in Stan)."""
    c, s, k = chains.shape
    centred = chains - chains.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * s, axis=1)
    autocov = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :s] / s  # (C, S, K)
    within = autocov[:, 0].mean(axis=0) * s / (s - 1)
    var_plus = within * (s - 1) / s + (chains.mean(axis=1).var(axis=0, ddof=1) if c > 1 else 0.0)
    rho = 1 - (within - autocov.mean(axis=0)) / var_plus  # (S, K)
    ess = np.empty(k)
    for j in range(k):
        pairs = rho[: 2 * (s // 2), j].reshape(-1, 2).sum(axis=1)
        positive = np.argmax(pairs < 0) if np.any(pairs < 0) else len(pairs)
        tau = -1 + 2 * np.minimum.accumulate(pairs[:positive]).sum()
        ess[j] = c * s / max(tau, 1.0 / np.log10(c * s))
    return ess


# ----------------------------------------------------------------------------------------- grid oracle
def _grid(log_lik, alpha, draws, rng) -> tuple[np.ndarray, np.ndarray]:
    """Posterior on a grid of (w1, w2) cells over the simplex, w3 = 1 - w1 - w2: a coarse pass over the
    whole simplex finds where the mass is, a fine pass covers that box. Returns (draws, exact mean)."""
    lik = _stable_likelihood(log_lik)
    centres, widths = _cells(np.array([[0.0, 1.0], [0.0, 1.0]]), GRID_COARSE)
    log_post = _grid_log_posterior(centres, lik, alpha)
    mass = centres[log_post > log_post.max() - GRID_SPAN, :2]
    box = np.clip(np.column_stack([mass.min(axis=0) - widths, mass.max(axis=0) + widths]), 0, 1)
    centres, widths = _cells(box, GRID_FINE)
    log_post = _grid_log_posterior(centres, lik, alpha)
    prob = np.exp(log_post - log_post.max())
    prob /= prob.sum()
    mean = prob @ centres
    pick = centres[rng.choice(len(centres), size=draws, p=prob)]
    jitter = (rng.random((draws, 2)) - 0.5) * widths
    moved = np.column_stack([pick[:, :2] + jitter, 1 - (pick[:, :2] + jitter).sum(axis=1)])
    outside = np.any(moved <= 0, axis=1)  # a boundary cell's corner past the simplex: keep its centre
    moved[outside] = pick[outside]
    return moved, mean


def _cells(box: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres (G, 3) of a cells x cells grid on the box in (w1, w2) that lie inside the simplex."""
    widths = (box[:, 1] - box[:, 0]) / cells
    axes = [box[i, 0] + widths[i] * (np.arange(cells) + 0.5) for i in range(2)]
    w1, w2 = (a.ravel() for a in np.meshgrid(*axes, indexing="ij"))
    keep = w1 + w2 < 1
    return np.column_stack([w1[keep], w2[keep], 1 - w1[keep] - w2[keep]]), widths


def _grid_log_posterior(centres, lik, alpha, block: int = 2048) -> np.ndarray:
    """sum_n log sum_k w_k N_nk + sum_k (alpha_k - 1) log w_k at each grid point (G,)."""
    out = np.empty(len(centres))
    for start in range(0, len(centres), block):
        w = centres[start : start + block]
        out[start : start + block] = np.log(w @ lik.T).sum(axis=1) + (np.log(w) * (alpha - 1)).sum(axis=1)
    return out


# ----------------------------------------------------------------------------------------- SBC
@dataclass
class SBCResult:
    """Simulation-based calibration: ``ranks`` (R, K) of each true weight among L = ``draws`` posterior
    draws (0..L), uniform if inference and flow are exact. ``p_values`` (K,) chi-square uniformity per
    weight over ``bins`` equal-width bins; ``hist_band`` (2,) the 99 % binomial band of a bin's count;
    ``ecdf_band`` (3, L) pointwise 99 % band of the ECDF difference: fractions q, lower, upper.
    """

    ranks: np.ndarray
    truths: np.ndarray
    draws: int
    bins: int
    p_values: np.ndarray
    hist_band: np.ndarray
    ecdf_band: np.ndarray
    method: str
    count_scale: float
    seconds: float
    stats: dict[str, SolveStats] = field(default_factory=dict)

    @property
    def nfe(self) -> int:
        return sum(s.nfe for s in self.stats.values())

    def histogram(self, bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(edges (B + 1,), counts (B, K)) of the ranks in equal-width bins (default ``self.bins``)."""
        return rank_histogram(self.ranks, self.draws, bins or self.bins)

    def ecdf_difference(self) -> tuple[np.ndarray, np.ndarray]:
        """(q (L,), ECDF(q) - q (L, K)) of the fractional ranks, at q = 1/(L+1) .. L/(L+1)."""
        q = np.arange(1, self.draws + 1) / (self.draws + 1)
        below = (self.ranks[None, :, :] < np.arange(1, self.draws + 1)[:, None, None]).mean(axis=1)
        return q, below - q[:, None]


def rank_histogram(ranks: np.ndarray, draws: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts (B, K) of ranks 0..draws in ``bins`` equal-width bins; bins must divide draws + 1."""
    if (draws + 1) % bins:
        raise ValueError(f"bins must divide draws + 1 = {draws + 1} so every bin holds as many ranks.")
    width = (draws + 1) // bins
    edges = np.arange(bins + 1) * width
    counts = np.stack([np.bincount(r // width, minlength=bins) for r in np.asarray(ranks).T], axis=1)
    return edges, counts


def sbc_bins(replicates: int, draws: int) -> int:
    """The most equal-width bins (at most 20) that divide draws + 1 and expect >= 5 ranks each."""
    for bins in range(min(SBC_MAX_BINS, replicates // SBC_MIN_EXPECTED), 1, -1):
        if (draws + 1) % bins == 0:
            return bins
    raise ValueError(
        f"{replicates} replicates and {draws} draws leave no histogram with >= 2 equal bins "
        f"expecting >= {SBC_MIN_EXPECTED} ranks each: use more replicates (>= 10) and draws "
        "with draws + 1 divisible by small numbers (e.g. 99)."
    )


def sbc(
    flow: InflationaryFlow,
    mixture: LatentMixture,
    replicates: int = 200,
    n: int = 500,
    draws: int = 99,
    seed: int = 0,
    prior_alpha=1.0,
    obs_noise=0.0,
    method: str = "gibbs",
    progress: Callable[[float, str], None] | None = None,
    stop=None,
    count_scale: float = 1.0,
    thin: int = SBC_THIN,
    chains: int = 4,
    solver_method: str | None = None,
    **solver,
) -> SBCResult:
    """Simulation-based calibration of flow + inference (Talts et al. 2018; docs/MATH.md 11).

    For each of R replicates: w* ~ Dir(alpha), n latents from the mixture, generated with the flow (all
    replicates in ONE decode solve), observation noise added, encoded back (ONE solve), L = ``draws``
    posterior draws (every ``thin``-th sweep), rank of each w*_k among them. ``count_scale`` multiplies
    the Dirichlet counts of the Gibbs step: 2 makes a deliberately over-confident posterior (a negative
    control). ``progress(fraction, message)`` is called along the way; when ``stop.is_set()`` turns true
    the run raises ``Cancelled`` (no partial result). ``solver_method`` (the ODE solver; ``method`` is the
    sampler) and solver keywords apply to generation and encoding: e.g. solver_method="euler",
    step_size=T/5 is the coarse-solver negative control.
    """
    start = time.perf_counter()
    _check_flow(flow, mixture)
    method = _check_method(method, mixture)
    solver = _with_solver_method(solver, solver_method)
    replicates = check_positive_int(replicates, "replicates", minimum=10, maximum=100_000)
    n = check_positive_int(n, "n", minimum=1, maximum=1_000_000)
    draws = check_positive_int(draws, "draws", minimum=1, maximum=100_000)
    thin = check_positive_int(thin, "thin", maximum=1000)
    bins = sbc_bins(replicates, draws)
    alpha = _check_alpha(prior_alpha, mixture.n_components)
    if not np.isfinite(count_scale) or count_scale <= 0 or (count_scale != 1 and method != "gibbs"):
        raise ValueError(
            f"count_scale must be positive (1 = the right posterior) and applies to gibbs only; "
            f"got {count_scale} with {method}."
        )
    noise = _noise_cov(obs_noise, flow.dim)
    report = _reporter(progress, stop)
    rng = np.random.default_rng(seed)
    truths = rng.dirichlet(alpha, size=replicates)
    latents = np.concatenate(
        [
            mixture.sample(n, w, seed=int(s))[0]
            for w, s in zip(truths, rng.integers(0, 2**62, replicates), strict=True)
        ]
    )
    sd = _latent_sd(flow)
    U0, gen_stats = _solve_reporting(flow, latents * sd, "generate", report, (0.0, 0.4), solver)
    X = flow.from_flow(U0)
    if noise is not None:
        X = X + _noise_draws(noise, len(X), seed)
        report(0.4, "encoding with linearised noise covariances")
    z, extra, enc_stats = _encode_reporting(flow, X, noise, report, solver)
    report(0.8, f"posterior draws for {replicates} replicates")
    log_lik = mixture.component_log_densities(z, extra).reshape(replicates, n, -1)
    if method == "gibbs":  # all replicates' chains in one vectorised sampler
        samples = _gibbs(log_lik, alpha, draws, thin, rng, count_scale)
    else:
        samples = np.empty((replicates, draws, mixture.n_components))
        for r in range(replicates):
            samples[r] = _sample(method, log_lik[r], alpha, draws, thin, chains, rng)[0]
            report(0.8 + 0.2 * (r + 1) / replicates, f"posterior {r + 1} of {replicates}")
    ranks = (samples < truths[:, None, :]).sum(axis=1)
    _, counts = rank_histogram(ranks, draws, bins)
    p_values = sps.chisquare(counts, axis=0).pvalue
    band = sps.binom.ppf([0.005, 0.995], replicates, 1 / bins)
    q = np.arange(1, draws + 1) / (draws + 1)
    ecdf_band = np.stack(
        [
            q,
            sps.binom.ppf(0.005, replicates, q) / replicates - q,
            sps.binom.ppf(0.995, replicates, q) / replicates - q,
        ]
    )
    return SBCResult(
        ranks,
        truths,
        draws,
        bins,
        np.atleast_1d(p_values),
        band,
        ecdf_band,
        method,
        float(count_scale),
        time.perf_counter() - start,
        {"generate": gen_stats, "encode": enc_stats},
    )


def _reporter(progress, stop) -> Callable[[float, str], None]:
    def report(fraction: float, message: str) -> None:
        if stop is not None and stop.is_set():
            raise Cancelled("Simulation-based calibration was stopped.")
        if progress is not None:
            progress(float(min(max(fraction, 0.0), 1.0)), message)

    return report


def _solve_reporting(flow, u, direction, report, span, solver) -> tuple[np.ndarray, SolveStats]:
    """One flow solve of all points (encode or decode) that reports progress by time and can be stopped."""
    t_end = flow.schedule.t_max
    times = np.array([t_end, 0.0] if direction == "generate" else [0.0, t_end])
    label = "generating" if direction == "generate" else "encoding"
    reached = 0.0

    def on_field(t: float) -> None:
        nonlocal reached
        # The share of [0, T] covered so far; trial evaluations beyond it (step probes) do not count.
        reached = max(reached, min(abs(t - times[0]) / t_end, 1.0))
        report(span[0] + (span[1] - span[0]) * reached, f"{label} {len(u):,} points (t = {t:.2f})")

    states, stats = flow.integrate(u, times, direction, on_field=on_field, **solver)
    return states[-1], stats


def _encode_reporting(flow, X, noise, report, solver):
    if noise is not None:
        return encode_latents(flow, X, noise, **solver)
    U, stats = _solve_reporting(flow, flow.to_flow(X), "inflate", report, (0.4, 0.8), solver)
    return U / _latent_sd(flow), None, stats
