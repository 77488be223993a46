"""The one result cache, and the cached calls into ``inflow_core`` that pages use.

``cached`` memoises a function in one server-wide cache: identical work is done once for every session
(concurrent identical calls wait for the first instead of repeating it), results are kept newest first
within a memory budget, and an error is never cached. Arguments whose names start with ``_`` are not
part of the key: pass a string alongside that identifies them (``flow_key`` for a flow, ``data_key``
for data). ``cached(job="...")`` also runs the computation through the job runner (its queue, its
server-wide cap, one torch thread per worker), showing the user their place in the queue meanwhile.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import io
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.basedatatypes import BaseFigure

import inflow_core as ic
from explorer import jobs
from explorer.text import MAX_CHARS, for_figure
from inflow_core import reduction, viz

# Home demo: 1,000 circle points reduced to one dimension by their exact (empirical) flow, 600 of them
# animated at tolerance 1e-4: the animation is light and computed in well under a second.
DEMO = {"dataset": "circles", "n": 1000, "seed": 0, "particles": 600, "frames": 60, "tol": 1e-4}
CACHE_BYTES = 512 * 2**20
# The Flow page's round trip checks this many particles: the solver's error, at a fraction of the cost.
ROUND_TRIP_POINTS = 200
ANIMATION_HEIGHT = 560  # px: the Flow page's animation (less in presenter mode, layout.fit)
CACHE_ENTRIES = 256


class ResultCache:
    """Server-wide, bounded, single-flight memo of computed results (treat the values as read-only)."""

    def __init__(self, max_bytes: int = CACHE_BYTES, max_entries: int = CACHE_ENTRIES):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._lock = threading.Lock()
        self._store: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._inflight: dict[Any, Future] = {}
        self.computed_by: Counter[str] = Counter()  # computations run, by cached function (tests count them)

    def get_or_compute(self, key, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key][0]
            future = self._inflight.get(key)
            owner = future is None
            if owner:
                future = self._inflight[key] = Future()
        if not owner:
            return future.result()  # the first caller's result, or its exception
        try:
            value = compute()
        except BaseException as err:
            future.set_exception(err)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)
        with self._lock:
            self.computed_by[key[1] if isinstance(key, tuple) and len(key) > 1 else "?"] += 1
            self._store[key] = (value, _nbytes(value))
            self._evict()
        future.set_result(value)
        return value

    @property
    def computed(self) -> int:
        """How many computations ran, of every function."""
        return sum(self.computed_by.values())

    def peek(self, key) -> Any:
        """The cached value or None, without computing."""
        with self._lock:
            entry = self._store.get(key)
            return None if entry is None else entry[0]

    def _evict(self) -> None:
        total = sum(size for _, size in self._store.values())
        while len(self._store) > 1 and (total > self.max_bytes or len(self._store) > self.max_entries):
            _, (_, size) = self._store.popitem(last=False)
            total -= size


@st.cache_resource
def cache() -> ResultCache:
    """The one cache shared by every session of this server."""
    return ResultCache()


def cached(fn: Callable | None = None, *, job: str | None = None):
    """Memoise ``fn`` in the server-wide cache; with ``job``, compute it in the job runner's queue."""
    if fn is None:
        return functools.partial(cached, job=job)
    signature = inspect.signature(fn)

    def key_of(args, kwargs) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return (
            fn.__module__,
            fn.__qualname__,
            tuple(
                (name, _hashable(value))
                for name, value in bound.arguments.items()
                if not name.startswith("_")
            ),
        )

    @functools.wraps(fn)
    def call(*args, **kwargs):
        compute = functools.partial(fn, *args, **kwargs)
        if job is not None:
            compute = functools.partial(run_in_queue, job, fn.__name__.replace("_", " "), compute)
        return cache().get_or_compute(key_of(args, kwargs), compute)

    call.peek = lambda *args, **kwargs: cache().peek(key_of(args, kwargs))
    return call


def run_in_queue(kind: str, title: str, compute: Callable[[], Any]) -> Any:
    """Run ``compute`` in the job runner and wait, telling the user their place in the queue (inline when
    already on a worker, which must not wait for a slot of its own queue)."""
    if jobs.in_worker():
        return compute()
    status = st.empty()

    def show(job: jobs.Job) -> None:
        status.caption(jobs.waiting_text(job))

    try:
        return jobs.runner().run(kind, title, lambda job: compute(), jobs.session_id(), on_wait=show)
    finally:
        status.empty()


def _hashable(value) -> Any:
    """A cache-key form of an argument: arrays by content digest, containers recursively."""
    if isinstance(value, np.ndarray):
        # Object arrays (class names) by their values: their bytes are pointers.
        pointers = value.dtype == object
        raw = repr(value.tolist()).encode() if pointers else np.ascontiguousarray(value).tobytes()
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        return ("ndarray", value.shape, str(value.dtype), digest)
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a computed result: by its fields
        fields = dataclasses.fields(value)
        return (type(value).__qualname__, *(_hashable(getattr(value, f.name)) for f in fields))
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if value is None or isinstance(value, str | int | float | bool | bytes | np.generic):
        return value
    raise TypeError(
        f"Cannot key a cache on {type(value).__name__}: name the argument with a leading _ "
        "and pass a key string that identifies it."
    )


def _nbytes(value, depth: int = 0) -> int:
    """Approximate memory of a cached result (arrays dominate)."""
    if depth > 4:
        return 0
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False).sum())
    if isinstance(value, BaseFigure):  # a figure holds its frames' arrays: count them as their JSON
        return value.json_bytes() if isinstance(value, SharedFigure) else len(value.to_json())
    if isinstance(value, list | tuple):
        return sum(_nbytes(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v, depth + 1) for v in value.values())
    if dataclasses.is_dataclass(value):
        return sum(_nbytes(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    return 64


# --------------------------------------------------------------------------- data, bases, flows
@cached
def builtin_dataset(
    name: str, n: int, seed: int, noise: float | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """A built-in dataset, generated once per parameter set."""
    return ic.datasets.load(name, n=n, seed=seed, noise=noise)


def fit_basis(X: np.ndarray) -> ic.EigenBasis:
    """The eigenbasis every page uses (z-scoring on: uploads come in any units)."""
    return ic.EigenBasis.fit(X, standardize=True)


@cached
def basis_for(data_key: str, _X: np.ndarray) -> ic.EigenBasis:
    """The eigenbasis of the data identified by ``data_key``, fitted once."""
    return fit_basis(_X)


def exact_flow(X: np.ndarray, basis: ic.EigenBasis, schedule: ic.Schedule, **solver) -> ic.InflationaryFlow:
    """The exact flow of the data set itself (empirical denoiser): no training, instant to build."""
    return ic.InflationaryFlow(basis, schedule, ic.EmpiricalDenoiser(basis.to_eigen(X)), **solver)


@cached
def shipped_flow(path: str) -> ic.InflationaryFlow:
    """A model shipped with the app (``shipped_models()``'s path), loaded once per server."""
    return ic.load_flow(path)


# --------------------------------------------------------------------------- the Flow page
@dataclasses.dataclass
class FlowResult:
    """One computed animation: frames of flow coordinates plus everything shown under the figure."""

    direction: str
    times: np.ndarray  # (K,)
    states: np.ndarray  # (K, N, D) float32 flow coordinates
    labels: np.ndarray | None  # (N,) labels of the animated particles (inflate only)
    variances: np.ndarray  # (K, D) measured per-dimension variance
    predicted: np.ndarray  # (K, D) the schedule's marginal variance
    solver: str  # e.g. "dopri5, rtol=1e-05, atol=1e-05"
    nfe: int
    wall_time: float
    round_trip: str
    n_total: int  # points available before subsampling
    kept: np.ndarray  # (D,) the schedule's kept dimensions


@cached(job="flow")
def flow_result(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    data_key: str,
    _X: np.ndarray,
    _labels: np.ndarray | None,
    direction: str,
    n_particles: int,
    n_frames: int,
    seed: int,
    prior: str,
    round_trip: bool = True,
    blur: bool = False,
) -> FlowResult:
    """Integrate the flow for an animation, keyed by the flow, the data and the animation settings.
    Inflate animates a random subset of the data (``blur``: plus the initial noise, i.e. draws from the
    flow's t = 0 distribution); generate animates draws from the latent prior. The round trip (optional)
    integrates the end states of at most ROUND_TRIP_POINTS evenly spread particles back and compares them
    with their start: it measures the solver's error, and on every particle it would double the cost."""
    rng = np.random.default_rng(seed)
    labels, round_trip_text = None, "not computed"
    if direction == "inflate":
        keep = np.sort(rng.choice(len(_X), size=min(n_particles, len(_X)), replace=False))
        start, labels = _X[keep], (None if _labels is None else _labels[keep])
        if blur:
            start = _flow.initial_draws(start, seed=seed)
        traj = _flow.trajectory(start, "inflate", n_frames=n_frames)
        if round_trip:
            some = _round_trip_subset(len(start))
            error = ic.metrics.round_trip_error(start[some], _flow.decode(traj.states[-1][some]))
            round_trip_text = _round_trip_text(
                f"decode(encode(x)) vs x{_subset_note(some, len(start))}",
                error.describe(),
                error.max_abs,
                traj.stats.options,
            )
    else:
        latents = _flow.prior_samples(
            n_particles, seed=seed, prior=prior, reference=_X if prior == "empirical" else None
        )
        traj = _flow.trajectory(latents, "generate", n_frames=n_frames)
        if round_trip:
            some = _round_trip_subset(len(latents))
            back = _flow.encode(_flow.from_flow(traj.states[-1][some]))
            error = ic.metrics.round_trip_error(latents[some], back)
            units = error.describe().replace("data units", "latent units")
            round_trip_text = _round_trip_text(
                f"encode(decode(u)) vs u{_subset_note(some, len(latents))}",
                units,
                error.max_abs,
                traj.stats.options,
            )
    variances = traj.states.var(axis=1, ddof=1)
    predicted = _flow.schedule.marginal_variance(traj.times)
    return FlowResult(
        direction,
        traj.times,
        traj.states.astype(np.float32),
        labels,
        variances,
        predicted,
        traj.stats.options.describe(),
        traj.nfe,
        traj.stats.wall_time,
        round_trip_text,
        len(_X),
        _flow.schedule.kept.copy(),
    )


@dataclasses.dataclass(frozen=True)
class FlowRequest:
    """The Flow page's settings that change the trajectory (the view's other settings only re-draw it)."""

    direction: str
    particles: int
    frames: int
    seed: int
    prior: str
    blur: bool

    @classmethod
    def of_view(cls, view: dict, seed: int, dim: int, n_points: int) -> FlowRequest:
        """The request for the Flow page's settings ``view``. The particle count is capped to keep the
        animation under about 10 MB, for the most coordinates the view can show (so switching the shown
        coordinates re-draws instead of solving again)."""
        inflate = view["direction"] == "inflate"
        budget = viz.animation.payload_particles(view["frames"], min(dim, 3))
        particles = min(view["particles"], budget, n_points if inflate else view["particles"])
        return cls(
            view["direction"],
            particles,
            view["frames"],
            seed,
            "gaussian" if inflate else view["prior"],
            bool(view["blur"]) and inflate,
        )


def compute_flow(
    flow_key: str,
    flow: ic.InflationaryFlow,
    data_key: str,
    X: np.ndarray,
    labels: np.ndarray | None,
    request: FlowRequest,
) -> FlowResult:
    """The Flow page's animation for a request (cached and queued like every solve)."""
    return flow_result(
        flow_key,
        flow,
        data_key,
        X,
        labels,
        request.direction,
        request.particles,
        request.frames,
        request.seed,
        request.prior,
        blur=request.blur,
    )


def _round_trip_subset(n: int) -> np.ndarray:
    """Indices of at most ROUND_TRIP_POINTS particles, evenly spread over the n animated ones."""
    return np.unique(np.linspace(0, n - 1, min(n, ROUND_TRIP_POINTS)).astype(int))


def _subset_note(some: np.ndarray, n: int) -> str:
    """How many of the n particles a check used, when not all of them."""
    return "" if len(some) == n else f" ({len(some):,} of the {n:,} particles)"


def _round_trip_text(what: str, described: str, max_abs: float, options: ic.SolverOptions) -> str:
    """The round-trip figure, and why it can sit far above an adaptive solver's tolerance."""
    text = f"{what}: {described}"
    if options.adaptive and max_abs > 100 * max(options.rtol, options.atol):
        text += (
            " — far above the tolerance for a few points: where the flow squeezes points together "
            "(a reducing schedule's compressed dimensions, or the exact flow near its training points) "
            "a small error grows on the way back; a tighter solver tolerance shrinks it"
        )
    return text


def trajectories_csv(result: FlowResult) -> bytes:
    """Long-format CSV: one row per frame and particle, flow coordinates u1..uD."""
    k, n, d = result.states.shape
    frame = pd.DataFrame(result.states.reshape(k * n, d), columns=[f"u{i + 1}" for i in range(d)])
    frame.insert(0, "particle", np.tile(np.arange(n), k))
    frame.insert(0, "t", np.repeat(result.times, n))
    frame.insert(0, "frame", np.repeat(np.arange(k), n))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue().encode()


# --------------------------------------------------------------------------- the Uncertainty page
# The Monte-Carlo solve's budget on the Uncertainty page. Draws around a point of a sparse data set fall
# between its points (digits: 1,797 points in D = 64), where the exact empirical field is stiff: 20
# draws took 57 s and 72,000 field evaluations, the page's 3 x 200 many minutes. The linearised ellipse
# needs only the point's own solve (about a second there) and is shown without the cloud.
MONTE_CARLO_SECONDS = 20.0


@cached(job="propagation")
def propagate_both(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    points: np.ndarray,
    cov: np.ndarray,
    n_samples: int,
    n_frames: int,
    data_key: str,
    _background: np.ndarray,
):
    """Linearised and Monte-Carlo propagation with frames, moving background particles, and why the
    Monte-Carlo part is None when its solve ran past ``MONTE_CARLO_SECONDS`` ("" when it finished)."""
    linear = ic.uncertainty.propagate(_flow, points, cov, method="linear", n_frames=n_frames)
    stopped = ""
    try:
        samples = ic.uncertainty.propagate(
            _flow.with_solver(max_seconds=MONTE_CARLO_SECONDS),
            points,
            cov,
            method="samples",
            n_samples=n_samples,
            n_frames=n_frames,
            seed=0,
        )
    except ic.SolverError as err:
        samples, stopped = None, str(err)
    background = _flow.trajectory(_background, "inflate", n_frames=n_frames).states
    return linear, samples, background, stopped


@cached(job="propagation")
def region_preimage(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    centre: tuple,
    radius: float,
    data_key: str,
    _reference: np.ndarray,
):
    """A latent Mahalanobis circle, its decoded pre-image, and encoded reference points for context."""
    ring = ic.uncertainty.latent_ball(_flow, np.array(centre), radius, n=240)
    return ring, ic.uncertainty.preimage(_flow, ring), _flow.encode(_reference)


# --------------------------------------------------------------------------- the Inference page
@cached(job="inference")
def simulate(flow_key: str, _flow: ic.InflationaryFlow, weights: tuple, n: int, noise: float):
    """(X, components, true latents z, cost): the paper's latent mixture with these weights, generated by
    the flow (seed 0: the same draws as ``LatentMixture.sample``)."""
    mixture = ic.inference.LatentMixture.paper_preset()
    X, components = ic.inference.simulate(_flow, mixture, weights, n, seed=0, obs_noise=noise)
    stats = _flow.last_stats
    return X, components, mixture.sample(n, weights, seed=0)[0], stats


@cached(job="inference")
def posteriors(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    X: np.ndarray,
    z: np.ndarray,
    noise: float,
    method: str,
    sim_key: tuple,
):
    """The posterior over the weights from the encoded data, and from the true latents z."""
    mixture = ic.inference.LatentMixture.paper_preset()
    from_flow = ic.inference.posterior_weights(_flow, X, mixture, method=method, obs_noise=noise)
    return from_flow, ic.inference.posterior_weights(_flow, None, mixture, method=method, latents=z)


# --------------------------------------------------------------------------- the Inference page: likelihood
HELD_OUT_N = 500  # fresh points for the held-out NLL
PROBE_POINTS = 8  # points on which the exact flow's closed form is checked through the ODE
# Grid points per side of the density map on "auto": the exact flow's closed form costs one kernel sum
# (about 0.5 s at 60 x 60 for 2,000 points on one core); the network's ODE solve costs about 6 s at
# 30 x 30 and 30 s at 60 x 60 for the shipped circles model (bench: the page's own measurements).
AUTO_GRID = {"exact": 60, "learned": 30}


def held_out_points(info: dict) -> tuple[str, np.ndarray] | None:
    """(key, points): fresh draws from the same generator as the data (the next seed), or None where no
    points the flow has not seen exist (uploads, drawings, and the digits, a fixed set used whole)."""
    name = info.get("dataset")
    if name not in ic.datasets.REGISTRY or name == "digits":
        return None
    seed = int(info.get("seed") or 0)
    seed = seed + 1 if seed < 2**31 - 1 else seed - 1
    X, _ = builtin_dataset(name, HELD_OUT_N, seed, info.get("noise"))
    return f"{name}|{HELD_OUT_N}|{seed}|{info.get('noise')}", X


@dataclasses.dataclass
class LikelihoodResult:
    """The exact log-likelihood section's numbers: a log-density grid (2-D only) and held-out NLLs."""

    dim: int
    method: str  # how log p was computed
    xs: np.ndarray | None
    ys: np.ndarray | None
    log_p: np.ndarray | None  # (len(ys), len(xs))
    integral: float | None  # of exp(log p) over the grid
    grid_cost: str
    held_n: int  # 0: no held-out points
    held_nll: float | None  # mean -log p, nats
    held_se: float | None  # its standard error over the points
    baseline_nll: float | None  # the full-covariance Gaussian fitted to the data
    held_cost: str
    check: str | None  # the exact flow: its closed form against the ODE on a few points

    def bits(self, nll: float) -> float:
        return nll / (self.dim * np.log(2.0))


@cached(job="density")
def log_likelihood(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    exact: bool,
    data_key: str,
    _X: np.ndarray,
    held_key: str | None,
    _held: np.ndarray | None,
    grid: int,
) -> LikelihoodResult:
    """log p of the flow on a grid over the data padded by 10 % (``grid`` points per side, 2-D only; 0 for
    none) and the mean NLL of held-out points against a Gaussian fit. The exact flow's density is its
    closed form (kernel density, ``likelihood.kernel_log_density``), checked through the ODE on a few
    points; a network's is the ODE solve (``likelihood.log_prob``, Gaussian prior at T)."""
    lk = ic.likelihood

    def density(points: np.ndarray) -> tuple[np.ndarray, str]:
        """log p at the points, and what it cost."""
        start = time.perf_counter()
        if exact:
            value = lk.kernel_log_density(_flow, points)
            return value, f"closed form, {time.perf_counter() - start:.2f} s"
        lp = lk.log_prob(_flow, points)
        cost = f"{lp.stats.options.describe()}, {lp.nfe:,} NFE, {lp.stats.wall_time:.1f} s"
        return lp.total, cost + (", Hutchinson divergence" if lp.divergence == "hutchinson" else "")

    if exact:
        method = (
            "Exact: the exact flow's density in closed form, the kernel density of its "
            f"{len(_X):,} points with bandwidth sqrt(c(0)) (docs/MATH.md 12)"
        )
    else:
        method = (
            "Learned: the network's density through the ODE (instantaneous change of variables, "
            "Gaussian prior at T; docs/MATH.md 12)"
        )
    xs = ys = log_p = integral = None
    grid_cost = "no grid (the map is for 2-D data)"
    if grid and _flow.dim == 2:
        xs, ys, points = lk.grid_points(lk.padded_range(_X[:, 0]), lk.padded_range(_X[:, 1]), grid)
        values, grid_cost = density(points)
        log_p = values.reshape(len(ys), len(xs))
        integral = lk.grid_integral(xs, ys, log_p)
    held_nll = held_se = baseline = None
    held_cost = "no held-out points"
    if _held is not None:
        values, held_cost = density(_held)
        held_nll, held_se = float(-values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))
        baseline = lk.gaussian_nll(_X, _held)
    check = None
    if exact:
        probe = (_held if _held is not None else _X)[:PROBE_POINTS]
        ode = lk.log_prob(_flow, probe, prior=lk.empirical_log_prior(_flow))
        gap = np.abs(ode.total - lk.kernel_log_density(_flow, probe)).max()
        check = (
            f"checked through the ODE (exact latent prior) on {len(probe)} points: largest difference "
            f"{gap:.1e} nats ({ode.stats.options.describe()}, {ode.nfe:,} NFE, {ode.stats.wall_time:.1f} s)"
        )
    return LikelihoodResult(
        _flow.dim,
        method,
        xs,
        ys,
        log_p,
        integral,
        grid_cost,
        0 if _held is None else len(_held),
        held_nll,
        held_se,
        baseline,
        held_cost,
        check,
    )


# --------------------------------------------------------------------------- the Inspect page
@cached
def digits_split(n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train X, train labels, held-out X, held-out labels) of the digits, as the shipped models split."""
    X, labels = ic.datasets.load("digits")
    train, held = reduction.holdout_split(len(X), n_train, seed=0)
    return X[train], labels[train], X[held], labels[held]


@cached(job="encoding")
def encode_points(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    points_key: str,
    _X: np.ndarray,
    _labels: np.ndarray | None,
    k: int,
):
    """The flow's kept latent and PCA with the same d, with their neighbourhood scores."""
    Z = reduction.latent(_flow, _X)
    P = reduction.pca_embedding(_flow.basis, _X, Z.shape[1])
    scores = {
        "inflationary flow": reduction.neighbourhood(_X, Z, _labels, k),
        "PCA": reduction.neighbourhood(_X, P, _labels, k),
    }
    return Z, P, scores


@cached(job="umap")
def umap_points(points_key: str, _X: np.ndarray, _labels: np.ndarray | None, d: int, k: int):
    """UMAP with d components of the same points, and its neighbourhood scores."""
    E = reduction.umap_embedding(_X, d, seed=0)
    return E, reduction.neighbourhood(_X, E, _labels, k)


@cached
def decode_kept(flow_key: str, _flow: ic.InflationaryFlow, Z: np.ndarray) -> np.ndarray:
    """Kept latents -> data (compressed latent coordinates at 0)."""
    return reduction.decode_kept(_flow, Z)


@cached(job="generation")
def generate(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    n: int,
    seed: int,
    prior: str,
    ref_key: str,
    _reference: np.ndarray,
) -> np.ndarray:
    """n generated points (the empirical prior resamples the reference data's compressed latents)."""
    return _flow.sample(n, seed=seed, prior=prior, reference=_reference if prior == "empirical" else None)


@cached(job="encoding")
def variance_profile(
    flow_key: str, _flow: ic.InflationaryFlow, points_key: str, _X: np.ndarray, n_frames: int
):
    """Variance of every eigen-dimension and the participation ratio over the inflation."""
    return reduction.variance_profile(_flow, _X, n_frames=n_frames)


# --------------------------------------------------------------------------- figures of results
def animation_figure(
    result: FlowResult,
    dims: list[int],
    color_mode: str,
    trails: int = 0,
    linked: bool = True,
    title: str = "",
    height: int = 560,
    subtitle: str = "",
):
    """The Plotly animation of a result on the chosen coordinates (0-based), with linked panels."""
    states = result.states[:, :, dims]
    colors, color_title = viz.flow.particle_colors(result.states[0][:, dims], result.labels, color_mode)
    trail_index = np.linspace(0, states.shape[1] - 1, trails).astype(int) if trails else None
    axis_titles = [f"u{i + 1} (eigen-coordinate {i + 1})" for i in dims]
    return viz.flow.flow_animation(
        result.times,
        states,
        colors,
        color_title,
        axis_titles,
        result.variances if linked else None,
        result.predicted if linked else None,
        kept=result.kept,
        trail_index=trail_index,
        title=title,
        height=height,
        subtitle=subtitle,
    )


def shown_dims(dim: int, three_d: bool, picked: list[int]) -> list[int]:
    """The coordinates the Flow page draws: both in 2-D, all three in 3-D when asked, else the picked two or
    three (u1, u2 when fewer are picked)."""
    if dim == 3 and three_d:
        return [0, 1, 2]
    picked = sorted(i for i in picked if 0 <= i < dim)
    return picked if dim > 3 and len(picked) >= 2 else [0, 1]


def animation_title(
    direction: str, data_title: str, schedule: ic.Schedule, plotly: bool = True
) -> tuple[str, str]:
    """The Flow page's animation title and subtitle: what moves, and the schedule (one line of both ran
    past a 1024-px screen). The data's title is untrusted text: made safe for a figure (``plotly``), or
    one capped line for the GIF, which draws text as it is."""
    moving = "Inflating" if direction == "inflate" else "Generating"
    shown = for_figure(data_title) if plotly else viz.style.one_line(data_title, MAX_CHARS)
    return f"{moving}: {shown}", schedule.describe()


@cached
def animation_view(
    result: FlowResult,
    dims: list[int],
    color_mode: str,
    trails: int,
    title: str,
    height: int,
    subtitle: str = "",
) -> tuple[go.Figure, float]:
    """The Flow page's animation figure and its payload in MB, built once per server for each result and
    view: building the frames' Plotly objects costs ~0.5 s, which a class pressing Compute together would
    otherwise pay once per student (read-only: every session shares the figure)."""
    fig = SharedFigure.of(
        animation_figure(result, dims, color_mode, trails, title=title, height=height, subtitle=subtitle)
    )
    return fig, fig.json_bytes() / 1e6


@cached
def variance_view(result: FlowResult, title: str) -> go.Figure:
    """The Flow page's predicted-vs-measured variance figure, built once per result (as animation_view)."""
    return SharedFigure.of(
        viz.flow.predicted_vs_measured(result.times, result.variances, result.predicted, title=title)
    )


class SharedFigure(go.Figure):
    """A read-only figure that many sessions draw: its dict form (what st.plotly_chart serialises; plotly
    converts every frame's arrays to base64 for it, ~0.1 s for an animation) is computed once."""

    @classmethod
    def of(cls, fig: go.Figure) -> SharedFigure:
        """``fig`` itself, as a SharedFigure. Not a copy: a Figure built from a figure validates every
        trace and frame again (~0.15 s of a 60-frame animation's ~0.4 s), and this class only adds
        caches that fill on first use."""
        fig.__class__ = cls
        return fig

    def to_dict(self) -> dict:
        if getattr(self, "_shared_dict", None) is None:
            self._shared_dict = super().to_dict()
        return self._shared_dict

    def json_bytes(self) -> int:
        """The size of its JSON, measured once (the page shows it; the result cache counts it)."""
        if getattr(self, "_json_bytes", None) is None:
            self._json_bytes = len(self.to_json())
        return self._json_bytes


def animation_gif(
    result: FlowResult, dims: list[int], color_mode: str, title: str = "", source: str = ""
) -> bytes:
    """The particle animation as a looping GIF on the first two chosen coordinates (0-based); ``source``
    (which flow, exact or learned) goes under the plot with the solver and its NFE."""
    shown = dims[:2]
    states = result.states[:, :, shown]
    colors, color_title = viz.flow.particle_colors(result.states[0][:, dims], result.labels, color_mode)
    rgb, legend = viz.flow.particle_rgb(colors, color_title)
    return viz.gif.flow_gif(
        result.times,
        states,
        rgb,
        [f"u{i + 1}" for i in shown],
        viz.style.fixed_ranges(states),
        title=title,
        legend=legend,
        note=f"colour: {color_title}. {source}; {result.solver}, {result.nfe:,} NFE",
    )


@cached
def home_demo_figure():
    """The home page's animation (computed once per server, then served from the cache)."""
    X, labels = builtin_dataset(DEMO["dataset"], DEMO["n"], DEMO["seed"], None)
    basis = fit_basis(X)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    flow = exact_flow(X, basis, schedule, rtol=DEMO["tol"], atol=DEMO["tol"])
    result = flow_result(
        f"home|{schedule.describe()}",
        flow,
        "home",
        X,
        labels,
        "inflate",
        DEMO["particles"],
        DEMO["frames"],
        0,
        "gaussian",
        round_trip=False,
    )
    fig = animation_figure(
        result, [0, 1], "label", title="Two circles inflate; the second dimension collapses", height=560
    )
    return fig
