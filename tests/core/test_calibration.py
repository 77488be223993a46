"""Coverage experiment (docs/MATH.md section 9) on flows whose answer is known."""

import threading

import numpy as np
import pandas as pd
import pytest

import inflow_core as ic
from inflow_core import calibration as cal


def gaussian_flow(dim: int):
    X, _ = ic.datasets.load("gaussian", n=3000, seed=0, dim=dim)
    basis = ic.EigenBasis.fit(X)
    sched = ic.Schedule.isotropic(basis.eigenvalues)
    return ic.InflationaryFlow(basis, sched, ic.GaussianDenoiser(basis.eigenvalues))


def check_exact(table, tolerance=1.0):
    assert np.all(np.abs(table["initial"] - table["nominal"]) < 1.5)
    assert np.all(np.abs(table["after_generation"] - table["initial"]) < tolerance)
    assert np.all(np.abs(table["after_round_trip"] - table["initial"]) < tolerance)


def test_exact_gaussian_flow_2d():
    events = []
    table = ic.calibration.coverage(gaussian_flow(2), n_test=20000, progress=lambda f, m: events.append(f))
    assert list(table.columns[:5]) == ["radius", "nominal", "initial", "after_generation", "after_round_trip"]
    assert np.allclose(table["nominal"], [11.75, 39.35, 67.53, 86.47, 95.61, 98.89, 99.78], atol=0.01)
    check_exact(table)
    se = table["initial_se"].to_numpy()
    p = table["initial"].to_numpy() / 100
    assert np.allclose(se, 100 * np.sqrt(p * (1 - p) / 20000))
    assert events[-1] == 1.0 and all(b >= a for a, b in zip(events, events[1:], strict=False))


@pytest.mark.slow
def test_exact_gaussian_flow_3d():
    check_exact(ic.calibration.coverage(gaussian_flow(3), n_test=8000))  # seeded: a fixed draw


def test_high_dimension_reports_round_trip_only():
    result = cal.coverage_experiment(gaussian_flow(5), radii=(1.0, 2.0), n_test=2000)
    assert result.table["after_generation"].isna().all() and "3-D" in result.note
    assert np.all(result.table["membership_kept"] > 99.5)
    assert np.allclose(result.table["after_round_trip"], result.table["initial"], atol=0.5)


def test_bent_boundaries_are_refined_and_carried():
    """An exact empirical flow bends the Mahalanobis circles; refinement follows them."""
    X, _ = ic.datasets.load("moons", n=300, seed=0)
    basis = ic.EigenBasis.fit(X)
    flow = ic.InflationaryFlow(
        basis, ic.Schedule.isotropic(basis.eigenvalues), ic.EmpiricalDenoiser(basis.to_eigen(X))
    )
    result = cal.coverage_experiment(flow, radii=(1.0, 2.0), n_test=500, n_boundary=64, refine_rounds=2)
    assert max(result.table["boundary_points"]) > 64  # points were inserted where it bends
    b = result.boundaries[1]
    assert len(b.generated) == len(b.directions) == len(b.round_trip)
    assert np.allclose(
        np.linalg.norm(b.round_trip / np.sqrt(flow.schedule.latent_variance()), axis=1),
        np.linalg.norm(b.directions, axis=1) * 2.0,
        atol=1e-3,
    )  # the round trip comes home
    assert np.all(np.abs(result.table["after_generation"] - result.table["initial"]) <= 1.0)


def test_cancel_and_bad_input():
    stop = threading.Event()
    stop.set()
    with pytest.raises(cal.CalibrationCancelled):
        ic.calibration.coverage(gaussian_flow(2), n_test=1000, stop_event=stop)
    with pytest.raises(ValueError, match="radii"):
        ic.calibration.coverage(gaussian_flow(2), radii=(1.0, -1.0))


def test_coverage_note_names_a_shrinking_noise_only_when_coverage_moved():
    lam = np.array([1.0, 0.5, 0.2])
    shrinking = ic.Schedule.reducing(lam, dims_to_keep=2)  # default gap 3: 1 + g = -2
    growing = ic.Schedule.reducing(lam, dims_to_keep=2, inflation_gap=0.5)
    table = pd.DataFrame(
        {
            "initial": [40.0, 86.0],
            "after_generation": [30.0, 86.0],
            "initial_se": [1.0, 1.0],
            "after_generation_se": [1.0, 1.0],
        }
    )
    assert "shrinks" in cal.coverage_note(table, shrinking)
    assert cal.coverage_note(table, growing) == ""
    steady = table.assign(after_generation=[41.0, 85.0])
    assert cal.coverage_note(steady, shrinking) == ""
