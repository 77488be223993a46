"""Geometry: exact inside tests on known shapes, ellipses at chi-square levels, mesh refinement."""

import numpy as np
import pytest

from inflow_core import geometry


def _volume(v, f):
    tri = v[f]
    return np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6


def test_points_in_square_exact():
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    pts = np.array([[0.5, 0.5], [0.01, 0.99], [1.5, 0.5], [-0.1, 0.5], [0.5, 1.01], [0.5, -1e-9]])
    assert geometry.points_in_polygon(pts, square).tolist() == [True, True, False, False, False, False]
    grid = np.random.default_rng(0).uniform(-1, 2, (5000, 2))
    expected = np.all((grid > 0) & (grid < 1), axis=1)
    assert np.array_equal(geometry.points_in_polygon(grid, square), expected)
    assert np.array_equal(geometry.points_in_polygon(grid, square[::-1]), expected)  # orientation-free
    ell = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], dtype=float)  # non-convex L
    expected_l = np.all((grid > 0) & (grid < 2), axis=1) & ~np.all(grid > 1, axis=1)
    assert np.array_equal(geometry.points_in_polygon(grid, ell), expected_l)


def test_icosphere_is_closed_and_outward():
    for level in range(3):
        v, f = geometry.icosphere(level)
        assert len(v) == 10 * 4**level + 2 and len(f) == 20 * 4**level
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
        assert len(geometry.mesh_edges(f)) * 2 == 3 * len(f)  # every edge shared by two faces
        tri = v[f]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        assert np.all(np.einsum("fi,fi->f", normals, tri.mean(axis=1)) > 0)


def test_sphere_mesh_winding_exact():
    v, f = geometry.icosphere(2)
    pts = np.random.default_rng(1).uniform(-1.2, 1.2, (3000, 3))
    r = np.linalg.norm(pts, axis=1)
    clear = (r < 0.95) | (r > 1.0)  # the level-2 mesh lies between radius 0.95 and 1
    w = geometry.winding_numbers(pts[clear], v, f)
    assert np.allclose(w, (r[clear] < 0.95).astype(float), atol=1e-9)
    assert np.array_equal(geometry.points_in_mesh(pts[clear], v, f), r[clear] < 0.95)
    cube = v / np.abs(v).max(axis=1, keepdims=True)  # the same mesh pushed onto a cube
    inside = geometry.points_in_mesh(np.array([[0.9, 0.0, 0.0], [0.0, 0.0, 1.3], [0.5, 0.5, 0.5]]), cube, f)
    assert inside.tolist() == [True, False, True]


def test_partial_subdivision_keeps_mesh_closed():
    v, f = geometry.icosphere(1)
    mask = np.random.default_rng(2).random(len(geometry.mesh_edges(f))) < 0.4
    v2, f2 = geometry.subdivide(v, f, mask)
    assert len(v2) == len(v) + mask.sum()
    assert len(geometry.mesh_edges(f2)) * 2 == 3 * len(f2)
    assert _volume(v2, f2) == pytest.approx(_volume(v, f), rel=1e-12)  # straight-edge midpoints: same solid
    assert geometry.winding_numbers(np.zeros((1, 3)), v2, f2)[0] == pytest.approx(1.0)


def test_ellipse_at_chi_square_level():
    cov = np.array([[4.0, 1.0], [1.0, 2.0]])
    r = geometry.chi2_radius(0.95, 2)
    assert r == pytest.approx(np.sqrt(-2 * np.log(0.05)))
    pts = geometry.ellipse_points([1.0, -1.0], cov, r, n=50)
    d = pts - [1.0, -1.0]
    assert np.allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d), r**2)
    xs, ys = geometry.ellipses_trace(np.zeros((3, 2)), np.stack([cov] * 3), r, n=10)
    assert len(xs) == 3 * 12 and xs[11] is None and ys[23] is None
    assert geometry.chi2_coverage(1.0, 2) == pytest.approx(1 - np.exp(-0.5))


def test_ellipsoid_surface_and_projection():
    x, y, z = geometry.ellipsoid_surface(np.zeros(3), np.diag([1.0, 4.0, 9.0]), 2.0, n=12)
    assert np.allclose(x**2 / 1 + y**2 / 4 + z**2 / 9, 4.0)
    m, c = geometry.project(np.arange(4.0), np.arange(16.0).reshape(4, 4), [1, 3])
    assert m.tolist() == [1.0, 3.0] and c.tolist() == [[5.0, 7.0], [13.0, 15.0]]
    with pytest.raises(ValueError, match="between 0 and 1"):
        geometry.chi2_radius(1.5, 2)
