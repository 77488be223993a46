"""Plotly figures for the Uncertainty and Calibration pages: arrays in, ``go.Figure`` out, no Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import geometry
from .plots import fixed_ranges, play_pause_buttons, time_slider

LINEAR_COLOUR, SAMPLES_COLOUR, DATA_COLOUR = "#d62728", "#1f77b4", "#b8b8b8"
SERIES_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00"]


def pick_figure(
    X: np.ndarray, dims: list[int], selected: np.ndarray, axis_titles: list[str], height: int = 420
) -> go.Figure:
    """The data to pick points from (click, box or lasso), customdata = row index; chosen rows on top."""
    chosen = np.asarray(selected, dtype=int)
    fig = go.Figure()
    for rows, colour, size, name in (
        (np.arange(len(X)), DATA_COLOUR, 5, "data"),
        (chosen, LINEAR_COLOUR, 10, "chosen"),
    ):
        fig.add_trace(
            go.Scatter(
                x=X[rows, dims[0]],
                y=X[rows, dims[1]],
                mode="markers",
                customdata=rows,
                marker={"size": size, "color": colour},
                name=name,
                hovertemplate="point %{customdata}<extra></extra>",
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        dragmode="lasso",
        title="Data: click a point, or lasso / box-select several",
        showlegend=False,
        xaxis_title=axis_titles[0],
        yaxis_title=axis_titles[1],
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def propagation_animation(
    times: np.ndarray,
    lin_means: np.ndarray,
    lin_covs: np.ndarray,
    sample_path: np.ndarray | None,
    radius: float,
    background: np.ndarray | None = None,
    axis_titles: tuple[str, str] = ("u1", "u2"),
    title: str = "",
    height: int = 620,
) -> go.Figure:
    """Ellipses (linearised) and sample clouds (Monte Carlo) moving through the flow, in 2-D flow coordinates.

    ``lin_means`` (F, N, 2), ``lin_covs`` (F, N, 2, 2), ``sample_path`` (F, N, K, 2), ``background``
    (F, M, 2) data particles moving along for context.
    """

    def traces(k: int) -> list:
        out = []
        if background is not None:
            out.append(
                go.Scatter(
                    x=background[k, :, 0],
                    y=background[k, :, 1],
                    mode="markers",
                    marker={"size": 3, "color": DATA_COLOUR},
                    name="data",
                    hoverinfo="skip",
                )
            )
        if sample_path is not None:
            cloud = sample_path[k].reshape(-1, 2)
            out.append(
                go.Scatter(
                    x=cloud[:, 0],
                    y=cloud[:, 1],
                    mode="markers",
                    name="Monte Carlo samples",
                    marker={"size": 3, "color": SAMPLES_COLOUR, "opacity": 0.45},
                )
            )
        xs, ys = geometry.ellipses_trace(lin_means[k], lin_covs[k], radius)
        out.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="linearised ellipse",
                line={"color": LINEAR_COLOUR, "width": 2.5},
            )
        )
        out.append(
            go.Scatter(
                x=lin_means[k, :, 0],
                y=lin_means[k, :, 1],
                mode="markers",
                name="mean",
                marker={"color": LINEAR_COLOUR, "size": 7, "symbol": "x"},
            )
        )
        return out

    pieces = [lin_means.reshape(-1, 2)]
    for f in (0, len(times) - 1):
        for m, c in zip(lin_means[f], lin_covs[f], strict=True):
            pieces.append(geometry.ellipse_points(m, c, radius, 24))
    if sample_path is not None:
        pieces.append(sample_path.reshape(-1, 2))
    if background is not None:
        pieces.append(background.reshape(-1, 2))
    # Percentiles, not extremes: a few samples thrown far out (across a gap of the data) must not shrink
    # every ellipse to a dot; those few leave the fixed axes.
    everything = np.concatenate(pieces)
    ranges = fixed_ranges(np.percentile(everything, [0.5, 99.5], axis=0)[None], pad=0.1)
    fig = go.Figure(data=traces(0), frames=[go.Frame(data=traces(k), name=f"{k}") for k in range(len(times))])
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 80, "b": 140},
        xaxis={"range": ranges[0], "title": axis_titles[0]},
        yaxis={"range": ranges[1], "title": axis_titles[1], "scaleanchor": "x", "scaleratio": 1},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        updatemenus=[play_pause_buttons(120)],
        sliders=[time_slider(times)],
    )
    return fig


def preimage_figure(
    latent_ring: np.ndarray,
    data_ring: np.ndarray,
    latent_points: np.ndarray,
    data_points: np.ndarray,
    axis_titles: list[str],
    height: int = 440,
) -> go.Figure:
    """A latent credible circle (left) and its pre-image in data space (right), over encoded / raw data."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Latent space: credible region", "Data space: its pre-image")
    )
    for col, ring, pts in ((1, latent_ring, latent_points), (2, data_ring, data_points)):
        closed = np.concatenate([ring, ring[:1]])
        fig.add_trace(
            go.Scatter(
                x=pts[:, 0],
                y=pts[:, 1],
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                marker={"size": 3, "color": DATA_COLOUR},
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=closed[:, 0],
                y=closed[:, 1],
                mode="lines",
                fill="toself",
                showlegend=False,
                fillcolor="rgba(214,39,40,0.12)",
                line={"color": LINEAR_COLOUR, "width": 2.5},
                name="region",
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title_text="u1 (latent)", row=1, col=1)
    fig.update_yaxes(title_text="u2 (latent)", scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title_text=axis_titles[0], row=1, col=2)
    fig.update_yaxes(title_text=axis_titles[1], scaleanchor="x2", scaleratio=1, row=1, col=2)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def reliability_figure(tables: dict[str, pd.DataFrame], height: int = 440) -> go.Figure:
    """Coverage after the round trip (solid), after generation (open) and of encoded data (squares, when
    measured) against nominal, with 1-SE bars."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="perfect calibration",
            line={"color": "#888", "dash": "dot"},
        )
    )
    for k, (name, table) in enumerate(tables.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        for column, symbol, suffix in (
            ("after_round_trip", "circle", "round trip"),
            ("after_generation", "circle-open", "generation"),
            ("data_inside", "square", "encoded data"),
        ):
            if column not in table or table[column].isna().all():
                continue
            fig.add_trace(
                go.Scatter(
                    x=table["nominal"],
                    y=table[column],
                    mode="markers+lines",
                    name=f"{name}: {suffix}",
                    marker={"symbol": symbol, "size": 9, "color": colour},
                    line={"color": colour, "width": 1},
                    error_y={"type": "data", "array": table[f"{column}_se"], "visible": True},
                    customdata=table["radius"],
                    hovertemplate="r = %{customdata}: nominal %{x:.2f} %, measured %{y:.2f} %<extra></extra>",
                )
            )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title="Reliability: measured vs nominal coverage",
        xaxis_title="nominal coverage (chi-square), %",
        yaxis_title="measured coverage, % (bars: 1 SE)",
        legend={"orientation": "h", "y": -0.18, "yanchor": "top"},
    )
    return fig


def residual_figure(tables: dict[str, pd.DataFrame], height: int = 440) -> go.Figure:
    """Coverage change per radius: moved counts minus initial (the map's folds, free of test-point
    sampling) and encoded data minus nominal (does the flow send data to the latent Gaussian?)."""
    fig = go.Figure()
    for k, (name, table) in enumerate(tables.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        for column, dash, reference in (
            ("after_round_trip", "solid", "initial"),
            ("after_generation", "dot", "initial"),
            ("data_inside", "dashdot", "nominal"),
        ):
            if column not in table or table[column].isna().all():
                continue
            fig.add_trace(
                go.Scatter(
                    x=table["radius"],
                    y=table[column] - table[reference],
                    mode="lines+markers",
                    name=f"{name}: {column.replace('_', ' ')} − {reference}",
                    line={"color": colour, "dash": dash},
                )
            )
    fig.add_hline(y=0, line={"color": "#888", "width": 1})
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title="Coverage errors per radius (percentage points)",
        xaxis_title="Mahalanobis radius r",
        yaxis_title="difference",
        legend={"orientation": "h", "y": -0.4, "yanchor": "top"},
    )
    return fig


def boundaries_figure(
    boundaries: list[np.ndarray], radii, test_points: np.ndarray, axis_titles: list[str], height: int = 520
) -> go.Figure:
    """Moved 2-D Mahalanobis boundaries (closed polygons) over a subsample of generated test points."""
    fig = go.Figure(
        go.Scatter(
            x=test_points[:, 0],
            y=test_points[:, 1],
            mode="markers",
            name="test points",
            marker={"size": 2, "color": DATA_COLOUR},
            hoverinfo="skip",
        )
    )
    for k, (ring, r) in enumerate(zip(boundaries, radii, strict=True)):
        closed = np.concatenate([ring, ring[:1]])
        fig.add_trace(
            go.Scatter(
                x=closed[:, 0],
                y=closed[:, 1],
                mode="lines",
                name=f"r = {r:g}",
                line={"width": 2, "color": SERIES_COLOURS[k % len(SERIES_COLOURS)]},
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title="Latent Mahalanobis circles after generation (their connectivity carried by the flow)",
        xaxis_title=axis_titles[0],
        yaxis_title=axis_titles[1],
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig
