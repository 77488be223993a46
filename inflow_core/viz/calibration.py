"""The Calibration page's figures: reliability (measured vs nominal coverage), coverage errors per
radius, and the latent Mahalanobis circles carried into data space.

``tables`` map a flow's name to its coverage table (``inflow_core.calibration.coverage``); each flow
keeps one colour across the figures.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import style

_MEASURED = {  # coverage column: (marker, line dash, what it measures, what it is compared with)
    "after_round_trip": ("circle", "solid", "round trip", "initial"),
    "after_generation": ("circle-open", "dot", "generation", "initial"),
    "data_inside": ("square", "dashdot", "encoded data", "nominal"),
}
# How the legend titles draw each column's marker and dash.
_MARKER_GLYPH = {"circle": "●", "circle-open": "○", "square": "■"}
_DASH_GLYPH = {"solid": "—", "dot": "···", "dashdot": "–·–"}


def _measured_columns(table: pd.DataFrame) -> list[str]:
    """The coverage columns this table holds values for."""
    return [c for c in _MEASURED if c in table and not table[c].isna().all()]


def _legend(tables: dict[str, pd.DataFrame], glyph: Callable[[str], str]) -> dict:
    """A short legend at the figure's foot: one entry per flow (its colour; a click shows or hides all its
    curves), and a title that keys the shapes of the measured columns (three flows with three columns
    each made nine entries that crowded out the plot on a projector)."""
    shown = [c for c in _MEASURED if any(c in _measured_columns(t) for t in tables.values())]
    key = "\u2003".join(f"{glyph(c)} {_MEASURED[c][2]}" for c in shown)  # em spaces: SVG collapses runs
    return style.FOOT_LEGEND | {"title": {"text": key, "side": "top"}}


def reliability_figure(tables: dict[str, pd.DataFrame], title: str = "", height: int = 440) -> go.Figure:
    """Coverage after the round trip (filled circles), after generation (open circles) and of encoded data
    (squares, when measured) against nominal, with 1-SE bars; one colour per flow."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="perfect calibration",
            line={"color": style.GREY, "dash": "dot"},
        )
    )
    for k, (name, table) in enumerate(tables.items()):
        colour = style.line_colour(k)
        for i, column in enumerate(_measured_columns(table)):
            symbol, _, measured, _ = _MEASURED[column]
            fig.add_trace(
                go.Scatter(
                    x=table["nominal"],
                    y=table[column],
                    mode="markers+lines",
                    name=name,  # the hover's side box names the flow, the text what was measured
                    legendgroup=f"flow {k}",
                    showlegend=i == 0,
                    marker={"symbol": symbol, "size": 9, "color": colour},
                    line={"color": colour, "width": 1},
                    error_y={"type": "data", "array": table[f"{column}_se"], "visible": True},
                    customdata=table["radius"],
                    hovertemplate=f"{measured}, r = %{{customdata}}: nominal %{{x:.2f}} %, "
                    "measured %{y:.2f} %",
                )
            )
    return style.finish(
        fig,
        height,
        title,
        xaxis_title="nominal coverage, %; bars: 1 SE",
        yaxis_title="measured coverage, %",
        legend=_legend(tables, lambda c: _MARKER_GLYPH[_MEASURED[c][0]]),
    )


def residual_figure(tables: dict[str, pd.DataFrame], title: str = "", height: int = 440) -> go.Figure:
    """Coverage change per radius: moved counts minus initial (the map's folds, free of test-point
    sampling) and encoded data minus nominal (does the flow send data to the latent Gaussian?); one
    colour per flow, one dash per column."""
    fig = go.Figure()
    for k, (name, table) in enumerate(tables.items()):
        for i, column in enumerate(_measured_columns(table)):
            _, dash, measured, reference = _MEASURED[column]
            fig.add_trace(
                go.Scatter(
                    x=table["radius"],
                    y=table[column] - table[reference],
                    mode="lines+markers",
                    name=name,
                    legendgroup=f"flow {k}",
                    showlegend=i == 0,
                    line={"color": style.line_colour(k), "dash": dash},
                    hovertemplate=f"{measured} − {reference}, r = %{{x}}: %{{y:.2f}} points",
                )
            )
    fig.add_hline(y=0, line={"color": style.GREY, "width": 1})
    return style.finish(
        fig,
        height,
        title,
        xaxis_title="Mahalanobis radius r",
        yaxis_title="difference, points",
        legend=_legend(tables, lambda c: _DASH_GLYPH[_MEASURED[c][1]]),
    )


def boundaries_figure(
    boundaries: list[np.ndarray],
    radii,
    test_points: np.ndarray,
    axis_titles: list[str],
    title: str = "",
    height: int = 520,
) -> go.Figure:
    """Moved 2-D Mahalanobis boundaries (closed polygons) over a subsample of generated test points, at
    equal aspect so undistorted circles look round."""
    fig = go.Figure(
        go.Scatter(
            x=test_points[:, 0],
            y=test_points[:, 1],
            mode="markers",
            name="test points",
            marker={"size": 2, "color": style.GREY_LIGHT},
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
                line={"width": 2, "color": style.line_colour(k)},
            )
        )
    style.equal_aspect(fig)
    return style.finish(fig, height, title, xaxis_title=axis_titles[0], yaxis_title=axis_titles[1])
