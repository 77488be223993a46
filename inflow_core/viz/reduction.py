"""The Inspect page's figures: embeddings, image grids, feature profiles, neighbourhood scores and
variance through the flow."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..reduction import Neighbourhood, VarianceProfile
from . import style


def embedding_scatter(
    E: np.ndarray,
    labels: np.ndarray | None,
    title: str,
    axis_prefix: str,
    selected: int | None = None,
    height: int = 460,
) -> go.Figure:
    """2-D scatter of an embedding (first two coordinates), coloured by label; row index as customdata."""
    E = np.asarray(E, dtype=np.float32)
    xy = E[:, :2] if E.shape[1] >= 2 else np.c_[E[:, 0], np.zeros(len(E), np.float32)]
    fig = go.Figure()
    rows = np.arange(len(E))
    groups = [(None, rows)] if labels is None else [(k, rows[labels == k]) for k in np.unique(labels)]
    for i, (k, idx) in enumerate(groups):
        fig.add_trace(
            go.Scatter(  # SVG: clickable points (the page caps N at 2,000)
                x=xy[idx, 0],
                y=xy[idx, 1],
                mode="markers",
                customdata=idx,
                name="points" if k is None else str(k) if isinstance(k, np.integer) else style.label_text(k),
                marker={
                    "size": 5,
                    "opacity": 0.8,
                    "color": style.BLUE
                    if k is None
                    else style.class_colour(k if isinstance(k, np.integer) else i),
                },
                hovertemplate="point %{customdata}<extra>"
                + ("" if k is None else style.label_text(k))
                + "</extra>",
            )
        )
    if selected is not None and 0 <= selected < len(E):
        fig.add_trace(
            go.Scatter(
                x=[xy[selected, 0]],
                y=[xy[selected, 1]],
                mode="markers",
                name="selected",
                hoverinfo="skip",
                marker={"size": 16, "color": style.TRANSPARENT, "line": {"color": style.BLACK, "width": 2.5}},
            )
        )
    style.click_to_select(fig)
    return style.finish(
        fig,
        height,
        title,
        xaxis_title=f"{axis_prefix} 1",
        yaxis_title=f"{axis_prefix} 2" if E.shape[1] >= 2 else "",
        legend={
            "itemsizing": "constant",
            "orientation": "h",
            "y": -0.22,
            "font": {"size": style.SMALL_FONT_SIZE},
        },
    )


def tile(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """Images (N, h, w) on a grid with ``cols`` columns, separated by NaN gaps (drawn as background)."""
    n, h, w = images.shape
    rows = -(-n // cols)
    canvas = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        canvas[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[k]
    return canvas


def image_grid(
    images: np.ndarray,
    cols: int,
    captions: list[str] | None = None,
    title: str = "",
    zrange: tuple[float, float] | None = None,
    height: int | None = None,
) -> go.Figure:
    """One heatmap showing images (N, h, w) tiled in a grid, with optional captions under each image."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    lo, hi = zrange if zrange is not None else (float(np.nanmin(images)), float(np.nanmax(images)))
    fig = go.Figure(
        go.Heatmap(
            z=tile(images, cols),
            colorscale=style.INK,
            zmin=lo,
            zmax=hi,
            showscale=False,
            hovertemplate="value %{z:.2f}<extra></extra>",
        )
    )
    for k, text in enumerate(captions or []):
        r, c = divmod(k, cols)
        fig.add_annotation(
            x=c * (w + 1) + (w - 1) / 2,
            y=r * (h + 1) + h - 0.2,
            text=text,
            showarrow=False,
            yanchor="top",
            font={"size": style.SMALL_FONT_SIZE},
        )
    rows = -(-n // cols)
    cell = 80 if w <= 16 else 40  # pixels per image row of small images (8 x 8 digits)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed")
    style.equal_aspect(fig)  # square pixels
    return style.finish(
        fig,
        height or int(40 + rows * cell * (h / w) + 18 * bool(captions)),
        title,
        margin={"l": 5, "r": 5, "t": 35 if title else 5, "b": 18 if captions else 5},
        plot_bgcolor=style.GRID,
    )


def profiles(
    rows: np.ndarray, names: list[str], feature_names: list[str] | None = None, title: str = ""
) -> go.Figure:
    """Feature values of a few points as lines over the feature index (data that is not an image)."""
    rows = np.asarray(rows, dtype=np.float64)
    x = feature_names or [f"x{i + 1}" for i in range(rows.shape[1])]
    fig = go.Figure(
        [
            go.Scatter(
                x=x,
                y=r,
                mode="lines+markers",
                name=name,
                line={"color": style.line_colour(k)},
                marker={"color": style.line_colour(k)},
            )
            for k, (r, name) in enumerate(zip(rows, names, strict=True))
        ]
    )
    return style.finish(fig, 300, title, xaxis_title="feature", yaxis_title="value")


def neighbourhood_bars(scores: dict[str, Neighbourhood]) -> go.Figure:
    """Grouped bars: trustworthiness, continuity and k-NN label agreement of each embedding."""
    metrics = [
        ("trustworthiness", "trustworthiness"),
        ("continuity", "continuity"),
        ("label_agreement", "k-NN label agreement"),
    ]
    fig = go.Figure()
    for k, (name, s) in enumerate(scores.items()):
        values = [getattr(s, key) for key, _ in metrics]
        fig.add_trace(
            go.Bar(
                x=[label for _, label in metrics],
                y=[np.nan if v is None else v for v in values],
                name=name,
                text=["n/a" if v is None else f"{v:.3f}" for v in values],
                textposition="outside",
                marker_color=style.line_colour(k),
            )
        )
    k = next(iter(scores.values())).k if scores else 0
    return style.finish(
        fig,
        330,
        f"Neighbourhood preservation (k = {k} nearest neighbours)",
        barmode="group",
        yaxis={"range": [0, 1.1], "title": "score (1 = perfect)"},
    )


def variance_through_flow(profile: VarianceProfile, max_dims: int = 64) -> go.Figure:
    """Left: log10 variance of each eigen-dimension over time; right: measured and predicted PR."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.12,
        subplot_titles=("Variance per eigen-dimension (log10)", "Participation ratio"),
    )
    dims = min(max_dims, profile.variances.shape[1])
    labels = [f"{i + 1}{' (kept)' if profile.kept[i] else ''}" for i in range(dims)]
    # Constant features (e.g. always-blank pixels) have ~zero variance: floor them 6 decades below the largest
    # (the eigenvalue floor of basis.py), so they do not stretch the colour scale.
    variances = np.maximum(profile.variances[:, :dims], 1e-6 * profile.variances.max())
    fig.add_trace(
        go.Heatmap(
            z=np.log10(variances.T),
            x=profile.times,
            y=labels,
            colorscale=style.SEQUENTIAL,
            colorbar={"title": "log10 var", "x": 0.55, "len": 0.9},
            hovertemplate="t %{x:.2f}, dim %{y}: log10 var %{z:.2f}<extra></extra>",
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(
            x=profile.times,
            y=profile.pr,
            mode="lines+markers",
            name="measured PR",
            line={"color": style.MEASURED},
            marker={"color": style.MEASURED},
        ),
        1,
        2,
    )
    fig.add_trace(
        go.Scatter(
            x=profile.times,
            y=profile.predicted_pr,
            mode="lines",
            name="predicted PR",
            line={"dash": "dash", "color": style.PREDICTED},
        ),
        1,
        2,
    )
    fig.update_xaxes(title_text="t")
    fig.update_yaxes(title_text="eigen-dimension", autorange="reversed", row=1, col=1)
    return style.finish(fig, 420, legend={"x": 1.0, "y": 1.0, "xanchor": "right"})
