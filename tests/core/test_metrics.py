"""Figures of merit against closed forms: participation ratio, energy distance, round-trip error."""

import math

import numpy as np
import pytest

from inflow_core.metrics import energy_distance, measured_pr, participation_ratio, round_trip_error


def test_participation_ratio_closed_forms():
    assert participation_ratio(np.eye(7)) == pytest.approx(7.0)  # isotropic: PR = D
    v = np.array([3.0, 1.0, 2.0])
    assert participation_ratio(np.outer(v, v)) == pytest.approx(1.0)  # rank one: PR = 1
    assert participation_ratio(np.array([4.0, 1.0])) == pytest.approx(25 / 17)  # (sum)^2 / sum of squares
    # PR is basis-free: a rotated covariance has the same PR as its eigenvalues.
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    lam = np.array([5.0, 2.0, 1.0, 0.1])
    assert participation_ratio(Q @ np.diag(lam) @ Q.T) == pytest.approx(participation_ratio(lam))
    with pytest.raises(ValueError, match="square"):
        participation_ratio(np.zeros((2, 3)))


def test_measured_pr_of_a_sample_approaches_the_population_value():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20_000, 3)) * np.sqrt([4.0, 1.0, 1.0])
    assert measured_pr(X) == pytest.approx(36 / 18, rel=0.03)


def test_energy_distance_point_masses_and_symmetry():
    a = np.zeros((5, 2))
    b = np.tile([3.0, 4.0], (7, 1))
    assert energy_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(a, b) == pytest.approx(2 * 5.0)  # 2|a - b| for two point masses
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((300, 3)), rng.standard_normal((200, 3)) + 0.5
    assert energy_distance(X, Y) == pytest.approx(energy_distance(Y, X))
    assert energy_distance(X, Y) > 0


def test_energy_distance_of_shifted_gaussians_matches_the_closed_form():
    # For N(0,1) and N(mu,1): 2 E|Z| with Z ~ N(mu, 2), minus 2 * (2 / sqrt(pi)).
    mu = 1.0
    s = math.sqrt(2.0)
    e_xy = s * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * s**2)) + mu * math.erf(
        mu / (s * math.sqrt(2))
    )
    expected = 2 * e_xy - 2 * (2 / math.sqrt(math.pi))
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6000, 1))
    Y = rng.standard_normal((6000, 1)) + mu
    assert energy_distance(X, Y) == pytest.approx(expected, rel=0.05)


def test_energy_distance_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="D = 2"):
        energy_distance(np.zeros((4, 2)), np.zeros((4, 3)))


def test_round_trip_error_reports_max_mean_and_norm():
    X = np.zeros((3, 2))
    back = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, -1.0]])
    err = round_trip_error(X, back)
    assert (err.max_abs, err.mean_abs, err.max_norm) == pytest.approx((4.0, 8 / 6, 5.0))
    assert "4.00e+00" in err.describe()
    with pytest.raises(ValueError, match="equal shapes"):
        round_trip_error(X, back[:2])
