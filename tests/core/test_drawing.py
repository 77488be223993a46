"""Geometry of drawn data: which points a drawn outline encloses, and uniform sprays inside it."""

import io

import numpy as np
import pandas as pd
import pytest

from inflow_core import datasets

SQUARE = [(0, 0), (1, 0), (1, 1), (0, 1)]
# An L: the unit square [0, 2] x [0, 2] without its upper-right quarter [1, 2] x [1, 2] (area 3).
L_SHAPE = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]


def star(points: int = 5, outer: float = 1.0, inner: float = 0.4) -> np.ndarray:
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.c_[radii * np.cos(angles), radii * np.sin(angles)]


def test_square_inside_outside_and_edges():
    points = [
        (0.5, 0.5),
        (1.5, 0.5),
        (-0.1, 0.2),
        (0.5, 1.0001),  # inside, outside x3
        (1.0, 0.5),
        (0.0, 0.0),
        (0.5, 0.0),
        (1.0, 1.0),
    ]  # on an edge or a corner
    assert datasets.points_in_polygon(points, SQUARE).tolist() == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]


def test_orientation_and_a_closing_vertex_do_not_matter():
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.5, 1.5, (500, 2))
    expected = datasets.points_in_polygon(points, SQUARE)
    np.testing.assert_array_equal(datasets.points_in_polygon(points, SQUARE[::-1]), expected)
    np.testing.assert_array_equal(datasets.points_in_polygon(points, [*SQUARE, SQUARE[0]]), expected)
    np.testing.assert_array_equal(expected, np.all((points >= 0) & (points <= 1), axis=1))


def test_concave_l_shape():
    inside = [(0.5, 0.5), (1.5, 0.5), (0.5, 1.5), (1.0, 1.5)]  # the last on the inner edge
    outside = [(1.5, 1.5), (1.9, 1.9), (2.5, 0.5), (1.01, 1.01)]  # in the missing quarter, or beyond
    mask = datasets.points_in_polygon(inside + outside, L_SHAPE)
    assert mask.tolist() == [True] * 4 + [False] * 4


def test_star_centre_inside_between_the_arms_outside():
    shape = star()
    dent = np.pi / 2 + np.pi / 5  # the direction of an inner vertex, between two arms
    between_arms = 0.7 * np.c_[np.cos(dent), np.sin(dent)]
    tip = 0.9 * np.c_[0.0, 1.0]
    mask = datasets.points_in_polygon(np.r_[[[0.0, 0.0]], between_arms, tip], shape)
    assert mask.tolist() == [True, False, True]


def test_spray_is_reproducible_and_inside():
    a = datasets.spray(L_SHAPE, 500, seed=3)
    np.testing.assert_array_equal(a, datasets.spray(L_SHAPE, 500, seed=3))
    assert not np.array_equal(a, datasets.spray(L_SHAPE, 500, seed=4))
    assert a.shape == (500, 2) and a.dtype == np.float64
    assert datasets.points_in_polygon(a, L_SHAPE).all()
    assert datasets.points_in_polygon(datasets.spray(star(), 300, seed=0), star()).all()


def test_spray_is_uniform():
    n = 20_000
    pts = datasets.spray(SQUARE, n, seed=1)
    se = np.sqrt(1 / 12 / n)  # standard error of the mean of a uniform on [0, 1]
    assert np.all(np.abs(pts.mean(axis=0) - 0.5) < 4 * se)
    np.testing.assert_allclose(pts.var(axis=0), 1 / 12, rtol=0.05)
    # The L's three unit squares each get a third of the points (binomial standard error).
    pts = datasets.spray(L_SHAPE, n, seed=2)
    thirds = [np.mean((pts[:, 0] < 1) & (pts[:, 1] < 1)), np.mean(pts[:, 0] >= 1), np.mean(pts[:, 1] >= 1)]
    assert np.all(np.abs(np.array(thirds) - 1 / 3) < 4 * np.sqrt(2 / 9 / n))


def test_polygon_area():
    assert datasets.polygon_area(SQUARE) == pytest.approx(1.0)
    assert datasets.polygon_area(L_SHAPE[::-1]) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "polygon, message",
    [
        ([(0, 0), (1, 1), (2, 2)], "a line or a point"),  # collinear, though its box is not flat
        ([(0, 0), (1, 0), (2, 0), (3, 0)], "a line or a point"),
        ([(0.5, 0.5)] * 4, "a line or a point"),
        ([(0, 0), (1, 1)], "at least 3 vertices"),
        ([(0, 0), (1, np.nan), (0, 1)], "NaN"),
        ([[0, 0, 0]], "shape"),
    ],
)
def test_degenerate_polygons_raise(polygon, message):
    with pytest.raises(ValueError, match=message):
        datasets.spray(polygon, 10, seed=0)


def test_spray_of_a_sliver_stops_with_a_message():
    # A diagonal sliver: a wide bounding box around almost no area. The work is bounded and it says why.
    sliver = [(0, 0), (1, 1), (1, 1 + 1e-7)]
    with pytest.raises(ValueError, match="too thin"):
        datasets.spray(sliver, 50, seed=0)


def test_spray_checks_n_and_seed():
    with pytest.raises(ValueError, match="n"):
        datasets.spray(SQUARE, 0)
    with pytest.raises(ValueError, match="seed"):
        datasets.spray(SQUARE, 5, seed=-1)


def test_drawing_csv_round_trips_through_load_table():
    pts = datasets.spray(SQUARE, 12, seed=0) * 3 - 1.5
    classes = np.r_[np.ones(6, int), 2 * np.ones(6, int)]
    content = datasets.drawing_csv(pts, classes)
    frame = pd.read_csv(io.BytesIO(content))
    assert list(frame.columns) == ["x1", "x2", "class"] and frame["class"].iloc[-1] == "class 2"
    table = datasets.load_table(content, "drawing.csv", label_column="class")
    np.testing.assert_array_equal(table.X, pts)  # repr: exactly the same numbers
    assert table.labels.tolist() == ["class 1"] * 6 + ["class 2"] * 6  # the class names come back


def test_a_lasso_that_crosses_itself_fills_both_loops():
    bowtie = [(0, 0), (1, 1), (1, 0), (0, 1)]  # two triangles meeting at (0.5, 0.5); signed area zero
    pts = datasets.spray(bowtie, 2000, seed=0)
    left = np.mean(pts[:, 0] < 0.5)
    assert 0.45 < left < 0.55
    assert datasets.points_in_polygon([(0.2, 0.5), (0.5, 0.2)], bowtie).tolist() == [True, False]
