"""Cached calls into ``inflow_core``: datasets, exact flows, trajectories and the home demo.

Results are cached by their parameters (``st.cache_data``), so revisiting a setting is instant and
no page recomputes what another page already computed. Arguments whose names start with ``_``
are not hashed; a string key that identifies them is passed alongside.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

import inflow_core as ic
from inflow_core import viz

# Home demo: 1,000 circle points reduced to one dimension by their exact (empirical) flow, 600 of them
# animated at tolerance 1e-4: the animation is light and computed in well under a second.
DEMO = {"dataset": "circles", "n": 1000, "seed": 0, "particles": 600, "frames": 60, "tol": 1e-4}


@st.cache_data(max_entries=32, show_spinner=False)
def builtin_dataset(name: str, n: int, seed: int,
                    noise: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """A built-in dataset, generated once per parameter set."""
    return ic.datasets.load(name, n=n, seed=seed, noise=noise)


def fit_basis(X: np.ndarray) -> ic.EigenBasis:
    """The eigenbasis every page uses (z-scoring on: uploads come in any units)."""
    return ic.EigenBasis.fit(X, standardize=True)


@st.cache_data(max_entries=32, show_spinner=False)
def basis_for(data_key: str, _X: np.ndarray) -> ic.EigenBasis:
    """The eigenbasis of the data identified by ``data_key``, fitted once."""
    return fit_basis(_X)


def exact_flow(X: np.ndarray, basis: ic.EigenBasis, schedule: ic.Schedule, tol: float,
               method: str = "dopri5") -> ic.InflationaryFlow:
    """The exact flow of the data set itself (empirical denoiser): no training, instant to build."""
    return ic.InflationaryFlow(basis, schedule, ic.EmpiricalDenoiser(basis.to_eigen(X)), method=method,
                               rtol=tol, atol=tol)


@dataclass
class FlowResult:
    """One computed animation: frames of flow coordinates plus everything shown under the figure."""

    direction: str
    times: np.ndarray            # (K,)
    states: np.ndarray           # (K, N, D) float32 flow coordinates
    labels: np.ndarray | None    # (N,) labels of the animated particles (inflate only)
    variances: np.ndarray        # (K, D) measured per-dimension variance
    predicted: np.ndarray        # (K, D) the schedule's marginal variance
    solver: str                  # e.g. "dopri5, rtol=1e-05, atol=1e-05"
    nfe: int
    wall_time: float
    round_trip: str
    n_total: int                 # points available before subsampling
    kept: np.ndarray             # (D,) the schedule's kept dimensions


@st.cache_data(max_entries=24, show_spinner=False)
def flow_result(flow_key: str, _flow: ic.InflationaryFlow, _X: np.ndarray, _labels: np.ndarray | None,
                direction: str, n_particles: int, n_frames: int, seed: int, prior: str,
                round_trip: bool = True, blur: bool = False) -> FlowResult:
    """Integrate the flow for an animation; cached by ``flow_key`` (data, schedule, model, solver) and
    the animation settings. Inflate animates a random subset of the data (``blur``: plus the initial
    noise, i.e. draws from the flow's t = 0 distribution); generate animates draws from the latent prior.
    The round trip (optional: it doubles the cost) integrates the end states back and compares them with
    the start."""
    torch.set_num_threads(1)  # small batches: one thread is fastest and leaves a core for other users
    rng = np.random.default_rng(seed)
    labels, round_trip_text = None, "not computed"
    if direction == "inflate":
        keep = np.sort(rng.choice(len(_X), size=min(n_particles, len(_X)), replace=False))
        start, labels = _X[keep], (None if _labels is None else _labels[keep])
        if blur:
            start = _flow.initial_draws(start, seed=seed)
        traj = _flow.trajectory(start, "inflate", n_frames=n_frames)
        if round_trip:
            error = ic.metrics.round_trip_error(start, _flow.decode(traj.states[-1]))
            round_trip_text = _round_trip_text("decode(encode(x)) vs x", error.describe(), error.max_abs,
                                               traj.stats.options)
    else:
        latents = _flow.prior_samples(n_particles, seed=seed, prior=prior,
                                      reference=_X if prior == "empirical" else None)
        traj = _flow.trajectory(latents, "generate", n_frames=n_frames)
        if round_trip:
            error = ic.metrics.round_trip_error(latents, _flow.encode(_flow.from_flow(traj.states[-1])))
            units = error.describe().replace("data units", "latent units")
            round_trip_text = _round_trip_text("encode(decode(u)) vs u", units, error.max_abs,
                                               traj.stats.options)
    variances = traj.states.var(axis=1, ddof=1)
    predicted = _flow.schedule.marginal_variance(traj.times)
    return FlowResult(direction, traj.times, traj.states.astype(np.float32), labels, variances, predicted,
                      traj.stats.options.describe(), traj.nfe, traj.stats.wall_time, round_trip_text, len(_X),
                      _flow.schedule.kept.copy())


def _round_trip_text(what: str, described: str, max_abs: float, options: ic.SolverOptions) -> str:
    """The round-trip figure, and why it can sit far above an adaptive solver's tolerance."""
    text = f"{what}: {described}"
    if options.adaptive and max_abs > 100 * max(options.rtol, options.atol):
        text += (" — far above the tolerance for a few points: where the flow squeezes points together "
                 "(a reducing schedule's compressed dimensions, or the exact flow near its training points) "
                 "a small error grows on the way back; a tighter solver tolerance shrinks it")
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


def animation_figure(result: FlowResult, dims: list[int], color_mode: str, trails: int = 0,
                     linked: bool = True, title: str = "", height: int = 560):
    """The Plotly animation of a result on the chosen coordinates (0-based), with linked panels."""
    states = result.states[:, :, dims]
    colors, color_title = viz.flow.particle_colors(result.states[0][:, dims], result.labels, color_mode)
    trail_index = np.linspace(0, states.shape[1] - 1, trails).astype(int) if trails else None
    axis_titles = [f"u{i + 1} (eigen-coordinate {i + 1})" for i in dims]
    return viz.flow.flow_animation(result.times, states, colors, color_title, axis_titles,
                                   result.variances if linked else None, result.predicted if linked else None,
                                   kept=result.kept, trail_index=trail_index, title=title, height=height)


def animation_gif(result: FlowResult, dims: list[int], color_mode: str, title: str = "",
                  source: str = "") -> bytes:
    """The particle animation as a looping GIF on the first two chosen coordinates (0-based); ``source``
    (which flow, exact or learned) goes under the plot with the solver and its NFE."""
    shown = dims[:2]
    states = result.states[:, :, shown]
    colors, color_title = viz.flow.particle_colors(result.states[0][:, dims], result.labels, color_mode)
    rgb, legend = viz.flow.particle_rgb(colors, color_title)
    return viz.gif.flow_gif(result.times, states, rgb, [f"u{i + 1}" for i in shown],
                            viz.style.fixed_ranges(states), title=title, legend=legend,
                            note=f"colour: {color_title}. {source}; {result.solver}, {result.nfe:,} NFE")


@st.cache_data(show_spinner=False)
def home_demo_figure():
    """The home page's animation (computed once per server, then served from the cache)."""
    X, labels = builtin_dataset(DEMO["dataset"], DEMO["n"], DEMO["seed"], None)
    basis = fit_basis(X)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    flow = exact_flow(X, basis, schedule, tol=DEMO["tol"])
    result = flow_result(f"home|{schedule.describe()}", flow, X, labels, "inflate", DEMO["particles"],
                         DEMO["frames"], 0, "gaussian", round_trip=False)
    fig = animation_figure(result, [0, 1], "label", title="Two circles inflate; the second dimension "
                                                          "collapses",
                           height=560)
    return fig
