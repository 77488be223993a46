"""Log-density through the flow (docs/MATH.md 12) against closed forms: the Gaussian flow's normal density and
the empirical flow's kernel density."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import inflow_core as ic
from inflow_core import likelihood as lk

TIGHT = {"rtol": 1e-8, "atol": 1e-8}
LOOSE = {"rtol": 1e-4, "atol": 1e-4}  # enough where the standard error is ~1 nat


def gaussian_flow(family: str, dim: int, standardize: bool):
    X, _ = ic.datasets.load("gaussian", n=300, seed=1, dim=dim)
    X = X * np.arange(1, dim + 1) + np.arange(dim)  # unequal feature scales and means: z-scoring matters
    basis = ic.EigenBasis.fit(X, standardize=standardize)
    params = {"dims_to_keep": max(1, dim // 2)} if family == "reducing" else {}
    sched = ic.Schedule.create(family, basis.eigenvalues, **params)
    return X, ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))


def gaussian_oracle(flow, X) -> np.ndarray:
    """log N(x; mu, W diag(lam + c(0)) W^T) in raw data units (z-scoring undone)."""
    basis = flow.basis
    cov = basis.vectors @ np.diag(basis.eigenvalues + flow.schedule.noise(0.0)) @ basis.vectors.T
    cov = cov * np.outer(basis.scale, basis.scale)
    return multivariate_normal(basis.raw_mean(), cov).logpdf(X)


@pytest.mark.parametrize("family", ["isotropic", "reducing", "proportional"])
@pytest.mark.parametrize("dim", [2, 3, 10])
@pytest.mark.parametrize("standardize", [False, True])
def test_gaussian_flow_gives_the_normal_density(family, dim, standardize):
    X, flow = gaussian_flow(family, dim, standardize)
    lp = flow.log_prob(X[:20], divergence="exact", **TIGHT)
    expected = gaussian_oracle(flow, X[:20])
    assert np.abs(lp.total - expected).max() < 1e-5
    # The pieces add up, and the latent is the encoding.
    np.testing.assert_allclose(lp.total, lp.prior + lp.log_det + lp.affine_log_det)
    np.testing.assert_allclose(lp.latent, flow.encode(X[:20], **TIGHT), atol=1e-6)
    np.testing.assert_allclose(lp.bits_per_dim, -lp.total / (dim * np.log(2)))
    assert lp.nfe > 0 and lp.divergence == "exact" and np.all(lp.se == 0)


@pytest.mark.parametrize("family", ["isotropic", "reducing"])
def test_hutchinson_is_exact_on_the_gaussian_flow(family):
    # The Gaussian field is diagonal in flow coordinates, and Rademacher probes have eps_i^2 = 1, so every
    # probe returns the exact trace: standard error zero, value the closed form.
    X, flow = gaussian_flow(family, 10, standardize=True)
    lp = flow.log_prob(X[:20], **TIGHT)  # "auto" picks Hutchinson above D = 8
    assert lp.divergence == "hutchinson"
    assert np.abs(lp.total - gaussian_oracle(flow, X[:20])).max() < 1e-5 + 3 * lp.se.max()
    assert lp.se.max() < 1e-8


@pytest.mark.slow
def test_hutchinson_agrees_with_the_exact_divergence_within_its_standard_error():
    # A 10-D empirical flow of non-Gaussian data: its Jacobian has off-diagonal terms, so probes disagree.
    X, _ = ic.datasets.load("gaussian", n=120, seed=0, dim=10)
    X = np.tanh(2 * X)
    basis = ic.EigenBasis.fit(X[:100])
    sched = ic.Schedule.isotropic(basis.eigenvalues, gamma0=0.05)
    flow = ic.InflationaryFlow(basis, sched, ic.EmpiricalDenoiser(basis.to_eigen(X[:100])))
    exact = flow.log_prob(X[100:], divergence="exact", **LOOSE)
    hutch = flow.log_prob(X[100:], divergence="hutchinson", probes=16, seed=0, **LOOSE)
    assert np.all(hutch.se > 0)
    # (estimate - exact) / se is Student-t with 15 degrees of freedom for each point: none beyond its
    # 1e-4 two-sided quantile (5.2), and a root mean square near 1 (a wrong se scales it).
    z = (hutch.total - exact.total) / hutch.se
    assert np.abs(z).max() < 5.2 and 0.5 < np.sqrt(np.mean(z**2)) < 1.6
    np.testing.assert_allclose(hutch.latent, exact.latent, atol=1e-3)  # probes do not move the path
    again = flow.log_prob(X[100:], divergence="hutchinson", probes=16, seed=0, **LOOSE)
    np.testing.assert_array_equal(again.total, hutch.total)  # seeded


@pytest.fixture(scope="module")
def circles_reference():
    X, _ = ic.datasets.load("circles", n=400, seed=0)
    held_out, _ = ic.datasets.load("circles", n=50, seed=1)
    return X, held_out


def kernel_density(flow, X_ref, X) -> np.ndarray:
    """(1/M) sum_j N(y; y_j, C(0)) in raw data units: the flow's t = 0 density of its reference points."""
    c0 = flow.schedule.noise(0.0)
    Y, Y_ref = flow.basis.to_eigen(X), flow.basis.to_eigen(X_ref)
    d2 = ((Y[:, None, :] - Y_ref[None]) ** 2 / c0).sum(axis=-1)
    return (
        logsumexp(-0.5 * d2, axis=1)
        - np.log(len(Y_ref))
        - 0.5 * np.log(2 * np.pi * c0).sum()
        - np.log(flow.basis.scale).sum()
    )


@pytest.mark.parametrize("family", ["isotropic", "reducing", "proportional"])
def test_empirical_flow_gives_the_kernel_density(circles_reference, family):
    # gamma0 = 0.05 (not the default 5e-4) keeps the field of 400 points smooth enough for a fast solve.
    X, held_out = circles_reference
    basis = ic.EigenBasis.fit(X)
    params = {"dims_to_keep": 1} if family == "reducing" else {}
    sched = ic.Schedule.create(family, basis.eigenvalues, gamma0=0.05, **params)
    flow = ic.InflationaryFlow(basis, sched, ic.EmpiricalDenoiser(basis.to_eigen(X)))
    lp = flow.log_prob(held_out, prior=lk.empirical_log_prior(flow), rtol=1e-7, atol=1e-7)
    kde = kernel_density(flow, X, held_out)
    assert np.abs(lp.total - kde).max() < 1e-3
    np.testing.assert_allclose(lk.kernel_log_density(flow, held_out), kde, rtol=0, atol=1e-10)
    # The Gaussian prior is the model's density: exact enough where the end is Gaussian (isotropic), off
    # on the reducing schedule's compressed dimension, whose latent marginal is the data's (docs/MATH.md 7).
    gaussian = flow.log_prob(held_out, rtol=1e-7, atol=1e-7)
    mismatch = np.abs(gaussian.total - kde).max()
    assert mismatch > 0.1 if family == "reducing" else mismatch < 0.01


def test_bad_inputs_raise_value_errors(circles_reference):
    X, _ = circles_reference
    basis = ic.EigenBasis.fit(X)
    sched = ic.Schedule.isotropic(basis.eigenvalues)
    flow = ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))
    with pytest.raises(ValueError, match="divergence"):
        flow.log_prob(X[:3], divergence="magic")
    with pytest.raises(ValueError, match="probes"):
        flow.log_prob(X[:3], divergence="hutchinson", probes=1)
    with pytest.raises(ValueError, match="expects D = 2"):
        flow.log_prob(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="EmpiricalDenoiser"):
        lk.empirical_log_prior(flow)
    with pytest.raises(ValueError, match="x_range"):
        lk.density_grid(flow, (1.0, -1.0), (-1.0, 1.0))
    with pytest.raises(ValueError, match="bin_width"):
        lk.dequantize(X, bin_width=0.0)
    with pytest.raises(ValueError, match="EmpiricalDenoiser"):
        lk.kernel_log_density(flow, X[:3])
    with pytest.raises(ValueError, match="log_p"):
        lk.grid_integral(np.arange(3.0), np.arange(4.0), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="increasing"):
        lk.grid_integral(np.arange(3.0)[::-1], np.arange(4.0), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="singular"):
        lk.gaussian_nll(np.column_stack([X[:, 0], 2 * X[:, 0]]), X[:3])


def test_grid_integral_of_closed_form_densities():
    # A correlated normal on a grid of +-7 sd integrates to 1; cut at its mean along x, to 1/2.
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    xs, ys = np.linspace(-7, 7, 141), np.linspace(-10, 10, 201)
    gx, gy = np.meshgrid(xs, ys)
    log_p = multivariate_normal([0.0, 0.0], cov).logpdf(np.column_stack([gx.ravel(), gy.ravel()]))
    log_p = log_p.reshape(len(ys), len(xs))
    assert lk.grid_integral(xs, ys, log_p) == pytest.approx(1.0, abs=1e-4)
    assert lk.grid_integral(xs[70:], ys, log_p[:, 70:]) == pytest.approx(0.5, abs=1e-3)
    # Far below underflow in exp, the integral is still computed (shifted by the peak).
    assert lk.grid_integral(xs, ys, log_p - 800.0) == pytest.approx(np.exp(-800.0) * 1.0, rel=1e-4)


def test_gaussian_flow_density_grid_integrates_to_one():
    _, flow = gaussian_flow("isotropic", 2, standardize=True)
    basis = flow.basis
    cov = basis.vectors @ np.diag(basis.eigenvalues + flow.schedule.noise(0.0)) @ basis.vectors.T
    sd = np.sqrt(np.diag(cov * np.outer(basis.scale, basis.scale)))
    centre = basis.raw_mean()
    ranges = [(c - 7 * s, c + 7 * s) for c, s in zip(centre, sd, strict=True)]
    xs, ys, log_p = lk.density_grid(flow, *ranges, n=61, rtol=1e-6, atol=1e-6)
    gx, gy = np.meshgrid(xs, ys)
    oracle = gaussian_oracle(flow, np.column_stack([gx.ravel(), gy.ravel()])).reshape(log_p.shape)
    mass = oracle > oracle.max() - 20  # the corners of the box lie 40 sd out along the thin axis
    assert np.abs(log_p - oracle)[mass].max() < 1e-3
    assert lk.grid_integral(xs, ys, log_p) == pytest.approx(1.0, abs=2e-3)


def test_gaussian_nll_is_the_closed_form():
    X, _ = ic.datasets.load("gaussian", n=400, seed=3, dim=3)
    X = X * [1.0, 2.0, 0.5] + [0.0, 1.0, -2.0]
    held, _ = ic.datasets.load("gaussian", n=50, seed=4, dim=3)
    fit = multivariate_normal(X.mean(axis=0), np.cov(X, rowvar=False, bias=True))
    np.testing.assert_allclose(lk.gaussian_log_density(X, held), fit.logpdf(held), rtol=0, atol=1e-10)
    assert lk.gaussian_nll(X, held) == pytest.approx(-fit.logpdf(held).mean(), abs=1e-10)
    # On its own fitting data the maximum-likelihood Gaussian's NLL is (D + D log 2 pi + log det cov) / 2.
    _, logdet = np.linalg.slogdet(np.cov(X, rowvar=False, bias=True))
    assert lk.gaussian_nll(X, X) == pytest.approx(0.5 * (3 + 3 * np.log(2 * np.pi) + logdet), abs=1e-10)


def test_dequantised_bits_per_dim_of_a_uniform_density():
    # Integers 0..16 dequantised, under the uniform density on [0, 17)^D: exactly log2(17) bits/dim.
    X = np.random.default_rng(0).integers(0, 17, size=(500, 4)).astype(float)
    Xd = lk.dequantize(X, seed=1)
    assert np.all((Xd >= X) & (Xd < X + 1))
    uniform = np.full(len(X), -4 * np.log(17.0))
    np.testing.assert_allclose(lk.discrete_bits_per_dim(uniform, 4), np.log2(17))
    # The same data rescaled to [0, 1) (bin width 1/17) gives the same discrete bits/dim.
    np.testing.assert_allclose(lk.discrete_bits_per_dim(np.zeros(len(X)), 4, bin_width=1 / 17), np.log2(17))


@pytest.mark.slow
def test_learned_circles_density_integrates_to_one():
    flow = ic.load_flow(ic.checkpoints.ASSETS / "circles_isotropic.safetensors")
    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    assert X.min() > -2.5 and X.max() < 2.5  # the grid covers the data with a margin
    xs, ys, log_p = lk.density_grid(flow, (-2.5, 2.5), (-2.5, 2.5), n=40)
    assert log_p.shape == (40, 40)
    mass = np.exp(log_p).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert mass == pytest.approx(1.0, abs=0.02)
    assert log_p.max() > log_p[0, 0] + 5  # peaked on the rings, not flat
