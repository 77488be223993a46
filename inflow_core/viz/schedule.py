"""The Schedule page's figure: per-dimension noise, scale and particle variance, and predicted PR."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..schedules import Schedule
from . import style

MAX_COLOURED = 10  # dimensions beyond this are drawn grey and left out of the legend


def schedule_curves(schedule: Schedule, n_times: int = 200, height: int = 620) -> go.Figure:
    """Per-dimension noise c_i(t), scale A_i(t), marginal variance v_i(t), and predicted PR(t)."""
    t = np.linspace(0.0, schedule.t_max, n_times)
    panels = [
        ("noise c(t)", schedule.noise(t)),
        ("scale A(t)", schedule.scale(t)),
        ("particle variance v(t) = A² (λ + c)", schedule.marginal_variance(t)),
    ]
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[p[0] for p in panels] + ["predicted PR(t)"],
        horizontal_spacing=0.1,
        vertical_spacing=0.16,
        shared_xaxes=True,  # one time axis per column: tick labels only under the bottom row, none to overlap
    )
    for (_name, values), (row, col) in zip(panels, [(1, 1), (1, 2), (2, 1)], strict=True):
        for trace in _dimension_traces(t, values, schedule.kept, legend=(row, col) == (1, 1)):
            fig.add_trace(trace, row=row, col=col)
        # One label per decade when the curves span decades: plotly's 2..9 minor labels collide there.
        spans_decades = values.max() / values.min() >= 10
        fig.update_yaxes(type="log", dtick=1 if spans_decades else None, row=row, col=col)
    fig.add_trace(
        go.Scatter(
            x=t,
            y=schedule.predicted_pr(t),
            mode="lines",
            name="PR",
            line={"color": style.PREDICTED, "width": 2},
            showlegend=False,
        ),
        row=2,
        col=2,
    )
    fig.update_yaxes(range=[0, schedule.dim + 0.5], row=2, col=2)
    fig.update_xaxes(title_text="time t", row=2)  # the top row shares these times: no title to crowd it
    return style.finish(
        fig, height, margin={"t": 60}, legend={"title": {"text": "solid kept, dotted compressed"}}
    )


def _dimension_traces(t: np.ndarray, values: np.ndarray, kept: np.ndarray, legend: bool) -> list[go.Scatter]:
    """One curve per dimension (T, D): solid when kept, dotted when compressed."""
    traces = []
    for i in range(values.shape[1]):
        coloured = i < MAX_COLOURED
        traces.append(
            go.Scatter(
                x=t,
                y=values[:, i],
                mode="lines",
                legendgroup=f"d{i}",
                name=f"dim {i + 1} ({'kept' if kept[i] else 'compressed'})",
                showlegend=legend and coloured,
                line={
                    "color": style.class_colour(i) if coloured else style.GREY_LIGHT,
                    "dash": "solid" if kept[i] else "dot",
                },
            )
        )
    return traces
