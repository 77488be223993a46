"""Uncertainty propagation against the closed-form Gaussian flow (docs/MATH.md sections 6 and 8)."""

import numpy as np
import pytest

import inflow_core as ic
from inflow_core import uncertainty as un

TIGHT = {"rtol": 1e-9, "atol": 1e-9}
S3 = np.array([[0.02, 0.005, 0.0], [0.005, 0.01, 0.002], [0.0, 0.002, 0.03]])


def gaussian_flow(family: str, dim: int = 3):
    X, _ = ic.datasets.load("gaussian", n=3000, seed=0, dim=dim)
    basis = ic.EigenBasis.fit(X)  # z-scoring on, so the 1/sigma factor of J is exercised
    params = {"dims_to_keep": 1} if family == "reducing" else {}
    sched = ic.Schedule.create(family, basis.eigenvalues, **params)
    return X, ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))


def closed_form_jacobian(flow) -> np.ndarray:
    """du(T)/dx = J_flow diag(A(0)) W^T diag(1/sigma) with J_flow from docs/MATH.md section 6."""
    s, lam, t_end = flow.schedule, flow.basis.eigenvalues, flow.schedule.t_max
    j_flow = s.scale(t_end) / s.scale(0.0) * np.sqrt((lam + s.noise(t_end)) / (lam + s.noise(0.0)))
    return (j_flow * s.scale(0.0))[:, None] * flow.basis.linear_map()


@pytest.mark.parametrize("family", ["isotropic", "reducing", "proportional"])
def test_linear_matches_closed_form(family):
    X, flow = gaussian_flow(family)
    J = closed_form_jacobian(flow)
    res = un.propagate(flow, X[:4], S3, **TIGHT)
    expected = J @ S3 @ J.T
    assert res.cov.shape == (4, 3, 3) and res.mean.shape == (4, 3)
    assert np.abs(res.cov - expected).max() <= 1e-4 * np.abs(expected).max()
    assert np.allclose(res.mean, flow.encode(X[:4], **TIGHT), atol=1e-7)
    assert np.allclose(res.jacobian, J, rtol=1e-6)


def test_monte_carlo_within_standard_error():
    X, flow = gaussian_flow("isotropic")
    J = closed_form_jacobian(flow)
    res = un.propagate(flow, X[0], S3, method="samples", n_samples=4000, seed=3)
    assert res.samples.shape == (1, 4000, 3)
    z = (res.cov[0] - J @ S3 @ J.T) / res.cov_se[0]
    # Each entry within 3 standard errors (9 entries, 6 distinct), and typically about one.
    assert np.abs(z).max() < 3.0 and np.sqrt(np.mean(z**2)) < 2.0


def test_to_data_inverts_to_latent_and_frames():
    X, flow = gaussian_flow("reducing")
    fwd = un.propagate(flow, X[:3], np.array([0.01, 0.02, 0.005]), n_frames=6, **TIGHT)
    assert fwd.cov_path.shape == (6, 3, 3, 3) and fwd.times[0] == 0.0
    a0m = flow.schedule.scale(0.0)[:, None] * flow.basis.linear_map()
    assert np.allclose(fwd.cov_path[0], a0m @ np.diag([0.01, 0.02, 0.005]) @ a0m.T)
    assert np.allclose(fwd.cov_path[-1], fwd.cov)
    back = un.propagate(flow, fwd.mean, fwd.cov, direction="to_data", **TIGHT)
    assert np.allclose(back.mean, X[:3], atol=1e-7)
    assert np.allclose(back.cov, np.diag([0.01, 0.02, 0.005]), atol=1e-9)


def test_covariance_forms_and_errors():
    X, flow = gaussian_flow("proportional", dim=2)
    full = un.propagate(flow, X[:2], 0.04 * np.eye(2)).cov
    for form in (0.04, np.array([0.04, 0.04]), np.stack([0.04 * np.eye(2)] * 2), 0.04 * np.eye(2)):
        assert np.allclose(un.propagate(flow, X[:2], form).cov, full)
    with pytest.raises(ValueError, match="semi-definite"):
        un.propagate(flow, X[:2], np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        un.propagate(flow, X[:2], np.ones(5))
    with pytest.raises(ValueError, match="method"):
        un.propagate(flow, X[:2], 0.1, method="magic")


def test_variational_and_reverse_agree_on_a_bent_flow():
    X, _ = ic.datasets.load("moons", n=300, seed=0)
    basis = ic.EigenBasis.fit(X)
    flow = ic.InflationaryFlow(
        basis, ic.Schedule.isotropic(basis.eigenvalues), ic.EmpiricalDenoiser(basis.to_eigen(X))
    )
    a = un.propagate(flow, X[:5], 0.01, rtol=1e-7, atol=1e-7)
    b = un.propagate(flow, X[:5], 0.01, jacobian="reverse", rtol=1e-7, atol=1e-7)
    scale = np.abs(a.cov).max(axis=(1, 2))[:, None, None]
    assert np.abs(a.cov - b.cov).max() / scale.min() < 1e-2


def test_latent_ball_preimage_is_data_ellipse():
    """Gaussian flow: the latent ball |u/sqrt(v(T))| = r comes from |y / sqrt(lam + c(0))| = r."""
    X, flow = gaussian_flow("isotropic", dim=2)
    ring = un.latent_ball(flow, np.zeros(2), 2.0, n=40)
    data = un.preimage(flow, ring, **TIGHT)
    y = flow.basis.to_eigen(data)
    radius = np.linalg.norm(y / np.sqrt(flow.basis.eigenvalues + flow.schedule.noise(0.0)), axis=1)
    assert np.allclose(radius, 2.0, rtol=1e-6)


def test_error_covariance_shapes():
    iso = un.error_covariance(3, "isotropic", 0.2)
    np.testing.assert_allclose(iso, 0.04 * np.eye(3))
    axes = un.error_covariance(2, "axes", 0.2, 0.1)
    np.testing.assert_allclose(axes, np.diag([0.04, 0.01]))
    rot = un.error_covariance(2, "rotated", 0.2, 0.1, angle_deg=90.0)
    np.testing.assert_allclose(rot, np.diag([0.01, 0.04]), atol=1e-15)
    tilted = un.error_covariance(2, "rotated", 0.2, 0.1, angle_deg=30.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(tilted), [0.01, 0.04])
    assert tilted[0, 1] > 0
    for bad in ({"shape": "round"}, {"sigma1": -1.0}, {"sigma1": float("nan")}):
        with pytest.raises(ValueError):
            un.error_covariance(2, **{"shape": "isotropic", "sigma1": 0.1, **bad})


def test_linearisation_check_agrees_on_a_linear_map():
    """The Gaussian flow is linear: linearised and Monte-Carlo covariances agree within the MC error."""
    X, flow = gaussian_flow("reducing")
    points, cov = X[:4], un.error_covariance(3, "rotated", 0.3, 0.1, 20.0)
    check = un.compare_linearisation(
        un.propagate(flow, points, cov, method="linear"),
        un.propagate(flow, points, cov, method="samples", n_samples=2000),
    )
    assert check.agrees.all(), (check.relative_difference, check.max_z)
    assert np.all(check.max_z < 4)


@pytest.mark.slow
def test_linearisation_check_flags_a_bent_map():
    """Two circles under their exact flow, with an error as large as the gap between the rings: the map
    bends over the ellipse, the cloud is not the linearised ellipse, and the check says so."""
    X, _ = ic.datasets.load("circles", n=1000, seed=0)
    basis = ic.EigenBasis.fit(X)
    flow = ic.InflationaryFlow(
        basis, ic.Schedule.isotropic(basis.eigenvalues), ic.EmpiricalDenoiser(basis.to_eigen(X))
    )
    points, cov = X[:2], un.error_covariance(2, "isotropic", 0.5)
    check = un.compare_linearisation(
        un.propagate(flow, points, cov, method="linear"),
        un.propagate(flow, points, cov, method="samples", n_samples=400),
    )
    assert not check.agrees.any(), (check.relative_difference, check.max_z)
    assert np.all(check.relative_difference > 0.2)
