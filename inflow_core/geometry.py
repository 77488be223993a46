"""Geometry for uncertainty pictures and coverage counts: ellipses, ellipsoids, polygons, meshes.

Numpy (torch only to speed up the mesh inside test). Ellipses and ellipsoids are drawn at a
confidence level through the chi-square quantile (docs/MATH.md section 8); inside tests are exact for
polygons (even-odd rule) and for closed triangle meshes (winding number from solid angles), so
coverage counts measure the flow, not the geometry (docs/MATH.md section 9).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import chi2

# Inside tests materialise (points x edges) or (points x triangles) blocks of about this many entries.
_BLOCK_ENTRIES = 400_000


def chi2_radius(level: float, dim: int) -> float:
    """Mahalanobis radius r with P(|z| <= r) = level for z ~ N(0, I_dim)."""
    if not 0 < level < 1:
        raise ValueError(f"The confidence level must be between 0 and 1 (e.g. 0.95); got {level}.")
    return float(np.sqrt(chi2.ppf(level, dim)))


def chi2_coverage(radius, dim: int) -> np.ndarray:
    """Nominal coverage P(|z| <= r) of a Mahalanobis ball of radius r in dim dimensions."""
    return chi2.cdf(np.square(np.asarray(radius, dtype=np.float64)), dim)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """A symmetric square root of (batches of) PSD matrices; tiny negative eigenvalues clip to 0."""
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))[..., None, :]) @ np.swapaxes(vecs, -1, -2)


def project(mean: np.ndarray, cov: np.ndarray, dims) -> tuple[np.ndarray, np.ndarray]:
    """Marginal of N(mean, cov) on coordinates ``dims`` (the exact projection of a Gaussian)."""
    dims = list(dims)
    return np.asarray(mean)[..., dims], np.asarray(cov)[..., dims, :][..., :, dims]


def ellipse_points(mean, cov, radius: float = 2.0, n: int = 72) -> np.ndarray:
    """Closed outline (n + 1, 2) of {x : (x - mean)^T cov^-1 (x - mean) = radius^2}."""
    angles = np.linspace(0.0, 2 * np.pi, n + 1)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.asarray(mean, dtype=np.float64) + radius * circle @ _sqrt_psd(np.asarray(cov, dtype=np.float64))


def ellipses_trace(means, covs, radius: float = 2.0, n: int = 72) -> tuple[list, list]:
    """Outlines of many 2-D ellipses as one line trace: x and y lists with None between ellipses."""
    means, covs = np.asarray(means, dtype=np.float64), np.asarray(covs, dtype=np.float64)
    xs: list = []
    ys: list = []
    for m, c in zip(means.reshape(-1, 2), covs.reshape(-1, 2, 2), strict=True):
        pts = ellipse_points(m, c, radius, n)
        xs.extend(pts[:, 0].tolist() + [None])
        ys.extend(pts[:, 1].tolist() + [None])
    return xs, ys


def ellipsoid_surface(mean, cov, radius: float = 2.0, n: int = 24) -> tuple[np.ndarray, ...]:
    """Grids x, y, z (n, 2n) of the 3-D ellipsoid surface at Mahalanobis ``radius`` (for go.Surface)."""
    theta = np.linspace(0.0, np.pi, n)[:, None]
    phi = np.linspace(0.0, 2 * np.pi, 2 * n)[None, :]
    sphere = np.stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) * np.ones_like(phi)], axis=-1
    )
    pts = np.asarray(mean, dtype=np.float64) + radius * sphere @ _sqrt_psd(np.asarray(cov, dtype=np.float64))
    return pts[..., 0], pts[..., 1], pts[..., 2]


# --------------------------------------------------------------------------- inside tests
def points_in_polygon(points, polygon) -> np.ndarray:
    """Even-odd rule: which of ``points`` (M, 2) lie inside the closed polygon (P, 2) (vertices in order)."""
    pts = np.asarray(points, dtype=np.float64)
    a = np.asarray(polygon, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    inside = np.zeros(len(pts), dtype=bool)
    block = max(1, _BLOCK_ENTRIES // len(a))
    for start in range(0, len(pts), block):
        x = pts[start : start + block, 0:1]
        y = pts[start : start + block, 1:2]
        # Edge (a, b) crosses the horizontal ray to the right of (x, y) when y lies between the
        # endpoints' y (half-open, so a vertex on the ray counts once) and the crossing is right of x.
        straddles = (a[:, 1] > y) != (b[:, 1] > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        inside[start : start + block] = (straddles & (x < x_cross)).sum(axis=1) % 2 == 1
    return inside


def icosphere(level: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere mesh: vertices (10 * 4^level + 2, 3) and outward-oriented triangles (20 * 4^level, 3)."""
    phi = (1 + 5**0.5) / 2
    verts = [
        (-1, phi, 0),
        (1, phi, 0),
        (-1, -phi, 0),
        (1, -phi, 0),
        (0, -1, phi),
        (0, 1, phi),
        (0, -1, -phi),
        (0, 1, -phi),
        (phi, 0, -1),
        (phi, 0, 1),
        (-phi, 0, -1),
        (-phi, 0, 1),
    ]
    faces = np.array(
        [
            (0, 11, 5),
            (0, 5, 1),
            (0, 1, 7),
            (0, 7, 10),
            (0, 10, 11),
            (1, 5, 9),
            (5, 11, 4),
            (11, 10, 2),
            (10, 7, 6),
            (7, 1, 8),
            (3, 9, 4),
            (3, 4, 2),
            (3, 2, 6),
            (3, 6, 8),
            (3, 8, 9),
            (4, 9, 5),
            (2, 4, 11),
            (6, 2, 10),
            (8, 6, 7),
            (9, 8, 1),
        ]
    )
    vertices = np.array(verts, dtype=np.float64)
    vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    for _ in range(int(level)):
        vertices, faces = subdivide(vertices, faces, None, everywhere=True)
        vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    return vertices, faces


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2), each as (smaller index, larger index)."""
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def subdivide(vertices: np.ndarray, faces: np.ndarray, split, everywhere: bool = False):
    """Split the marked edges at their midpoints and re-triangulate without cracks.

    ``split`` is a boolean mask over ``mesh_edges(faces)``. A triangle with one split edge becomes 2
    triangles, with two becomes 3, with three becomes 4 (orientation kept), so the mesh stays closed
    and the connectivity is carried, not refitted. Returns new vertices (midpoints appended in the
    order of the split edges) and faces. ``everywhere`` splits every edge (uniform refinement).
    """
    edges = mesh_edges(faces)
    chosen = edges if everywhere else edges[np.asarray(split, dtype=bool)]
    n0 = len(vertices)
    mid_index = {(int(a), int(b)): n0 + k for k, (a, b) in enumerate(chosen)}
    new_vertices = np.concatenate([vertices, 0.5 * (vertices[chosen[:, 0]] + vertices[chosen[:, 1]])])
    out = []
    for tri in faces:
        v = [int(i) for i in tri]
        m = [mid_index.get((min(v[k], v[(k + 1) % 3]), max(v[k], v[(k + 1) % 3]))) for k in range(3)]
        n_split = sum(x is not None for x in m)
        if n_split == 0:
            out.append(v)
            continue
        # Rotate so that edge 0 (v0 -> v1) is split; for two splits make edges 0 and 1 the split ones.
        for _ in range(3):
            if m[0] is not None and (n_split != 2 or m[1] is not None):
                break
            v, m = v[1:] + v[:1], m[1:] + m[:1]
        if n_split == 1:
            out += [[v[0], m[0], v[2]], [m[0], v[1], v[2]]]
        elif n_split == 2:
            out += [[v[0], m[0], v[2]], [m[0], m[1], v[2]], [m[0], v[1], m[1]]]
        else:
            out += [[v[0], m[0], m[2]], [m[0], v[1], m[1]], [m[2], m[1], v[2]], [m[0], m[1], m[2]]]
    return new_vertices, np.array(out, dtype=np.int64)


def winding_numbers(points, vertices, faces) -> np.ndarray:
    """Winding number of a closed, outward-oriented triangle mesh around each point (M, 3).

    Sum of the triangles' signed solid angles (Van Oosterom and Strackee) over 4 pi: 1 inside,
    0 outside, exact up to rounding whatever the mesh's shape, without any ray special cases.
    """
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
    tri = torch.as_tensor(np.asarray(vertices, dtype=np.float64)[np.asarray(faces)])
    out = np.zeros(len(pts))
    block = max(1, _BLOCK_ENTRIES // len(tri))
    # Cost: 0.83 s for 4,000 points x 1,280 triangles on one torch thread (the app's job runner gives
    # each worker one; two threads were slower on the shared 2-core machine).
    for start in range(0, len(pts), block):
        out[start : start + block] = _winding_block(pts[start : start + block], tri)
    return out


def _winding_block(pts: torch.Tensor, tri: torch.Tensor) -> np.ndarray:
    """Sum of signed solid angles / 4 pi of all triangles, for a block of points."""
    rel = tri[None, :, :, :] - pts[:, None, None, :]
    a, b, c = rel[:, :, 0], rel[:, :, 1], rel[:, :, 2]
    la, lb, lc = (torch.linalg.vector_norm(v, dim=-1) for v in (a, b, c))
    num = (a * torch.linalg.cross(b, c)).sum(-1)
    den = la * lb * lc + (a * b).sum(-1) * lc + (a * c).sum(-1) * lb + (b * c).sum(-1) * la
    return (2 * torch.atan2(num, den).sum(dim=1) / (4 * np.pi)).numpy()


def points_in_mesh(points, vertices, faces) -> np.ndarray:
    """Which points (M, 3) lie inside the closed triangle mesh; points outside its box skip the sum."""
    pts = np.asarray(points, dtype=np.float64)
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    candidate = np.all((pts >= lo) & (pts <= hi), axis=1)
    inside = np.zeros(len(pts), dtype=bool)
    inside[candidate] = np.abs(winding_numbers(pts[candidate], vertices, faces)) > 0.5
    return inside
