"""The pfODE flow: closed-form Gaussian oracle (docs/MATH.md 6), the exact empirical flow, errors."""

import time

import numpy as np
import pytest
import torch

import inflow_core as ic
from inflow_core import (
    EigenBasis,
    EmpiricalDenoiser,
    GaussianDenoiser,
    InflationaryFlow,
    Schedule,
    SolverError,
    SolverOptions,
)
from inflow_core.flow import solve_ode
from inflow_core.metrics import energy_distance, measured_pr, round_trip_error

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def make_schedule(family, lam):
    if family == "reducing":
        return Schedule.reducing(lam, dims_to_keep=max(1, lam.size // 2))
    return Schedule.create(family, lam)


def gaussian_flow(family, dim, n=300, standardize=False):
    X, _ = ic.datasets.load("gaussian", n=n, seed=1, dim=dim)
    basis = EigenBasis.fit(X, standardize=standardize)
    sched = make_schedule(family, basis.eigenvalues)
    return X, InflationaryFlow(basis, sched, GaussianDenoiser(basis.eigenvalues))


def closed_form_jacobian(sched):
    """Diagonal flow map u(0) -> u(T) of the Gaussian flow (docs/MATH.md section 6)."""
    lam, T = sched.eigenvalues, sched.t_max
    return sched.scale(T) / sched.scale(0.0) * np.sqrt((lam + sched.noise(T)) / (lam + sched.noise(0.0)))


@pytest.mark.parametrize("family", ["isotropic", "reducing", "proportional"])
@pytest.mark.parametrize("dim", [2, 3, 10])
def test_gaussian_flow_reproduces_the_closed_form(family, dim):
    X, flow = gaussian_flow(family, dim, standardize=(dim == 3))
    J = closed_form_jacobian(flow.schedule)
    U0 = flow.to_flow(X)
    U = flow.encode(X, **TIGHT)
    np.testing.assert_allclose(U, U0 * J, atol=1e-4 * np.abs(U0 * J).max())  # forward map
    back = flow.decode(U0 * J, **TIGHT)
    np.testing.assert_allclose(back, X, atol=1e-4 * np.abs(X).max())  # backward map
    np.testing.assert_allclose(flow.decode(U, **TIGHT), X, atol=1e-4 * np.abs(X).max())  # round trip
    # Endpoint variance: the map carries v(0) to v(T) exactly, so var(u(T)) / var(u(0)) = v(T) / v(0).
    sched = flow.schedule
    np.testing.assert_allclose(
        U.var(0) / U0.var(0), sched.latent_variance() / sched.marginal_variance(0.0), rtol=1e-4
    )


@pytest.mark.parametrize(
    "method, options",
    [("dopri8", TIGHT), ("bosh3", {"rtol": 1e-8, "atol": 1e-8}), ("rk4", {"step_size": 0.01})],
)
def test_other_integrators_reproduce_the_closed_form(method, options):
    X, flow = gaussian_flow("reducing", 3)
    J = closed_form_jacobian(flow.schedule)
    U0 = flow.to_flow(X)
    np.testing.assert_allclose(flow.encode(X, method=method, **options), U0 * J, atol=1e-4)
    np.testing.assert_allclose(flow.decode(U0 * J, method=method, **options), X, atol=1e-4)


def test_trajectory_frames_follow_the_closed_form_in_both_directions():
    X, flow = gaussian_flow("isotropic", 2)
    sched = flow.schedule
    traj = flow.trajectory(X, "inflate", n_frames=9, **TIGHT)
    assert traj.times[0] == 0 and traj.times[-1] == pytest.approx(sched.t_max)
    assert traj.states.shape == (9, 300, 2)
    lam = sched.eigenvalues
    growth = (
        sched.scale(traj.times)
        / sched.scale(0.0)
        * np.sqrt((lam + sched.noise(traj.times)) / (lam + sched.noise(0.0)))
    )
    np.testing.assert_allclose(traj.states, traj.states[0][None] * growth[:, None, :], atol=1e-4)
    gen = flow.trajectory(traj.states[-1], "generate", n_frames=9, **TIGHT)
    np.testing.assert_allclose(gen.times, traj.times[::-1])
    np.testing.assert_allclose(gen.states[::-1], traj.states, atol=1e-4)
    assert gen.nfe > 0 and gen.stats.direction == "generate"


@pytest.mark.parametrize("family", ["isotropic", "reducing"])
def test_measured_pr_matches_prediction_at_both_ends(family):
    X, flow = gaussian_flow(family, 6, n=4000)
    traj = flow.trajectory(X, n_frames=5)
    for k in (0, -1):
        predicted = flow.schedule.predicted_pr(traj.times[k])
        assert measured_pr(traj.states[k]) == pytest.approx(predicted, rel=0.05)


def test_proportional_schedule_keeps_pr_constant_all_the_way():
    X, flow = gaussian_flow("proportional", 6, n=4000)
    traj = flow.trajectory(X, n_frames=20)
    prs = np.array([measured_pr(s) for s in traj.states])
    assert np.all(np.abs(prs / prs[0] - 1) < 0.02)
    assert prs[0] == pytest.approx(flow.schedule.predicted_pr(0.0), rel=0.05)


# --------------------------------------------------------------------------- exact empirical flow
@pytest.fixture(scope="module")
def circles():
    X, labels = ic.datasets.load("circles", n=2000, seed=0)
    basis = EigenBasis.fit(X)
    den = EmpiricalDenoiser(basis.to_eigen(X))
    iso = InflationaryFlow(basis, Schedule.isotropic(basis.eigenvalues), den)
    red = InflationaryFlow(basis, Schedule.reducing(basis.eigenvalues, dims_to_keep=1), den)
    return X, basis, iso, red


@pytest.mark.slow
def test_empirical_round_trip_is_exact_to_tolerance(circles):
    X, _, iso, _ = circles
    U = iso.encode(X)
    assert iso.last_stats.nfe > 0
    err = round_trip_error(X, iso.decode(U))
    assert err.max_abs < 1e-3


def test_initial_draws_blur_each_point_by_the_initial_noise(circles):
    X, basis, iso, _ = circles
    draws = iso.initial_draws(X, seed=3)
    offsets = basis.to_eigen(draws) - basis.to_eigen(X)
    np.testing.assert_allclose(offsets.var(axis=0), iso.schedule.noise(0.0), rtol=0.1)
    np.testing.assert_array_equal(iso.initial_draws(X, seed=3), draws)  # seeded
    with pytest.raises(ValueError, match="D = 2"):
        iso.initial_draws(np.zeros((4, 3)))


@pytest.mark.slow
def test_empirical_latent_variance_matches_v_T(circles):
    X, _, iso, _ = circles
    U = iso.encode(iso.initial_draws(X, seed=5))
    v = iso.schedule.latent_variance()
    np.testing.assert_allclose(U.var(0, ddof=1), v, rtol=0.05)


@pytest.mark.slow
def test_reducing_flow_collapses_the_compressed_dimension(circles):
    X, _, _, red = circles
    U = red.encode(red.initial_draws(X, seed=6))
    v = red.schedule.latent_variance()
    ratio = U[:, 0].std() / U[:, 1].std()
    predicted = np.sqrt(v[0] / v[1])
    assert predicted == pytest.approx(32, rel=0.05)
    assert ratio >= 0.7 * predicted
    np.testing.assert_allclose(U[:, 0].var(ddof=1), v[0], rtol=0.05)


@pytest.mark.slow
def test_isotropic_generation_reproduces_the_training_set(circles):
    X, basis, iso, _ = circles
    generated = iso.sample(2000, seed=1)
    rng = np.random.default_rng(2)
    resample = iso.initial_draws(X[rng.integers(0, len(X), len(X))], seed=3)
    assert energy_distance(generated, X) <= 3 * energy_distance(resample, X)


@pytest.mark.slow
def test_priors_for_dimensions_that_never_inflate(circles):
    X, _, _, red = circles
    v = red.schedule.latent_variance()
    U = red.prior_samples(4000, seed=0)
    np.testing.assert_allclose(U.var(0), v, rtol=0.1)
    U_eps = red.prior_samples(4000, seed=0, eps=1e-2)
    assert U_eps[:, 1].var() == pytest.approx(1e-2, rel=0.1)
    assert U_eps[:, 0].var() == pytest.approx(v[0], rel=0.1)
    U_emp = red.prior_samples(2000, seed=0, prior="empirical")
    encoded = red.encode_reference(seed=0)
    assert set(np.round(U_emp[:, 1], 12)) <= set(np.round(encoded[:, 1], 12))  # resampled encoded latents
    # The empirical prior is the better one on a frozen dimension (docs/MATH.md section 7).
    gauss = energy_distance(red.decode(U[:1000]), X)
    emp = energy_distance(red.decode(U_emp[:1000]), X)
    assert emp < gauss
    with pytest.raises(ValueError, match="prior"):
        red.prior_samples(10, prior="uniform")
    with pytest.raises(ValueError, match="eps"):
        red.prior_samples(10, eps=-1.0)


def test_a_frozen_dimension_stays_exactly_frozen(circles):
    """The reducing schedule's compressed dimension has constant noise, so its unscaled coordinate
    y = u / A never moves (MATH.md 4b). The solver integrates u over its Gaussian growth, in which that
    coordinate's field is exactly zero: it stays put to rounding, not to tolerance."""
    X, _, _, red = circles
    traj = red.trajectory(X[:100], n_frames=7)
    y = traj.states[..., 1] / red.schedule.scale(traj.times)[:, 1:2]
    np.testing.assert_allclose(y, np.broadcast_to(y[0], y.shape), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["isotropic", "reducing", "gaussian-10d"])
def test_float32_kernel_agrees_with_float64_within_tolerance(case, circles):
    """Solved tightly so that only the kernel differs: the float32 kernel moves every frame by far less
    than the default tolerance (1e-5), on circles and on a 10-D Gaussian with an empirical denoiser."""
    if case == "gaussian-10d":
        X, _ = ic.datasets.load("gaussian", n=600, seed=2, dim=10)
        basis = EigenBasis.fit(X)
        schedule = Schedule.isotropic(basis.eigenvalues)
    else:
        X, basis, iso, red = circles
        schedule = (iso if case == "isotropic" else red).schedule
    Y = basis.to_eigen(X)
    flows = {
        dtype: InflationaryFlow(basis, schedule, EmpiricalDenoiser(Y, kernel_dtype=dtype))
        for dtype in (torch.float32, torch.float64)
    }
    tight = {"rtol": 1e-8, "atol": 1e-8}
    frames = {d: flow.trajectory(X[::10], n_frames=5, **tight).states for d, flow in flows.items()}
    diff = np.abs(frames[torch.float32] - frames[torch.float64]).max()
    assert diff < 5e-6
    # The float32 weights really ran (on the reducing schedule with float64 logits: its frozen dimension
    # keeps a tiny noise, so its logits are too large for float32).
    assert diff > 0
    # The default flow takes the float32 kernel at the default tolerance and stays accurate.
    default = InflationaryFlow(basis, schedule, EmpiricalDenoiser(Y))
    np.testing.assert_allclose(default.encode(X[::10]), frames[torch.float64][-1], atol=1e-3)


# --------------------------------------------------------------------------- errors and options
def test_bad_inputs_raise_value_errors(circles):
    X, _, iso, _ = circles
    with pytest.raises(ValueError, match="NaN"):
        iso.encode(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="expects D = 2"):
        iso.encode(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2-D array"):
        iso.decode(np.zeros(2))
    with pytest.raises(ValueError, match="direction"):
        iso.trajectory(X[:5], direction="sideways")
    with pytest.raises(ValueError, match="n_frames"):
        iso.trajectory(X[:5], n_frames=1)
    with pytest.raises(ValueError, match="Unknown solver"):
        iso.encode(X[:5], method="magic")
    with pytest.raises(ValueError, match="step_size"):
        iso.encode(X[:5], method="euler")
    with pytest.raises(ValueError, match="rtol"):
        iso.encode(X[:5], rtol=0.0)
    with pytest.raises(ValueError, match="D = 3"):
        InflationaryFlow(iso.basis, Schedule.isotropic(np.ones(3)), iso.denoiser)


class ExplodingDenoiser(torch.nn.Module):
    dim = 2

    def forward(self, y, t, noise):
        return y * torch.exp(torch.as_tensor(50.0 * t, dtype=y.dtype)) * 1e30


def test_a_diverging_field_gives_a_solver_error_not_an_assertion(circles, monkeypatch):
    # The adaptive solve runs into the step cap; a lower cap reaches that error 50x sooner.
    monkeypatch.setattr(ic.flow, "MAX_STEPS", 100)
    X, basis, iso, _ = circles
    flow = InflationaryFlow(basis, iso.schedule, ExplodingDenoiser())
    with pytest.raises(SolverError, match="tolerance|NaN|steps"):
        flow.encode(X[:10])
    with pytest.raises(SolverError):
        flow.encode(X[:10], method="euler", step_size=0.5)


@pytest.mark.slow
def test_euler_at_the_released_step_agrees_with_dopri5(circles):
    X, _, iso, _ = circles
    U = iso.encode(X[:200])
    U_euler = iso.encode(X[:200], method="euler", step_size=0.01)
    assert iso.last_stats.nfe == int(np.ceil(iso.schedule.t_max / 0.01))
    np.testing.assert_allclose(U_euler, U, atol=0.05)


def test_float32_flow_agrees_with_float64(circles):
    X, basis, iso, _ = circles
    flow32 = InflationaryFlow(basis, iso.schedule, EmpiricalDenoiser(basis.to_eigen(X)), dtype=torch.float32)
    np.testing.assert_allclose(flow32.encode(X[:100], rtol=1e-4, atol=1e-4), iso.encode(X[:100]), atol=5e-3)


def test_error_control_does_not_depend_on_the_batch(circles):
    X, _, iso, _ = circles
    # Each point meets the tolerance whether it is solved alone or in a batch of 500.
    reference = iso.encode(X[:1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(iso.encode(X[:1]), reference, atol=1e-3)
    np.testing.assert_allclose(iso.encode(X[:500])[:1], reference, atol=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_flow_runs_on_cuda(circles):
    X, basis, iso, _ = circles
    flow = InflationaryFlow(basis, iso.schedule, EmpiricalDenoiser(basis.to_eigen(X)), device="cuda")
    np.testing.assert_allclose(flow.encode(X[:100]), iso.encode(X[:100]), atol=1e-3)


# --------------------------------------------------------------------------- hostile inputs (issue 12)
@pytest.mark.parametrize("value", [1e6, -1e300, 60.0])
def test_latents_far_outside_the_prior_are_refused(circles, value):
    _, _, iso, red = circles
    for flow in (iso, red):
        U = flow.prior_samples(5, seed=0)
        U[2, 1] = value * np.sqrt(flow.schedule.latent_variance()[1])
        with pytest.raises(ValueError, match="standard deviations from the origin \\(row 3, dimension 2\\)"):
            flow.decode(U)
        with pytest.raises(ValueError, match="latent standard deviations"):
            flow.trajectory(U, direction="generate", n_frames=3)
    with pytest.raises(ValueError, match="NaN"):
        iso.decode(np.array([[0.0, np.inf]]))


def test_a_solve_stops_at_its_time_budget():
    def slow_field(t, u):
        time.sleep(0.02)
        return -u

    u0, times = torch.ones(3, 2, dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    with pytest.raises(SolverError, match="stopped after 0.01 s"):
        solve_ode(slow_field, u0, times, SolverOptions(max_seconds=0.01))
    assert solve_ode(slow_field, u0, times, SolverOptions(max_seconds=None)).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="max_seconds"):
        SolverOptions(max_seconds=0)


def test_the_time_budget_is_a_solver_option_per_flow_and_per_call(circles):
    X, _, iso, _ = circles
    assert iso.solver.max_seconds is None  # off by default: results never depend on load
    assert iso.solver_options({"max_seconds": 5.0}).max_seconds == 5.0
    with pytest.raises(ValueError, match="max_seconds"):
        iso.encode(X[:5], max_seconds=-1.0)
