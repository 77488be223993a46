"""Inspection math (inflow_core.reduction) against closed forms: PCA on exact subspaces, the Gaussian flow
(diagonal and linear, so its d-dim reconstruction IS the PCA projection), neighbourhood scores of exact
and scrambled embeddings, the dimension suggestion on known spectra."""

import numpy as np
import pytest

import inflow_core as ic
from inflow_core import reduction

TOL = 1e-7


@pytest.fixture(scope="module")
def gaussian_flow():
    """A 5-D Gaussian, its exact (Gaussian-denoiser) flow reducing to 2 dimensions."""
    X, _ = ic.datasets.load("gaussian", n=300, seed=3, dim=5)
    basis = ic.EigenBasis.fit(X, standardize=False)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=2)
    flow = ic.InflationaryFlow(basis, schedule, ic.GaussianDenoiser(basis.eigenvalues), rtol=TOL, atol=TOL)
    return X, flow


def test_pca_reconstruction_of_data_in_a_subspace_is_exact():
    rng = np.random.default_rng(0)
    plane = np.linalg.qr(rng.standard_normal((6, 3)))[0]  # a 3-D subspace of R^6
    X = rng.standard_normal((200, 3)) * [3.0, 2.0, 1.0] @ plane.T + 5.0
    basis = ic.EigenBasis.fit(X, standardize=False)
    assert reduction.rms_error(X, reduction.pca_reconstruct(basis, X, 3)) < 1e-10
    # Keeping 2 axes loses exactly the third one: mean squared error per point = its variance (ddof 0).
    lost = reduction.rms_error(X, reduction.pca_reconstruct(basis, X, 2)) ** 2 * 6
    assert lost == pytest.approx(basis.eigenvalues[2] * 199 / 200)
    E = reduction.pca_embedding(basis, X, 3)
    assert E.shape == (200, 3)
    np.testing.assert_allclose(E.var(axis=0, ddof=1), basis.eigenvalues[:3])


def test_gaussian_flow_latent_and_reconstruction_match_closed_forms(gaussian_flow):
    X, flow = gaussian_flow
    sched, keep = flow.schedule, reduction.kept_dims(flow)
    assert keep.tolist() == [0, 1]
    # docs/MATH.md 6: u_i(T) = J_ii u_i(0), J_ii = A_i(T)/A_i(0) sqrt((lam_i + c_i(T)) / (lam_i + c_i(0))).
    lam, T = flow.basis.eigenvalues, sched.t_max
    jac = sched.scale(T) / sched.scale(0.0) * np.sqrt((lam + sched.noise(T)) / (lam + sched.noise(0.0)))
    Z = reduction.latent(flow, X[:50])
    np.testing.assert_allclose(Z, (flow.to_flow(X[:50]) * jac)[:, keep], atol=50 * TOL * np.abs(Z).max())
    # The Gaussian flow is diagonal: zeroing the compressed latents and decoding is the PCA projection.
    recon = reduction.reconstruct(flow, X[:50])
    np.testing.assert_allclose(recon, reduction.pca_reconstruct(flow.basis, X[:50], 2), atol=1e-4)


def test_traversal_walks_one_kept_dimension(gaussian_flow):
    _, flow = gaussian_flow
    start = np.array([0.3, -0.2])
    Z = reduction.traversal(flow, start, dim=1, span=2.0, steps=5)
    sd = np.sqrt(flow.schedule.latent_variance()[1])
    np.testing.assert_allclose(Z[:, 0], 0.3)
    np.testing.assert_allclose(Z[:, 1], np.linspace(-2, 2, 5) * sd)
    images = reduction.decode_kept(flow, Z)
    assert images.shape == (5, 5) and np.isfinite(images).all()
    with pytest.raises(ValueError, match="kept dimension"):
        reduction.traversal(flow, start, dim=2)
    with pytest.raises(ValueError, match="2 kept latent"):
        reduction.traversal(flow, np.zeros(3), dim=0)


def test_variance_profile_follows_the_linear_flow(gaussian_flow):
    X, flow = gaussian_flow
    prof = reduction.variance_profile(flow, X, n_frames=6)
    sched, lam = flow.schedule, flow.basis.eigenvalues
    # The sample's eigen-variances are exactly lam, and each axis is scaled by the closed-form J_ii(t):
    # measured v_i(t) = A_i(t)^2 lam_i (lam_i + c_i(t)) / (lam_i + c_i(0)).
    expected = sched.scale(prof.times) ** 2 * lam * (lam + sched.noise(prof.times)) / (lam + sched.noise(0.0))
    np.testing.assert_allclose(prof.variances, expected, rtol=1e-4)
    np.testing.assert_allclose(prof.predicted, sched.marginal_variance(prof.times))
    np.testing.assert_allclose(prof.pr, [ic.metrics.participation_ratio(v) for v in expected], rtol=1e-4)
    assert prof.pr[-1] == pytest.approx(2.0, abs=0.01)  # the two kept dims end with equal variance


def test_trustworthiness_and_continuity_of_exact_and_scrambled_embeddings():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 4))
    R = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    assert reduction.trustworthiness(X, X @ R, k=5) == pytest.approx(1.0)  # isometry: nothing changes
    assert reduction.continuity(X, 3 * X + 1, k=5) == pytest.approx(1.0)
    scrambled = X[rng.permutation(150)]
    assert reduction.trustworthiness(X, scrambled, k=5) < 0.65  # random: ~0.5
    # Dropping a coordinate brings in intruders (trustworthiness < 1) but tears nothing apart as badly.
    assert reduction.trustworthiness(X, X[:, :3], k=5) < 1.0
    with pytest.raises(ValueError, match="same number of points"):
        reduction.trustworthiness(X, X[:10])


def test_knn_label_agreement_closed_forms():
    # Two far-apart clusters: every neighbour shares the label.
    E = np.r_[np.zeros((10, 2)) + np.arange(10)[:, None] * 0.01, np.ones((10, 2)) * 100]
    labels = np.r_[np.zeros(10, int), np.ones(10, int)]
    assert reduction.knn_label_agreement(E, labels, k=3) == 1.0
    # Points 0..9 on a line with alternating labels, k = 2: interior points have both neighbours of the
    # other label; the two end points have one neighbour of each (their 2 nearest are 1 and 2 away).
    line = np.arange(10.0)[:, None]
    assert reduction.knn_label_agreement(line, np.arange(10) % 2, k=2) == pytest.approx(2 * 0.5 / 10)


def test_suggest_dims_on_known_spectra():
    s = reduction.suggest_dims(np.r_[np.ones(4), 1e-9 * np.ones(6)])
    assert s.participation_ratio == pytest.approx(4.0) and s.by_pr == 4 and s.by_variance == 4
    s = reduction.suggest_dims([4.0, 3.0, 2.0, 1.0])  # cumulative 0.4, 0.7, 0.9, 1.0
    assert s.by_variance == 3 and s.participation_ratio == pytest.approx(100 / 30)
    assert s.by_pr == 3 and "d = 3" in s.describe()
    assert reduction.suggest_dims([1.0, 1.0]).by_pr == 1  # never all D dimensions
    with pytest.raises(ValueError):
        reduction.suggest_dims([1.0])


def test_images_and_digit_split():
    X, labels = ic.datasets.load("digits")
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(reduction.as_images(X[:3], 8, 8), load_digits().images[:3])
    with pytest.raises(ValueError, match="product is 64"):
        reduction.as_images(X, 6, 10)
    assert reduction.image_shapes(64)[0] == (8, 8) and (5, 4) in reduction.image_shapes(20)
    train, held = reduction.holdout_split(len(X), 1200, seed=0)
    np.testing.assert_array_equal(X[train], ic.datasets.load("digits", n=1200, seed=0)[0])
    assert len(held) == 597 and not set(train) & set(held)


def test_evaluate_gaussian_flow_equals_pca(gaussian_flow):
    X, flow = gaussian_flow
    rep = reduction.evaluate(flow, X[:200], X[200:], labels_test=None, k=5, pairs=1)
    rec = rep["reconstruction_rms"]
    assert rec["flow"] == pytest.approx(rec["pca"], rel=1e-3)
    assert rep["round_trip"]["max_error"] < 1e-4
    nb = rep["neighbourhood"]
    # Per-axis rescaling of the kept axes changes neighbourhoods a little; both see the same two axes.
    assert abs(nb["flow"]["trustworthiness"] - nb["pca"]["trustworthiness"]) < 0.05
    gen = rep["generation"]
    assert gen["n"] == 50 and gen["floor"] > 0 and gen["gaussian"] > 0 and gen["empirical"] > 0
