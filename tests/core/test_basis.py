"""EigenBasis: eigen-decomposition, z-scoring, round trips, degenerate data."""

import numpy as np
import pytest

from inflow_core import EigenBasis
from inflow_core.basis import EIGENVALUE_FLOOR


def correlated(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)) @ np.array([[3.0, 0, 0], [1.0, 0.5, 0], [0.2, 0.1, 0.05]]) + [5, -2, 1]


@pytest.mark.parametrize("standardize", [True, False])
def test_fit_matches_numpy_covariance_and_round_trips(standardize):
    X = correlated()
    basis = EigenBasis.fit(X, standardize=standardize)
    Z = (X - X.mean(0)) / X.std(0, ddof=1) if standardize else X
    expected = np.sort(np.linalg.eigvalsh(np.cov(Z, rowvar=False)))[::-1]
    np.testing.assert_allclose(basis.eigenvalues, expected, rtol=1e-10)
    Y = basis.to_eigen(X)
    np.testing.assert_allclose(np.cov(Y, rowvar=False), np.diag(basis.eigenvalues), atol=1e-10)
    np.testing.assert_allclose(Y.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(basis.from_eigen(Y), X, atol=1e-10)
    np.testing.assert_allclose(basis.vectors.T @ basis.vectors, np.eye(3), atol=1e-12)


def test_linear_map_is_the_jacobian_of_to_eigen():
    X = correlated()
    basis = EigenBasis.fit(X)
    dx = np.array([[0.3, -0.1, 0.2]])
    np.testing.assert_allclose(
        basis.to_eigen(X[:1] + dx) - basis.to_eigen(X[:1]), dx @ basis.linear_map().T, atol=1e-12
    )
    np.testing.assert_allclose(basis.raw_mean(), X.mean(0), atol=1e-10)


def test_signs_are_deterministic():
    X = correlated()
    a, b = EigenBasis.fit(X), EigenBasis.fit(X[::-1].copy())
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-10)


def test_more_dimensions_than_points_and_constant_features_are_floored():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 8))
    X[:, 3] = 7.0  # a constant feature
    basis = EigenBasis.fit(X)
    assert basis.eigenvalues.shape == (8,)
    assert np.all(basis.eigenvalues >= EIGENVALUE_FLOOR * basis.eigenvalues[0] * (1 - 1e-12))
    assert np.all(np.diff(basis.eigenvalues) <= 0)
    assert basis.scale[3] == 1.0  # not divided by zero
    np.testing.assert_allclose(basis.from_eigen(basis.to_eigen(X)), X, atol=1e-9)


def test_tiny_but_varying_data_is_standardised_not_called_constant():
    X = correlated() * 1e-60
    basis = EigenBasis.fit(X)
    np.testing.assert_allclose(basis.eigenvalues.sum(), 3.0, rtol=1e-9)  # trace of a correlation matrix
    np.testing.assert_allclose(basis.from_eigen(basis.to_eigen(X)), X, rtol=1e-9)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.ones((10, 2)), "identical.*no variance"),
        (5 + 1e-15 * np.random.default_rng(0).standard_normal((10, 2)), "constant up to rounding"),
        (np.random.default_rng(0).standard_normal((10, 2)) * 1e300, "too large to compute with.*Rescale"),
        (np.random.default_rng(0).standard_normal((10, 2)) * 1e-300, "too little to compute with.*Rescale"),
        (np.array([[1.0, 2.0]]), "at least 2"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN"),
        (np.array([1.0, 2.0, 3.0]), "2-D"),
        ([["a", "b"], ["c", "d"]], "numeric"),
    ],
)
def test_bad_arrays_raise_value_errors(X, message):
    with pytest.raises(ValueError, match=message):
        EigenBasis.fit(X)


def test_dimension_mismatch_is_reported():
    basis = EigenBasis.fit(correlated())
    with pytest.raises(ValueError, match="expects D = 3"):
        basis.to_eigen(np.zeros((4, 2)))


def test_state_round_trip_and_validation():
    basis = EigenBasis.fit(correlated())
    again = EigenBasis.from_state(basis.state(), basis.standardize)
    np.testing.assert_array_equal(again.vectors, basis.vectors)
    bad = dict(basis.state(), vectors=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shapes"):
        EigenBasis.from_state(bad, True)
    with pytest.raises(ValueError, match="NaN"):
        EigenBasis.from_state(dict(basis.state(), mean=np.array([np.nan, 0, 0])), True)
