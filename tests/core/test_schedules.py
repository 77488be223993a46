"""Schedules against docs/MATH.md section 4: end times, rates, marginals, validation."""

import numpy as np
import pytest

from inflow_core import Schedule

LAM2 = np.array([1.0, 0.25])
LAM5 = np.array([2.0, 1.0, 0.5, 0.1, 0.01])


def all_schedules(lam):
    return [
        Schedule.isotropic(lam),
        Schedule.reducing(lam, dims_to_keep=1),
        Schedule.proportional(lam),
        Schedule.reducing(lam, dims_to_keep=1, inflation_gap=1.02),
    ]


def test_auto_end_times_match_math_md():
    lam = np.array([1.0, 0.5])
    assert Schedule.isotropic(lam).t_max == pytest.approx(np.log(1000 / 5e-4))  # ~14.5
    assert Schedule.reducing(lam, 1).t_max == pytest.approx(np.log(1000 / 5e-4) / 2)  # ~7.3
    assert Schedule.proportional(lam).t_max == pytest.approx(np.log(1001 / (1 + 5e-4)))  # ~6.9
    # Proportional end time does not depend on the data scale.
    assert Schedule.proportional(100 * lam).t_max == pytest.approx(np.log(1001 * 100 / (100 + 5e-4)))


def test_reducing_default_gap_is_d_over_d_minus_d():
    sched = Schedule.reducing(LAM5, dims_to_keep=2)
    assert sched.inflation_gap == pytest.approx(5 / 3)
    np.testing.assert_allclose(sched.growth, [2, 2, 1 - 2 / 3, 1 - 2 / 3, 1 - 2 / 3])
    two_d = Schedule.reducing(LAM2, dims_to_keep=1)
    np.testing.assert_allclose(two_d.growth, [2.0, 0.0])  # IG = 2: compressed noise stays at gamma0
    assert two_d.frozen.tolist() == [False, True]
    np.testing.assert_allclose(two_d.noise([0.0, 5.0])[:, 1], 5e-4)


@pytest.mark.parametrize("index", range(4))
def test_rates_are_derivatives_of_the_logs(index):
    sched = all_schedules(LAM5)[index]
    t = np.linspace(0.05, sched.t_max, 7)
    h = 1e-6
    fd_noise = (np.log(sched.noise(t + h)) - np.log(sched.noise(t - h))) / (2 * h)
    fd_scale = (np.log(sched.scale(t + h)) - np.log(sched.scale(t - h))) / (2 * h)
    np.testing.assert_allclose(sched.noise_log_rate(t), fd_noise, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sched.scale_log_rate(t), fd_scale, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sched.noise_rate(t), fd_noise * sched.noise(t), rtol=1e-6)


def test_proportional_keeps_every_axis_variance_and_pr():
    sched = Schedule.proportional(LAM5, final_scale=1.5)
    t = np.linspace(0, sched.t_max, 11)
    expected = np.broadcast_to(1.5**2 * LAM5, (11, 5))
    np.testing.assert_allclose(sched.marginal_variance(t), expected, rtol=1e-12)
    np.testing.assert_allclose(sched.noise(0.0), 5e-4)
    pr0 = (LAM5.sum() ** 2) / (LAM5**2).sum()
    np.testing.assert_allclose(sched.predicted_pr(t), pr0, rtol=1e-12)


def test_isotropic_ends_near_unit_gaussian_and_reducing_collapses():
    iso = Schedule.isotropic(LAM2)
    np.testing.assert_allclose(iso.latent_variance(), 1.0, atol=1e-3)
    assert iso.predicted_pr(iso.t_max) == pytest.approx(2.0, rel=1e-3)
    red = Schedule.reducing(LAM2, 1)
    v = red.latent_variance()
    assert v[0] == pytest.approx(1.0, abs=1e-3)
    # Frozen compressed dim: variance ratio ~ lam_2 / ((1 + kappa) lam_star).
    assert v[1] / v[0] == pytest.approx(0.25 / 1001, rel=1e-2)
    assert red.predicted_pr(red.t_max) == pytest.approx(1.0, abs=1e-2)


def test_schedule_values_finite_far_outside_the_flow():
    t = np.array([-1e5, -50.0, -1e-3, 0.0, 1e3, 1e6])
    for sched in all_schedules(LAM5):
        for fn in (
            sched.noise,
            sched.noise_log_rate,
            sched.scale,
            sched.scale_log_rate,
            sched.marginal_variance,
        ):
            assert np.all(np.isfinite(fn(t))), (sched.family, fn.__name__)
        assert np.all(sched.noise(t) > 0)


def test_scalar_and_vector_times_agree():
    sched = Schedule.reducing(LAM5, 3)
    assert sched.noise(1.0).shape == (5,)
    np.testing.assert_array_equal(sched.noise(np.array([1.0]))[0], sched.noise(1.0))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Schedule.reducing(LAM2, dims_to_keep=2), "dims_to_keep"),
        (lambda: Schedule.reducing(LAM2, dims_to_keep=0), "dims_to_keep"),
        (lambda: Schedule.reducing(np.array([1.0]), dims_to_keep=1), "at least 2"),
        (lambda: Schedule.reducing(LAM2, 1, inflation_gap=0.0), "inflation_gap"),
        (lambda: Schedule.reducing(LAM2, 1, inflation_gap=-1.0), "inflation_gap"),
        (lambda: Schedule.isotropic(LAM2, gamma0=0.0), "gamma0"),
        (lambda: Schedule.isotropic(LAM2, rho=-1.0), "rho"),
        (lambda: Schedule.isotropic(LAM2, t_max=-2.0), "t_max"),
        (lambda: Schedule.isotropic(np.array([0.5, 1.0])), "descending"),
        (lambda: Schedule.isotropic(np.array([1.0, np.nan])), "positive and finite"),
        (lambda: Schedule.create("spiral", LAM2), "Unknown schedule family"),
    ],
)
def test_bad_parameters_raise_clear_value_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_dict_round_trip_rebuilds_the_same_schedule():
    for sched in all_schedules(LAM5):
        again = Schedule.from_dict(sched.to_dict(), LAM5)
        assert again.to_dict() == sched.to_dict()
        np.testing.assert_array_equal(again.noise(2.0), sched.noise(2.0))
    with pytest.raises(ValueError, match="Unknown schedule parameters"):
        Schedule.from_dict({"family": "isotropic", "exec": 1}, LAM5)


def test_gaussianity_reports_how_noise_dominated_the_end_is():
    assert Schedule.isotropic(LAM2).gaussianity() == pytest.approx(1000.0)
    assert Schedule.isotropic(LAM2, t_max=7.01).gaussianity() == pytest.approx(5e-4 * np.exp(7.01))


# --------------------------------------------------------------------------- hostile parameters (issue 12)
@pytest.mark.parametrize(
    "family, params, name, allowed",
    [
        ("reducing", {"dims_to_keep": 999}, "dims_to_keep", "from 1 to 1"),
        ("reducing", {"dims_to_keep": True}, "dims_to_keep", "from 1 to 1"),
        ("reducing", {"dims_to_keep": [1]}, "dims_to_keep", "from 1 to 1"),
        ("reducing", {"inflation_gap": 1e6}, "inflation_gap", "from 0.01 to 100"),
        ("isotropic", {"gamma0": 1e6}, "gamma0", "from 1e-06 to 0.1"),
        ("isotropic", {"gamma0": -1}, "gamma0", "from 1e-06 to 0.1"),
        ("isotropic", {"gamma0": "abc"}, "gamma0", "from 1e-06 to 0.1"),
        ("isotropic", {"rho": -5}, "rho", "from 0.05 to 10"),
        ("isotropic", {"t_max": -1}, "t_max", "from 0.01 to 1000"),
        ("isotropic", {"kappa": 0}, "kappa", "from 2 to 1e\\+06"),
        ("isotropic", {"kappa": None}, "kappa", "from 2 to 1e\\+06"),
        ("proportional", {"final_scale": True}, "final_scale", "from 0.001 to 1000"),
    ],
)
def test_each_bad_parameter_names_itself_its_range_and_a_sensible_value(family, params, name, allowed):
    with pytest.raises(ValueError, match=f"^{name} must be .*{allowed} \\((e\\.g\\. |or None)"):
        Schedule.create(family, LAM2, **params)


def test_unknown_family_and_misplaced_parameters_are_value_errors_with_short_messages():
    with pytest.raises(ValueError, match="Unknown schedule family") as err:
        Schedule.create("<script>" + "x" * 10_000, LAM2)
    assert len(str(err.value)) < 200
    with pytest.raises(ValueError, match="does not take 'dims_to_keep'"):
        Schedule.create("isotropic", LAM2, dims_to_keep=1)


def test_gamma0_above_the_end_noise_says_so():
    with pytest.raises(ValueError, match="gamma0 = 0.1 is not below kappa x the largest data variance"):
        Schedule.isotropic(np.array([1e-5, 1e-6]), gamma0=0.1, kappa=2.0)


def test_parameter_table_holds_every_constructor_argument_with_defaults_in_range():
    from inflow_core.schedules import PARAMETERS

    assert set(PARAMETERS) == {
        "dims_to_keep",
        "inflation_gap",
        "gamma0",
        "rho",
        "kappa",
        "t_max",
        "final_scale",
    }
    for param in PARAMETERS.values():
        assert param.check(param.default) == param.default
    sched = Schedule.reducing(LAM5, dims_to_keep=2)
    for name in ("gamma0", "rho", "kappa", "final_scale"):
        assert getattr(sched, name) == PARAMETERS[name].default


def test_normal_schedules_are_solvable_and_hopeless_ones_are_refused_before_any_solve():
    from inflow_core import datasets
    from inflow_core.basis import EigenBasis
    from inflow_core.schedules import MAX_STIFFNESS

    for name, meta in datasets.REGISTRY.items():
        lam = EigenBasis.fit(datasets.load(name, n=min(300, meta.max_n), seed=0)[0]).eigenvalues
        params = {"dims_to_keep": meta.dims_to_keep} if meta.default_schedule == "reducing" else {}
        assert Schedule.create(meta.default_schedule, lam, **params).stiffness() < 50
        for gap in (0.5, 2.0, 5.0, 20.0):  # the widest in-range kappa / gamma0 make T longest
            sched = Schedule.reducing(lam, 1, inflation_gap=gap, gamma0=1e-6, kappa=1e6)
            assert sched.stiffness() < MAX_STIFFNESS
    with pytest.raises(ValueError, match="lower the inflation gap"):
        Schedule.reducing(LAM2, 1, inflation_gap=50.0, t_max=100.0)
    with pytest.raises(ValueError, match="lower rho or the end time T"):
        Schedule.isotropic(LAM2, rho=10.0, t_max=100.0)
