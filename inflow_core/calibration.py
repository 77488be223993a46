"""Coverage (calibration) experiment of docs/MATH.md section 9: does a latent credible region stay calibrated?

Test points are drawn from the latent N(0, diag(v(T))); the boundaries are Mahalanobis spheres
|u / sqrt(v(T))| = r. Test points and boundary points are integrated to data space (generation)
and back (inflation). The boundaries keep their connectivity — an ordered polygon in 2-D, an
icosphere mesh in 3-D (winding-number inside test), two end points in 1-D — so their topology is
carried by the flow, not refitted. Edges the flow stretches are split in latent space (midpoint on
the sphere) and the new points integrated, a few rounds, so the polygon's chords follow the true
curved image and the error reported is the flow's, not the geometry's.

Counts are made in flow coordinates u(0): they are an invertible affine image of raw data
space, so being inside a region is the same in both. For D > 3 a boundary mesh of the
(D-1)-sphere needs ~h^-(D-1) cells for edge length h and the inside test grows with it, so
meshes stop at 3-D: there the table reports the round trip only (Mahalanobis-ball membership before
and after encode(decode(u))).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import geometry
from .flow import InflationaryFlow
from .schedules import Schedule
from .validation import check_positive_int

RADII = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
MESH_MAX_DIM = 3
# Refinement stops splitting a 3-D mesh beyond this many triangles (inside tests cost points x triangles).
MAX_FACES = 40_000
HIGH_D_NOTE = (
    "Boundaries are meshed only up to 3-D: a mesh of a (D-1)-sphere needs about h^-(D-1) cells "
    "for edge length h, so in higher D the table reports the round trip of Mahalanobis-ball "
    "membership (decode then encode) instead of counts inside moved boundaries."
)


SHRINKING_NOISE_NOTE = (
    "Coverage changed after generation by more than three standard errors, and {n} squeezed direction(s) of "
    "this schedule get noise that shrinks over time (1 + g < 0: the inflation gap is above 1 + g* = 2). "
    "With a finite data set (the exact empirical flow), a shrinking noise makes the denoiser a near-hard "
    "choice of the closest data point, so the flow becomes nearly discontinuous: tiny solver errors jump "
    "points between the cells of neighbouring data points and the moved boundaries no longer enclose the "
    "same points (docs/MATH.md sections 4b and 7). Lower the inflation gap to 2 or below (Schedule page), "
    "tighten the solver tolerance, or use a learned network, whose field is smooth."
)


def coverage_note(table: pd.DataFrame, schedule: Schedule) -> str:
    """Why coverage changed after generation, when it did and the schedule explains it; else ''."""
    moved = np.abs(table.after_generation - table.initial) > 3 * np.hypot(
        table.initial_se, table.after_generation_se
    )
    shrinking = int(np.sum(schedule.growth < 0))
    return SHRINKING_NOISE_NOTE.format(n=shrinking) if moved.any() and shrinking else ""


class CalibrationCancelled(RuntimeError):
    """The coverage run was stopped through its stop_event."""


@dataclass
class Boundary:
    """One moved Mahalanobis sphere: ``directions`` (V, D), near-unit, in whitened latent coordinates,
    ``faces`` (F, 3) for 3-D meshes (None: vertex order is the polygon in 2-D, two ends in 1-D),
    and the vertices in flow coordinates after generation (``generated``, u(0)) and after the round trip."""

    radius: float
    directions: np.ndarray
    faces: np.ndarray | None
    generated: np.ndarray
    round_trip: np.ndarray | None = None

    def contains(self, points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """Which points lie inside the boundary whose vertex positions are ``vertices``."""
        dim = vertices.shape[1]
        if dim == 1:
            lo, hi = np.sort(vertices[:, 0])
            return (points[:, 0] >= lo) & (points[:, 0] <= hi)
        if dim == 2:
            return geometry.points_in_polygon(points, vertices)
        return geometry.points_in_mesh(points, vertices, self.faces)


@dataclass
class CoverageResult:
    """The coverage table plus what produced it (for pictures): boundaries, test points, cost."""

    table: pd.DataFrame
    boundaries: list[Boundary] = field(default_factory=list)
    test_generated: np.ndarray | None = None
    nfe: int = 0
    seconds: float = 0.0
    note: str = ""


def coverage(
    flow: InflationaryFlow,
    radii=RADII,
    n_test: int = 20000,
    n_boundary: int = 200,
    seed: int = 0,
    progress=None,
    stop_event=None,
    **options,
) -> pd.DataFrame:
    """Coverage table (percent) with columns radius, nominal, initial, after_generation,
    after_round_trip, their Monte-Carlo standard errors (``*_se``), membership_kept and boundary_points."""
    return coverage_experiment(flow, radii, n_test, n_boundary, seed, progress, stop_event, **options).table


def coverage_experiment(
    flow: InflationaryFlow,
    radii=RADII,
    n_test: int = 20000,
    n_boundary: int = 200,
    seed: int = 0,
    progress=None,
    stop_event=None,
    refine_rounds: int = 4,
    refine_length: float = 0.02,
    refine_tol: float = 1e-3,
    chunk: int = 5000,
    data=None,
    **solver,
) -> CoverageResult:
    """Run the experiment; see the module docstring.

    Refinement, for up to ``refine_rounds`` rounds: on edges longer than ``refine_length`` times the RMS
    spread of the generated test points, the latent chord midpoint is integrated; where its image lands
    off the image chord's midpoint by more than ``refine_tol`` times that spread, the flow bends the edge
    and the boundary's own midpoint (on the sphere) is inserted; at most the n_boundary longest edges
    per boundary are tested each round, which bounds the cost. A linear flow maps chords to chords, so
    its boundaries stay coarse; bent ones are followed.
    ``data`` (optional, raw data points): also encode them and report ``data_inside``, the share inside
    each latent ball. Test points and boundaries pass through the same invertible map, so their counts
    only move where a coarse solver folds the map; ``data_inside`` vs nominal shows whether the flow
    really sends data to the latent Gaussian, which is where a learned score's error appears.
    ``progress(fraction, message)`` is called along the way;
    a set ``stop_event`` (anything with ``is_set()``) raises CalibrationCancelled at the next check.
    """
    radii = _check_radii(radii)
    n_test = check_positive_int(n_test, "n_test", minimum=100, maximum=1_000_000)
    n_boundary = check_positive_int(n_boundary, "n_boundary", minimum=8, maximum=100_000)
    refine_rounds = check_positive_int(refine_rounds, "refine_rounds", minimum=0, maximum=20)
    for name, value in (("refine_length", refine_length), ("refine_tol", refine_tol)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive fraction of the data's spread; got {value}.")
    run = _Run(flow, solver, progress, stop_event, chunk)
    dim = flow.dim
    sd = np.sqrt(flow.schedule.latent_variance())
    w = np.random.default_rng(seed).standard_normal((n_test, dim))
    norms = np.linalg.norm(w, axis=1)
    initial = np.array([np.mean(norms <= r) for r in radii])

    run.report(0.0, "generating test points (latent -> data)")
    test_gen = run.move(w * sd, "generate", 0.0, 0.35)
    run.report(0.35, "encoding them back (data -> latent)")
    test_back = run.move(test_gen, "inflate", 0.35, 0.7)
    kept = np.array([np.mean((np.linalg.norm(test_back / sd, axis=1) <= r) == (norms <= r)) for r in radii])

    boundaries: list[Boundary] = []
    if dim <= MESH_MAX_DIM:
        spread = np.sqrt(np.mean(np.sum((test_gen - test_gen.mean(axis=0)) ** 2, axis=1)))
        boundaries = _boundaries(
            run, radii, sd, n_boundary, refine_rounds, refine_length * spread, refine_tol * spread
        )
        run.report(0.85, "encoding the boundaries back")
        everything = np.concatenate([b.generated for b in boundaries])
        back = run.move(everything, "inflate", 0.85, 0.9)
        splits = np.cumsum([len(b.generated) for b in boundaries])[:-1]
        for b, part in zip(boundaries, np.split(back, splits), strict=True):
            b.round_trip = part
        run.report(0.9, "counting points inside the moved boundaries")
        after_gen = np.array([np.mean(b.contains(test_gen, b.generated)) for b in boundaries])
        after_rt = np.array([np.mean(b.contains(test_back, b.round_trip)) for b in boundaries])
        points = [len(b.directions) for b in boundaries]
        note = ""
    else:
        after_gen = np.full(len(radii), np.nan)
        after_rt = np.array([np.mean(np.linalg.norm(test_back / sd, axis=1) <= r) for r in radii])
        points = [0] * len(radii)
        note = HIGH_D_NOTE
    data_inside = np.full(len(radii), np.nan)
    n_data = 0
    if data is not None:
        run.report(0.95, "encoding the data")
        U0 = flow.to_flow(data)
        n_data = len(U0)
        data_norms = np.linalg.norm(run.move(U0, "inflate", 0.95, 1.0) / sd, axis=1)
        data_inside = np.array([np.mean(data_norms <= r) for r in radii])
    run.report(1.0, "done")
    table = pd.DataFrame(
        {
            "radius": radii,
            "nominal": 100 * geometry.chi2_coverage(radii, dim),
            "initial": 100 * initial,
            "after_generation": 100 * after_gen,
            "after_round_trip": 100 * after_rt,
            "initial_se": _se(initial, n_test),
            "after_generation_se": _se(after_gen, n_test),
            "after_round_trip_se": _se(after_rt, n_test),
            "membership_kept": 100 * kept,
            "boundary_points": points,
        }
    )
    if data is not None:
        table["data_inside"] = 100 * data_inside
        table["data_inside_se"] = _se(data_inside, n_data)
    note = " ".join(filter(None, [note, coverage_note(table, flow.schedule)]))
    table.attrs.update(
        nfe=run.nfe,
        seconds=time.perf_counter() - run.start,
        note=note,
        dim=dim,
        n_test=n_test,
        solver=flow.solver_options(solver).describe(),
    )
    return CoverageResult(table, boundaries, test_gen, run.nfe, table.attrs["seconds"], note)


def _se(p: np.ndarray, n: int) -> np.ndarray:
    """Monte-Carlo standard error of a proportion, in percentage points."""
    return 100 * np.sqrt(p * (1 - p) / n)


def _check_radii(radii) -> np.ndarray:
    r = np.asarray(radii, dtype=np.float64).ravel()
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("radii must be positive Mahalanobis radii, e.g. (0.5, 1.0, ..., 3.5).")
    return r


class _Run:
    """Integration with progress, cancellation and NFE bookkeeping, in chunks so Stop reacts quickly."""

    def __init__(self, flow, solver, progress, stop_event, chunk):
        self.flow, self.solver, self.progress, self.stop_event = flow, solver, progress, stop_event
        self.chunk = check_positive_int(chunk, "chunk", minimum=100)
        self.nfe = 0
        self.start = time.perf_counter()

    def report(self, fraction: float, message: str) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            raise CalibrationCancelled("The coverage run was cancelled.")
        if self.progress is not None:
            self.progress(float(min(max(fraction, 0.0), 1.0)), message)

    def move(self, u: np.ndarray, direction: str, lo: float, hi: float) -> np.ndarray:
        """Integrate u between t = T and t = 0 ("generate": T -> 0, "inflate": 0 -> T)."""
        t_max = self.flow.schedule.t_max
        times = np.array([t_max, 0.0]) if direction == "generate" else np.array([0.0, t_max])
        out = np.empty_like(u)
        for start in range(0, len(u), self.chunk):
            states, stats = self.flow.integrate(
                u[start : start + self.chunk], times, direction, **self.solver
            )
            out[start : start + self.chunk] = states[-1]
            self.nfe += stats.nfe
            self.report(
                lo + (hi - lo) * min(1.0, (start + self.chunk) / len(u)),
                f"{direction}: {min(len(u), start + self.chunk)} of {len(u)} points",
            )
        return out


def _initial_boundary(dim: int, n_boundary: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Directions (and faces in 3-D) of a coarse unit sphere with about n_boundary vertices.

    Vertices sit slightly outside the unit sphere so that the polygon / mesh encloses exactly the
    unit ball's area / volume: an inscribed one would undercount by up to 0.25 points in 3-D.
    """
    if dim == 1:
        return np.array([[-1.0], [1.0]]), None
    if dim == 2:
        angles = np.linspace(0.0, 2 * np.pi, n_boundary, endpoint=False)
        circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        step = 2 * np.pi / n_boundary
        return circle * np.sqrt(step / np.sin(step)), None
    level = 0
    while 10 * 4**level + 2 < n_boundary:
        level += 1
    vertices, faces = geometry.icosphere(level)
    tri = vertices[faces]
    volume = np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    return vertices * (4 * np.pi / 3 / volume) ** (1 / 3), faces


def _boundaries(run: _Run, radii, sd, n_boundary, rounds, max_length, max_bend) -> list[Boundary]:
    dim = len(sd)
    shapes = [_initial_boundary(dim, n_boundary) for _ in radii]
    run.report(0.7, "generating the boundaries")
    latent = [r * dirs * sd for r, (dirs, _) in zip(radii, shapes, strict=True)]
    moved = _move_many(run, latent, 0.7)
    bounds = [
        Boundary(float(r), dirs, faces, gen)
        for r, (dirs, faces), gen in zip(radii, shapes, moved, strict=True)
    ]
    for k in range(rounds if dim > 1 else 0):
        run.report(0.7, f"refining stretched edges (round {k + 1})")
        plans = [_split_plan(b, max_length, n_boundary) for b in bounds]
        # Each candidate edge sends two latent points: its chord midpoint (bend test) and arc midpoint.
        new_dirs = [np.concatenate([p[0], p[1]]) for p in plans]
        if not sum(len(d) for d in new_dirs):
            break
        fraction = 0.7 + 0.15 * (k + 1) / (rounds + 1)
        moved = _move_many(run, [b.radius * d * sd for b, d in zip(bounds, new_dirs, strict=True)], fraction)
        inserted = 0
        for b, plan, gen in zip(bounds, plans, moved, strict=True):
            inserted += _apply_split(b, plan, gen, max_bend)
        if not inserted:
            break
    return bounds


def _move_many(run: _Run, latent: list[np.ndarray], fraction: float) -> list[np.ndarray]:
    """Generate several point sets in one solve (one batch, one set of steps)."""
    sizes = [len(x) for x in latent]
    if not sum(sizes):
        return [x.copy() for x in latent]
    moved = run.move(np.concatenate(latent), "generate", fraction, fraction)
    return np.split(moved, np.cumsum(sizes)[:-1])


def _edges(b: Boundary) -> np.ndarray:
    """Edges (E, 2): consecutive vertices of a polygon, or the unique edges of a mesh."""
    if b.faces is None:
        idx = np.arange(len(b.directions))
        return np.stack([idx, np.roll(idx, -1)], axis=1)
    return geometry.mesh_edges(b.faces)


def _split_plan(b: Boundary, max_length: float, max_edges: int):
    """Candidate edges (longer than max_length after generation, at most the max_edges longest): latent
    chord and arc midpoints, edge ids. The cap bounds each round's cost (2 solves per candidate)."""
    edges = _edges(b)
    if b.faces is not None and len(b.faces) > MAX_FACES:
        edges = edges[:0]
    length = np.linalg.norm(b.generated[edges[:, 0]] - b.generated[edges[:, 1]], axis=1)
    long = np.flatnonzero(length > max_length)
    long = np.sort(long[np.argsort(length[long])[::-1][:max_edges]])
    chord = 0.5 * (b.directions[edges[long, 0]] + b.directions[edges[long, 1]])
    # The arc midpoint keeps the (area-matching) distance of the edge's end points from the centre.
    reach = 0.5 * (
        np.linalg.norm(b.directions[edges[long, 0]], axis=1)
        + np.linalg.norm(b.directions[edges[long, 1]], axis=1)
    )
    arc = chord / np.linalg.norm(chord, axis=1, keepdims=True) * reach[:, None]
    return chord, arc, long


def _apply_split(b: Boundary, plan, generated: np.ndarray, max_bend: float) -> int:
    """Insert the arc midpoints of edges the flow bends by more than max_bend; return how many."""
    chord, mids, long = plan
    generated_chord, generated_mids = generated[: len(chord)], generated[len(chord) :]
    edges = _edges(b)[long]
    image_chord_mid = 0.5 * (b.generated[edges[:, 0]] + b.generated[edges[:, 1]])
    bent = np.linalg.norm(generated_chord - image_chord_mid, axis=1) > max_bend
    if not bent.any():
        return 0
    if b.faces is None:
        # Insert each midpoint right after the first vertex of its edge, keeping the polygon order.
        where = edges[bent, 0] + 1
        b.directions = np.insert(b.directions, where, mids[bent], axis=0)
        b.generated = np.insert(b.generated, where, generated_mids[bent], axis=0)
        return int(bent.sum())
    mask = np.zeros(len(geometry.mesh_edges(b.faces)), dtype=bool)
    mask[long[bent]] = True
    _, b.faces = geometry.subdivide(b.directions, b.faces, mask)  # midpoints appended in edge order
    b.directions = np.concatenate([b.directions, mids[bent]])
    b.generated = np.concatenate([b.generated, generated_mids[bent]])
    return int(bent.sum())
