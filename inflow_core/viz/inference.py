"""Figures of Bayesian inference through the flow (docs/MATH.md sections 11 and 12): simulated data and
their latent codes, the posterior over mixture weights, simulation-based-calibration rank histograms, and
a log-density map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import style


def simulation_figure(
    X: np.ndarray, components: np.ndarray, latents: np.ndarray, height: int = 420, title: str = ""
) -> go.Figure:
    """Generated data (left, first two coordinates) and their latent codes z (right), by component."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("data space (generated)", "latent codes z"), horizontal_spacing=0.1
    )
    for k in np.unique(components):
        rows = components == k
        for col, points in ((1, X), (2, latents)):
            fig.add_trace(
                go.Scattergl(
                    x=points[rows, 0],
                    y=points[rows, 1],
                    mode="markers",
                    name=f"component {k + 1}",
                    legendgroup=str(k),
                    showlegend=col == 1,
                    marker={"size": 4, "color": style.class_colour(int(k)), "opacity": 0.7},
                ),
                row=1,
                col=col,
            )
    for col in (1, 2):
        style.equal_aspect(fig, row=1, col=col)
    fig.update_xaxes(title_text="x1", row=1, col=1)
    fig.update_yaxes(title_text="x2", row=1, col=1)
    fig.update_xaxes(title_text="z1", row=1, col=2)
    fig.update_yaxes(title_text="z2", row=1, col=2)
    return style.finish(
        fig, height, title, margin={"t": 70, "b": 10}, legend={"orientation": "h", "y": -0.15, "x": 0.0}
    )


def posterior_figure(
    posteriors: dict[str, np.ndarray],
    truth: np.ndarray | None,
    height: int = 420,
    title: str = "",
    max_points: int = 2000,
) -> go.Figure:
    """Posterior draws of (w1, w2) (w3 = 1 - w1 - w2): the first named posterior as points, the others as
    density contours on top (two clouds in one place would blend into one colour), and the true weights."""
    fig = go.Figure()
    for k, (name, draws) in enumerate(posteriors.items()):
        colour = style.line_colour(k)
        if k == 0:
            shown = draws[:: max(1, len(draws) // max_points)]
            fig.add_trace(
                go.Scattergl(
                    x=shown[:, 0],
                    y=shown[:, 1],
                    mode="markers",
                    name=name,
                    marker={"size": 3, "color": colour, "opacity": 0.4},
                )
            )
        else:
            fig.add_trace(
                go.Histogram2dContour(
                    x=draws[:, 0],
                    y=draws[:, 1],
                    name=name,
                    showlegend=True,
                    showscale=False,
                    ncontours=6,
                    line={"width": 2},
                    colorscale=[[0, colour], [1, colour]],
                    contours={"coloring": "lines"},
                )
            )
    if truth is not None:
        fig.add_trace(
            go.Scatter(
                x=[truth[0]],
                y=[truth[1]],
                mode="markers",
                name="true weights",
                marker={"size": 14, "symbol": "x", "color": style.BLACK},
            )
        )
    fig.update_xaxes(title_text="w1")
    fig.update_yaxes(title_text="w2")
    style.equal_aspect(fig)
    return style.finish(
        fig,
        height,
        title,
        margin={"t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.2, "x": 0.0, "itemsizing": "constant"},
    )


def rank_histograms(
    edges: np.ndarray,
    counts: np.ndarray,
    band: np.ndarray,
    p_values: np.ndarray,
    height: int = 320,
    title: str = "",
) -> go.Figure:
    """SBC rank histograms, one panel per weight, with the 99 % band a calibrated posterior stays in."""
    k = counts.shape[1]
    titles = [f"w{i + 1}: p = {p:.2g}" for i, p in enumerate(p_values)]
    fig = make_subplots(rows=1, cols=k, subplot_titles=titles, horizontal_spacing=0.06)
    centres, widths = 0.5 * (edges[:-1] + edges[1:]), np.diff(edges)
    for i in range(k):
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts[:, i],
                width=widths,
                showlegend=False,
                marker={"color": style.line_colour(i)},
            ),
            row=1,
            col=i + 1,
        )
        fig.add_hrect(
            y0=band[0], y1=band[1], fillcolor=style.GREY_LIGHT, opacity=0.4, line_width=0, row=1, col=i + 1
        )
        fig.update_xaxes(title_text="rank of the true weight", row=1, col=i + 1)
    fig.update_yaxes(title_text="replicates", row=1, col=1)
    return style.finish(fig, height, title, margin={"t": 70, "b": 10})


def density_map(
    x: np.ndarray,
    y: np.ndarray,
    log_density: np.ndarray,
    data: np.ndarray | None = None,
    height: int = 460,
    title: str = "",
    depth: float | None = None,
) -> go.Figure:
    """A log-density heatmap over a grid (``log_density`` (len(y), len(x))), with data points on top.

    ``depth``: the colour scale spans only the top ``depth`` nats (lower values share the bottom colour), so
    that far tails thousands of nats down do not wash out the structure where the mass is."""
    top = float(np.nanmax(log_density))
    floor = None if depth is None else max(top - depth, float(np.nanmin(log_density)))
    bar_title = "log p(x)" if floor is None else f"log p(x)<br>(top {depth:g} nats)"
    fig = go.Figure(
        go.Heatmap(
            x=x,
            y=y,
            z=log_density,
            zmin=floor,
            zmax=None if floor is None else top,
            colorscale=style.SEQUENTIAL,
            colorbar={"title": {"text": bar_title}},
        )
    )
    if data is not None:
        fig.add_trace(
            go.Scattergl(
                x=data[:, 0],
                y=data[:, 1],
                mode="markers",
                name="data",
                marker={"size": 2, "color": style.WHITE, "opacity": 0.5},
            )
        )
    fig.update_xaxes(title_text="x1", range=[x[0], x[-1]])
    fig.update_yaxes(title_text="x2", range=[y[0], y[-1]])
    style.equal_aspect(fig)
    return style.finish(fig, height, title, showlegend=False)
