"""The Uncertainty page's figures: picking points, ellipses and sample clouds moving through the flow,
and a latent credible circle beside its pre-image in data space."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import geometry
from . import style
from .animation import controls

# Linearised ellipses and the chosen points in vermillion, Monte-Carlo samples in blue, context grey.
LINEAR_COLOUR, SAMPLES_COLOUR, DATA_COLOUR = style.VERMILLION, style.BLUE, style.GREY_LIGHT


def pick_figure(
    X: np.ndarray,
    dims: list[int],
    selected: np.ndarray,
    axis_titles: list[str],
    title: str = "",
    height: int = 420,
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
    style.equal_aspect(fig)
    style.click_to_select(fig)
    return style.finish(
        fig,
        height,
        title,
        showlegend=False,
        xaxis_title=axis_titles[0],
        yaxis_title=axis_titles[1],
    )


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
    (F, M, 2) data particles moving along for context. Frames carry whole traces (names included).
    """

    def frame(k: int) -> list[go.Scatter]:
        return _propagation_traces(
            lin_means[k],
            lin_covs[k],
            radius,
            None if sample_path is None else sample_path[k].reshape(-1, 2),
            None if background is None else background[k],
        )

    fig = go.Figure(data=frame(0), frames=[go.Frame(data=frame(k), name=f"{k}") for k in range(len(times))])
    style.lock_axes(
        fig, _propagation_ranges(lin_means, lin_covs, radius, sample_path, background), list(axis_titles)
    )
    style.equal_aspect(fig)
    style.finish(
        fig,
        height,
        title,
        margin={"l": 10, "r": 10, "t": 90, "b": 140},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
        **controls(times, 120),
    )
    # The title at the very top: in a narrow column (a projector's presenter mode) the legend above the plot
    # wraps to two rows, which reach up to where Plotly would centre the title.
    fig.update_layout(title={"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 10}})
    return fig


def _propagation_traces(
    means: np.ndarray,
    covs: np.ndarray,
    radius: float,
    cloud: np.ndarray | None,
    background: np.ndarray | None,
) -> list[go.Scatter]:
    """One frame: context data, the Monte-Carlo cloud, the linearised ellipses and their centres."""
    traces = []
    if background is not None:
        traces.append(
            go.Scatter(
                x=background[:, 0],
                y=background[:, 1],
                mode="markers",
                name="data",
                marker={"size": 3, "color": DATA_COLOUR},
                hoverinfo="skip",
            )
        )
    if cloud is not None:
        traces.append(
            go.Scatter(
                x=cloud[:, 0],
                y=cloud[:, 1],
                mode="markers",
                name="Monte Carlo",
                marker={"size": 3, "color": SAMPLES_COLOUR, "opacity": 0.45},
            )
        )
    xs, ys = geometry.ellipses_trace(means, covs, radius)
    traces.append(
        go.Scatter(
            x=xs, y=ys, mode="lines", name="linearised ellipse", line={"color": LINEAR_COLOUR, "width": 2.5}
        )
    )
    traces.append(
        go.Scatter(
            x=means[:, 0],
            y=means[:, 1],
            mode="markers",
            name="mean",
            marker={"color": LINEAR_COLOUR, "size": 7, "symbol": "x"},
        )
    )
    return traces


def _propagation_ranges(
    lin_means: np.ndarray,
    lin_covs: np.ndarray,
    radius: float,
    sample_path: np.ndarray | None,
    background: np.ndarray | None,
) -> list[list[float]]:
    """Fixed axes holding the means, the first and last ellipses, and nearly all samples and data."""
    pieces = [lin_means.reshape(-1, 2)]
    for f in (0, len(lin_means) - 1):
        pieces += [
            geometry.ellipse_points(m, c, radius, 24) for m, c in zip(lin_means[f], lin_covs[f], strict=True)
        ]
    pieces += [p.reshape(-1, 2) for p in (sample_path, background) if p is not None]
    # Percentiles, not extremes: a few samples thrown far out (across a gap of the data) must not shrink
    # every ellipse to a dot; those few leave the fixed axes.
    return style.fixed_ranges(np.percentile(np.concatenate(pieces), [0.5, 99.5], axis=0), pad=0.1)


def preimage_figure(
    latent_ring: np.ndarray,
    data_ring: np.ndarray,
    latent_points: np.ndarray,
    data_points: np.ndarray,
    axis_titles: list[str],
    panel_titles: tuple[str, str] | None = None,
    height: int = 440,
) -> go.Figure:
    """A latent credible circle (left) and its pre-image in data space (right), over encoded / raw data;
    both panels at equal aspect so the latent circle is drawn round."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=panel_titles)
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
                fillcolor=style.translucent(LINEAR_COLOUR, 0.12),
                name="region",
                line={"color": LINEAR_COLOUR, "width": 2.5},
            ),
            row=1,
            col=col,
        )
    for col, (x_title, y_title) in ((1, ("u1 (latent)", "u2 (latent)")), (2, axis_titles)):
        fig.update_xaxes(title_text=x_title, row=1, col=col)
        fig.update_yaxes(title_text=y_title, row=1, col=col)
        style.equal_aspect(fig, row=1, col=col)
    return style.finish(fig, height)
