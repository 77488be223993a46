"""Posterior over latent mixture weights and simulation-based calibration (docs/MATH.md 11)."""

import threading

import numpy as np
import pytest
from scipy import stats

import inflow_core as ic
from inflow_core import inference as inf

TRUE_WEIGHTS = np.array([0.5, 0.25, 0.25])


@pytest.fixture(scope="module")
def circles():
    X, _ = ic.datasets.load("circles", n=2000, seed=0)
    return X, ic.EigenBasis.fit(X)


@pytest.fixture(scope="module")
def gaussian_flow(circles):
    """An exact, cheap flow on the circles basis (the Gaussian denoiser): enough where only invertibility
    matters, and a hundred times cheaper than the empirical flow per evaluation."""
    _, basis = circles
    sched = ic.Schedule.isotropic(basis.eigenvalues)
    return ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))


def exact_flow(circles, family):
    X, basis = circles
    sched = (
        ic.Schedule.isotropic(basis.eigenvalues)
        if family == "isotropic"
        else ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    )
    return ic.InflationaryFlow(basis, sched, ic.EmpiricalDenoiser(basis.to_eigen(X)))


@pytest.fixture(scope="module")
def true_latents():
    return inf.LatentMixture.paper_preset().sample(2000, TRUE_WEIGHTS, seed=0)[0]


# --------------------------------------------------------------------------------------- the mixture
def test_mixture_density_and_sampling_agree():
    mix = inf.LatentMixture.paper_preset()
    assert (mix.n_components, mix.dim) == (3, 2)
    z, labels = mix.sample(20000, TRUE_WEIGHTS, seed=1)
    np.testing.assert_allclose(np.bincount(labels) / len(labels), TRUE_WEIGHTS, atol=0.01)
    np.testing.assert_allclose(z[labels == 1].std(axis=0), [0.1, 1.0], rtol=0.03)
    # log p(z | w) against scipy's normal densities
    expected = np.log(
        sum(
            w * stats.multivariate_normal(m, np.diag(s**2)).pdf(z[:50])
            for w, m, s in zip(TRUE_WEIGHTS, mix.means, mix.sds, strict=True)
        )
    )
    np.testing.assert_allclose(mix.log_prob(z[:50], TRUE_WEIGHTS), expected, rtol=1e-12)
    # with an extra per-point covariance, each component is N(m_k, S_k + extra_n)
    extra = np.array([[[0.02, 0.01], [0.01, 0.03]]] * 5)
    full = mix.component_log_densities(z[:5], extra)
    for k in range(3):
        cov = np.diag(mix.sds[k] ** 2) + extra[0]
        np.testing.assert_allclose(full[:, k], stats.multivariate_normal(mix.means[k], cov).logpdf(z[:5]))


def test_mixture_validation():
    mix = inf.LatentMixture.paper_preset()
    with pytest.raises(ValueError, match="sum to 1"):
        mix.sample(10, (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        mix.sample(10, (1.2, -0.1, -0.1))
    with pytest.raises(ValueError, match="3 weights"):
        mix.log_prob(np.zeros((2, 2)), (0.5, 0.5))
    with pytest.raises(ValueError, match="positive"):
        inf.LatentMixture(means=[[0, 0], [1, 1]], sds=[[1, 1], [0, 1]])
    with pytest.raises(ValueError, match="both be"):
        inf.LatentMixture(means=[[0, 0], [1, 1]], sds=[[1, 1]])
    with pytest.raises(ValueError, match="at least 2"):
        inf.LatentMixture(means=[[0, 0]], sds=[[1, 1]])


# --------------------------------------------------------------------------------------- posteriors
def test_samplers_agree_with_the_grid_oracle(gaussian_flow, true_latents):
    mix = inf.LatentMixture.paper_preset()
    gibbs = inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, seed=0)
    grid = inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, method="grid", seed=0)
    hmc = inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, method="hmc", seed=0)
    assert gibbs.draws.shape == grid.draws.shape == hmc.draws.shape == (2000, 3)
    for post in (gibbs, grid, hmc):
        np.testing.assert_allclose(post.draws.sum(axis=1), 1.0)
        assert np.all((post.interval95[:, 0] < TRUE_WEIGHTS) & (TRUE_WEIGHTS < post.interval95[:, 1]))
        assert post.encode_stats is None
    assert np.abs(gibbs.mean - grid.mean).max() < 0.005
    assert np.abs(grid.draws.mean(axis=0) - grid.mean).max() < 0.003  # draws sample the grid posterior
    assert gibbs.rhat is None and hmc.rhat.shape == (3,) and np.all(hmc.rhat < 1.01)
    assert np.all(hmc.ess > 500)
    # Thinned to near-independent draws (Gibbs' autocorrelation time is ~3 sweeps), HMC and Gibbs are
    # samples of one distribution.
    for k in range(3):
        assert stats.ks_2samp(gibbs.draws[::5, k], hmc.draws[:, k]).pvalue > 0.01


def test_convergence_diagnostics_against_known_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 2000, 1))
    assert inf.split_rhat(iid)[0] == pytest.approx(1.0, abs=0.01)
    assert inf.effective_sample_size(iid)[0] == pytest.approx(8000, rel=0.1)
    # AR(1) with coefficient phi: integrated autocorrelation time (1 + phi) / (1 - phi) = 3 at phi = 0.5
    ar = np.zeros((4, 4000, 1))
    for t in range(1, 4000):
        ar[:, t] = 0.5 * ar[:, t - 1] + rng.standard_normal((4, 1))
    assert inf.effective_sample_size(ar)[0] == pytest.approx(16000 / 3, rel=0.15)
    shifted = iid + np.arange(4)[:, None, None]  # chains that disagree
    assert inf.split_rhat(shifted)[0] > 1.5


@pytest.mark.slow
@pytest.mark.parametrize("family", ["isotropic", "reducing"])
def test_posterior_through_the_exact_flow(circles, family):
    flow = exact_flow(circles, family)
    mix = inf.LatentMixture.paper_preset()
    X, comp = inf.simulate(flow, mix, weights=TRUE_WEIGHTS, n=2000, seed=0)
    assert X.shape == (2000, 2) and comp.shape == (2000,)
    gibbs = inf.posterior_weights(flow, X, mix, method="gibbs", draws=2000, seed=0)
    grid = inf.posterior_weights(flow, None, mix, method="grid", latents=gibbs.latents, seed=0)
    hmc = inf.posterior_weights(flow, None, mix, method="hmc", latents=gibbs.latents, seed=0)
    assert gibbs.encode_stats.nfe > 0 and gibbs.method == "gibbs"
    # the encoded codes are the simulated latents, up to the round trip
    z_true = mix.sample(2000, TRUE_WEIGHTS, seed=0)[0]
    assert np.abs(gibbs.latents - z_true).max() < 0.01
    assert np.abs(gibbs.mean - grid.mean).max() < 0.005
    for post in (gibbs, grid, hmc):
        assert np.all((post.interval95[:, 0] < TRUE_WEIGHTS) & (TRUE_WEIGHTS < post.interval95[:, 1]))
    for k in range(3):
        assert stats.ks_2samp(gibbs.draws[::5, k], hmc.draws[:, k]).pvalue > 0.01


def test_latent_covariance_under_observation_noise_is_the_linearised_closed_form(gaussian_flow, circles):
    # Gaussian flow: du(T)/dx = J_flow diag(A(0)) W^T diag(1/sigma) (docs/MATH.md 6, 8), normalised by
    # sqrt(v(T)).
    X, basis = circles
    sched = gaussian_flow.schedule
    lam, t_end, sd = basis.eigenvalues, sched.t_max, np.sqrt(sched.latent_variance())
    growth = np.sqrt((lam + sched.noise(t_end)) / (lam + sched.noise(0.0)))
    J = (sched.scale(t_end) * growth / sd)[:, None] * basis.linear_map()  # A(0) cancels
    noise = np.array([[0.01, 0.002], [0.002, 0.02]])
    z, cov, _ = inf.encode_latents(gaussian_flow, X[:3], noise, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cov, np.broadcast_to(J @ noise @ J.T, (3, 2, 2)), rtol=1e-6)
    np.testing.assert_allclose(z, gaussian_flow.encode(X[:3], rtol=1e-9, atol=1e-9) / sd, atol=1e-8)


def test_observation_noise_is_accounted_for(gaussian_flow):
    # The released code's noise (variance 1e-2, sd 0.1 in data units) is as wide as the thin components in
    # latent units. Ignoring it, the thin components look broad and the broad one's weight is overestimated;
    # with the linearised latent covariance (exact here: the Gaussian flow is linear) the truth is covered.
    mix = inf.LatentMixture.paper_preset()
    X, _ = inf.simulate(gaussian_flow, mix, TRUE_WEIGHTS, n=2000, seed=0, obs_noise=1e-2)
    naive = inf.posterior_weights(gaussian_flow, X, mix, seed=0)
    noisy = inf.posterior_weights(gaussian_flow, X, mix, seed=0, obs_noise=1e-2)
    assert naive.interval95[0, 0] > TRUE_WEIGHTS[0]
    assert np.all((noisy.interval95[:, 0] < TRUE_WEIGHTS) & (TRUE_WEIGHTS < noisy.interval95[:, 1]))


def test_posterior_validation(gaussian_flow, true_latents):
    mix = inf.LatentMixture.paper_preset()
    with pytest.raises(ValueError, match="method"):
        inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, method="nuts")
    with pytest.raises(ValueError, match="prior_alpha"):
        inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, prior_alpha=(1, 1))
    with pytest.raises(ValueError, match="prior_alpha"):
        inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, prior_alpha=0.0)
    with pytest.raises(ValueError, match="observation noise"):
        inf.posterior_weights(gaussian_flow, None, mix, latents=true_latents, obs_noise=0.01)
    with pytest.raises(ValueError, match="3-weight simplex"):
        two = inf.LatentMixture(means=[[0, 0], [1, 1]], sds=[[1, 1], [1, 1]])
        inf.posterior_weights(gaussian_flow, None, two, latents=true_latents, method="grid")
    with pytest.raises(ValueError, match="mixture is 3-D"):
        three_d = inf.LatentMixture(means=np.zeros((2, 3)), sds=np.ones((2, 3)))
        inf.simulate(gaussian_flow, three_d, (0.5, 0.5), n=10)
    with pytest.raises(ValueError, match="expects D = 2"):
        inf.posterior_weights(gaussian_flow, np.zeros((5, 3)), mix)
    with pytest.raises(ValueError, match="covariance"):
        inf.simulate(gaussian_flow, mix, TRUE_WEIGHTS, n=10, obs_noise=-1.0)


# --------------------------------------------------------------------------------------- SBC
def test_sbc_tells_the_right_posterior_from_an_over_confident_one(gaussian_flow):
    # The smallest reliable configuration found (10 seeds each, inference alone): 1,000 replicates of 10
    # points, 19 draws thinned by 5. The right posterior gave min p >= 0.04, count_scale = 2 (counts
    # doubled) max p <= 3e-6. Few points per replicate keep the flow's part cheap (10,000 points).
    mix = inf.LatentMixture.paper_preset()
    right = inf.sbc(gaussian_flow, mix, replicates=1000, n=10, draws=19, seed=0)
    wrong = inf.sbc(gaussian_flow, mix, replicates=1000, n=10, draws=19, seed=0, count_scale=2.0)
    assert right.ranks.shape == (1000, 3) and right.ranks.min() >= 0 and right.ranks.max() <= 19
    assert np.all(right.p_values > 0.01)
    assert wrong.p_values.min() < 1e-3
    # the over-confident posterior piles the ranks up at both ends (a U shape): both end bins above the band
    _, counts = wrong.histogram()
    assert np.all(counts[[0, -1]] > wrong.hist_band[1])
    assert right.stats["generate"].n_points == right.stats["encode"].n_points == 10_000  # one solve each


@pytest.mark.slow
def test_sbc_passes_with_the_exact_flow_and_fails_with_coarse_euler(circles):
    # 200 replicates of 10 points suffice here: 5-step Euler gave p <= 7e-7 in 3 of 3 seeds.
    flow = exact_flow(circles, "isotropic")
    mix = inf.LatentMixture.paper_preset()
    right = inf.sbc(flow, mix, replicates=200, n=10, draws=19, seed=0)
    euler = inf.sbc(
        flow,
        mix,
        replicates=200,
        n=10,
        draws=19,
        seed=0,
        solver_method="euler",
        step_size=flow.schedule.t_max / 5,
    )
    assert np.all(right.p_values > 0.01)
    assert euler.p_values.min() < 1e-3
    assert euler.nfe == 10  # 5 steps each way


def test_sbc_summaries_progress_and_stop(gaussian_flow):
    mix = inf.LatentMixture.paper_preset()
    seen = []
    res = inf.sbc(
        gaussian_flow,
        mix,
        replicates=50,
        n=10,
        draws=9,
        seed=3,
        progress=lambda fraction, message: seen.append(fraction),
    )
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(0.8)
    assert res.bins == 10 and res.truths.shape == (50, 3)
    edges, counts = res.histogram()
    assert edges.tolist() == list(range(11)) and counts.sum(axis=0).tolist() == [50, 50, 50]
    lower, upper = res.hist_band
    assert lower == stats.binom.ppf(0.005, 50, 0.1) and upper == stats.binom.ppf(0.995, 50, 0.1)
    q, diff = res.ecdf_difference()
    np.testing.assert_allclose(diff[:, 0], (res.ranks[None, :, 0] < np.arange(1, 10)[:, None]).mean(1) - q)
    assert res.ecdf_band.shape == (3, 9) and np.all(res.ecdf_band[1] <= 0) and np.all(res.ecdf_band[2] >= 0)
    np.testing.assert_array_equal(
        inf.sbc(gaussian_flow, mix, replicates=50, n=10, draws=9, seed=3).ranks, res.ranks
    )  # seeded
    stop = threading.Event()
    stop.set()
    with pytest.raises(inf.Cancelled):
        inf.sbc(gaussian_flow, mix, replicates=50, n=10, draws=9, stop=stop)


def test_sbc_validation(gaussian_flow):
    mix = inf.LatentMixture.paper_preset()
    with pytest.raises(ValueError, match="count_scale"):
        inf.sbc(gaussian_flow, mix, replicates=20, n=5, draws=9, method="hmc", count_scale=2.0)
    with pytest.raises(ValueError, match="replicates"):
        inf.sbc(gaussian_flow, mix, replicates=5, n=5, draws=9)
    with pytest.raises(ValueError, match="draws"):
        inf.sbc(gaussian_flow, mix, replicates=20, n=5, draws=100)  # 101 bins do not divide
