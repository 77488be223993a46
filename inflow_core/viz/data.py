"""The Data page's figures: a 2-D / 3-D preview of the points, the eigenvalue spectrum, and the canvas
students draw their own data on."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..metrics import participation_ratio
from . import style
from .flow import particle_traces


def data_preview(
    coords: np.ndarray, labels: np.ndarray | None, axis_titles: list[str], title: str = ""
) -> go.Figure:
    """Scatter of 2 or 3 coordinates, coloured by label when there are labels, at equal aspect."""
    coords = np.asarray(coords, dtype=np.float32)
    three_d = coords.shape[1] == 3
    if labels is not None:
        colors, color_title = np.asarray(labels), "label"  # class numbers or class names
    else:
        colors, color_title = coords[:, 0], "coordinate 1"
    traces, _ = particle_traces(coords, colors, color_title, three_d, 5.0)
    fig = go.Figure(traces)
    if three_d:
        fig.update_layout(
            scene={
                "xaxis_title": axis_titles[0],
                "yaxis_title": axis_titles[1],
                "zaxis_title": axis_titles[2],
                "aspectmode": "data",
            }
        )
    else:
        fig.update_xaxes(title_text=axis_titles[0])
        fig.update_yaxes(title_text=axis_titles[1])
        style.equal_aspect(fig)
    return style.finish(fig, 460, title, margin={"t": 50})


def eigen_spectrum(eigenvalues: np.ndarray, kept: int | None = None) -> go.Figure:
    """Bar chart of the eigenvalues (kept ones coloured) with the participation ratio under the title.

    A log axis only when they span more than a factor of 30: bars on a log axis have no zero, so nearly
    equal eigenvalues would look very different.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    dims = np.arange(1, lam.size + 1)
    colors = [style.BLUE if kept is None or i < kept else style.GREY_LIGHT for i in range(lam.size)]
    fig = go.Figure(go.Bar(x=dims, y=lam, marker_color=colors, name="eigenvalue"))
    log = lam.min() > 0 and lam.max() / lam.min() > 30
    fig.update_yaxes(
        type="log" if log else "linear",
        rangemode="normal" if log else "tozero",
        title_text="eigenvalue (variance along the axis)",
    )
    fig.update_xaxes(title_text="principal direction", dtick=1 if lam.size <= 20 else None)
    pr = f"participation ratio {participation_ratio(lam):.2f} of D = {lam.size}"
    return style.finish(fig, 340, "Eigenvalues", margin={"t": 65}, subtitle=pr)


def drawing_canvas(
    points: np.ndarray,
    classes: np.ndarray,
    extent: float,
    grid_step: float | None,
    dragmode: str,
    title: str = "",
    size: int = 560,
) -> go.Figure:
    """The canvas of the Draw source: drawn points coloured by class on the square [-extent, extent]^2.

    ``classes`` are class numbers 1, 2, ... (class k gets palette colour k - 1; a legend names them).
    ``dragmode`` "lasso" makes a drag draw a lasso (Plotly reports its outline even where it encloses no
    points). For clicks, give ``grid_step`` and ``dragmode`` "pan" (the axes are fixed, so nothing moves):
    Plotly selects only points, so trace 0 is then an invisible grid with that spacing over the whole
    square, and a click anywhere selects the nearest grid point. The grid is WebGL (thousands of SVG
    markers take seconds to draw on a slow machine); the drawn points are skipped by hover, so clicks
    always land on the grid. Equal axes: a circle drawn is a circle.
    """
    traces = []
    if grid_step is not None:
        ticks = np.linspace(-extent, extent, int(round(2 * extent / grid_step)) + 1)
        gx, gy = np.meshgrid(ticks, ticks)
        hidden = {"marker": {"opacity": 0}}
        traces.append(
            go.Scattergl(
                x=gx.ravel(),
                y=gy.ravel(),
                mode="markers",
                name="canvas",
                showlegend=False,
                hoverinfo="none",
                marker={"size": 8, "color": style.GREY, "opacity": 0},
                selected=hidden,
                unselected=hidden,
            )
        )
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    classes = np.asarray(classes, dtype=int).reshape(-1)
    for k in np.unique(classes):
        mine = points[classes == k]
        shown = {"marker": {"opacity": 0.85}}
        traces.append(
            go.Scatter(
                x=mine[:, 0],
                y=mine[:, 1],
                mode="markers",
                name=f"class {k}",
                hoverinfo="skip",
                selected=shown,
                unselected=shown,
                marker={"size": 6, "color": style.class_colour(int(k) - 1), "opacity": 0.85},
            )
        )
    fig = go.Figure(traces)
    axis = {
        "range": [-extent, extent],
        "fixedrange": True,
        "constrain": "domain",
        "dtick": 1,
        "zeroline": True,
        "zerolinecolor": style.GREY_LIGHT,
    }
    fig.update_xaxes(title_text="x1", **axis)
    fig.update_yaxes(title_text="x2", scaleanchor="x", scaleratio=1, **axis)
    fig.update_layout(
        width=size,
        dragmode=dragmode,
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
    )
    return style.finish(fig, size + 40, title, margin={"l": 10, "r": 10, "t": 40, "b": 10})
