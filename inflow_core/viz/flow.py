"""The Flow page's figures: the particle animation with its linked variance and PR panels, particle
colours (shared with the GIF), and predicted against measured variance.

Animations carry float32 arrays (Plotly encodes numpy arrays as base64 typed arrays) and fixed axis
ranges, so what moves is the data, never the axes.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..metrics import participation_ratio
from . import style
from .animation import controls

COLOR_MODES = ("label", "angle", "position")
PER_DIM_LEGEND = 6  # up to this many dimensions get their own colour and legend entry
VARIANCE_AXIS_DECADES = 1e-8  # the variance axis spans at most 8 decades below the largest variance
_PANEL_TITLES = (  # short lines: the panels stay readable on a 1024-px screen beside the sidebar
    "particles",
    "variance<br><sup>— measured, ··· predicted</sup>",
    "participation<br>ratio",
)


def particle_colors(start: np.ndarray, labels: np.ndarray | None, mode: str) -> tuple[np.ndarray, str]:
    """Per-particle colour values and a colour-bar title, from the first frame of an animation.

    ``mode`` "label" returns the labels themselves (class numbers or names); "angle" the polar angle
    of the first two coordinates; "position" the first coordinate. Neighbours get similar colours, so one sees
    where each neighbourhood goes.
    """
    if mode == "label" and labels is not None:
        return np.asarray(labels), "label"
    if mode == "angle" and start.shape[1] >= 2:
        return np.degrees(np.arctan2(start[:, 1], start[:, 0])).astype(np.float32), "initial angle (deg)"
    if mode not in COLOR_MODES:
        raise ValueError(f"Colour mode must be one of {', '.join(COLOR_MODES)}; got {mode!r}.")
    return start[:, 0].astype(np.float32), "initial position (coordinate 1)"


def _scale_for(color_title: str) -> str:
    return style.CYCLIC if "angle" in color_title else style.SEQUENTIAL


def particle_rgb(colors: np.ndarray, color_title: str) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """The animation's particle colours as (N, 3) uint8 RGB, for renderers without Plotly (the GIF),
    and (text, colour) legend entries for class colours (empty for continuous colours)."""
    if color_title == "label":
        classes = np.unique(colors)
        table = np.array([style.rgb(style.class_colour(i)) for i in range(len(classes))], dtype=np.uint8)
        legend = [
            (style.label_text(c, html=False), tuple(int(v) for v in table[i])) for i, c in enumerate(classes)
        ]
        return table[np.searchsorted(classes, colors)], legend
    values = np.asarray(colors, dtype=np.float64)
    span = values.max() - values.min()
    # Plotly maps the data's own min..max onto the colour scale (cmin/cmax unset): do the same.
    unit = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    rgb = [pc.unlabel_rgb(c) for c in pc.sample_colorscale(_scale_for(color_title), unit.tolist())]
    return np.rint(np.array(rgb)).astype(np.uint8), []


def _scatter(coords: np.ndarray, three_d: bool, **kwargs) -> go.Scatter | go.Scatter3d:
    if three_d:
        return go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], **kwargs)
    return go.Scatter(x=coords[:, 0], y=coords[:, 1], **kwargs)


def particle_traces(
    coords: np.ndarray, colors: np.ndarray, color_title: str, three_d: bool, marker_size: float
) -> tuple[list, list[np.ndarray]]:
    """Traces for one frame of particles, one per class (legend) or one with a colour bar, and the
    particle indices each trace holds (so frames can move the same particles)."""
    size = marker_size * (0.6 if three_d else 1.0)
    if color_title == "label":
        classes = np.unique(colors)
        groups = [np.flatnonzero(colors == c) for c in classes]
        traces = [
            _scatter(
                coords[g],
                three_d,
                mode="markers",
                name=style.label_text(c),
                showlegend=True,
                marker={"size": size, "color": style.class_colour(i), "opacity": 0.8},
            )
            for i, (c, g) in enumerate(zip(classes, groups, strict=True))
        ]
        return traces, groups
    # The colour bar sits in the lower right, below the legend of the linked panels.
    marker = {
        "size": size,
        "color": colors,
        "colorscale": _scale_for(color_title),
        "opacity": 0.85,
        "colorbar": {
            "title": {"text": color_title, "side": "right"},
            "thickness": 12,
            "len": 0.45,
            "x": 1.02,
            "xanchor": "left",
            "y": 0.0,
            "yanchor": "bottom",
        },
    }
    return [_scatter(coords, three_d, mode="markers", name="particles", showlegend=False, marker=marker)], [
        np.arange(len(coords))
    ]


def _followed_rings(coords: np.ndarray, three_d: bool, marker_size: float) -> go.Scatter | go.Scatter3d:
    """Hollow rings marking where each followed particle is now."""
    return _scatter(
        coords,
        three_d,
        mode="markers",
        name="followed",
        showlegend=False,
        marker={
            "size": marker_size * 2.2,
            "color": style.TRANSPARENT,
            "line": {"color": style.BLACK, "width": 2},
        },
    )


def _trail_paths(paths: np.ndarray, three_d: bool) -> go.Scatter | go.Scatter3d:
    """The whole paths (K, m, d) of the followed particles as one static line trace, NaN between paths."""
    gap = np.full((1, paths.shape[2]), np.nan)
    joined = np.vstack([np.vstack([paths[:, i], gap]) for i in range(paths.shape[1])]).astype(np.float32)
    return _scatter(
        joined,
        three_d,
        mode="lines",
        name="paths",
        showlegend=False,
        hoverinfo="skip",
        connectgaps=False,
        line={"color": style.translucent(style.BLACK, 0.55), "width": 1.5},
    )


def flow_animation(
    times: np.ndarray,
    states: np.ndarray,
    colors: np.ndarray,
    color_title: str,
    axis_titles: list[str],
    variances: np.ndarray | None = None,
    predicted_variances: np.ndarray | None = None,
    kept: np.ndarray | None = None,
    trail_index: np.ndarray | None = None,
    title: str = "",
    frame_ms: int = 80,
    marker_size: float = 5.0,
    height: int = 560,
    subtitle: str = "",
) -> go.Figure:
    """The particle animation, optionally with linked per-dimension variance and PR panels.

    ``states`` (K, N, d) holds the d = 2 or 3 coordinates to draw at each of the K ``times``.
    ``variances`` (K, D) are measured per-dimension variances of all D coordinates (and
    ``predicted_variances`` the schedule's, ``kept`` its kept-dimension mask); when given, two panels
    share the animation's time cursor: variance per dimension (log scale) and participation ratio.
    ``trail_index`` picks particles to follow: their whole paths are drawn and a ring marks each one.
    ``subtitle``: a smaller line under the title (the Flow page's schedule).
    """
    states, times = np.asarray(states, dtype=np.float32), np.asarray(times, dtype=np.float64)
    if states.shape[2] not in (2, 3):
        raise ValueError(f"flow_animation draws 2 or 3 coordinates; got {states.shape[2]}.")
    three_d, linked = states.shape[2] == 3, variances is not None
    followed = trail_index if trail_index is not None and len(trail_index) > 0 else None
    fig = _canvas(three_d, linked)
    cell = {"row": 1, "col": 1} if linked else {}
    moving, groups = particle_traces(states[0], colors, color_title, three_d, marker_size)
    if followed is not None:
        moving.append(_followed_rings(states[0][followed], three_d, marker_size))
    for trace in moving:
        fig.add_trace(trace, **cell)
    moving_index = list(range(len(moving)))
    if followed is not None:
        fig.add_trace(_trail_paths(states[:, followed], three_d), **cell)
    spans = None
    if linked:
        cursors, spans = _add_linked_panels(fig, times, np.asarray(variances), predicted_variances, kept)
        moving_index += cursors
    fig.frames = _frames(times, states, groups, followed, spans, moving_index)
    _fix_particle_axes(fig, style.fixed_ranges(states), axis_titles, three_d, cell)
    return style.finish(
        fig,
        height,
        title,
        # room for the two-line panel titles under the title (and its subtitle)
        margin={"t": 115 if subtitle else 95, "b": 150},
        subtitle=subtitle,
        legend={"itemsizing": "constant", "y": 1.0, "yanchor": "top"},
        **controls(times, frame_ms),
    )


def _canvas(three_d: bool, linked: bool) -> go.Figure:
    """An empty figure: the particles alone, or beside the variance and PR panels."""
    if not linked:
        return go.Figure()
    return make_subplots(
        rows=1,
        cols=3,
        column_widths=[0.5, 0.27, 0.23],
        horizontal_spacing=0.08,
        specs=[[{"type": "scene" if three_d else "xy"}, {"type": "xy"}, {"type": "xy"}]],
        subplot_titles=_PANEL_TITLES,
    )


def _frames(
    times: np.ndarray,
    states: np.ndarray,
    groups: list[np.ndarray],
    followed: np.ndarray | None,
    spans: list[tuple] | None,
    moving: list[int],
) -> list[go.Frame]:
    """One frame per time. Frames carry coordinates only: Plotly merges them into the ``moving``
    traces, whose markers and colours stay as set once (repeating them would double the payload).
    They are built unvalidated: assigning them to ``fig.frames`` validates every frame anyway (Plotly
    copies each one), so validating here too only doubled the figure's build time."""
    three_d = states.shape[2] == 3
    frames = []
    for k in range(len(times)):
        data = [_packed_scatter(states[k][g], three_d) for g in groups]
        if followed is not None:
            data.append(_packed_scatter(states[k][followed], three_d))
        if spans is not None:
            data += _cursor_traces(spans, times[k])
        frames.append(go.Frame(data=data, traces=moving, name=str(k), _validate=False))
    return frames


def _packed_scatter(coords: np.ndarray, three_d: bool) -> go.Scatter | go.Scatter3d:
    """One frame's coordinates as Plotly's base64 typed arrays (the JSON is the same as from arrays): Plotly
    validates and copies every frame, and arrays in this form cost it nothing to check, copy or encode
    (digits' 60-frame animation: built and encoded in 0.11 s, was 0.21-0.24 s)."""
    packed = [
        {"dtype": "f4", "bdata": base64.b64encode(np.ascontiguousarray(c, "<f4").tobytes()).decode()}
        for c in coords.T
    ]
    names = "xyz" if three_d else "xy"
    return (go.Scatter3d if three_d else go.Scatter)(**dict(zip(names, packed, strict=True)), _validate=False)


def _fix_particle_axes(
    fig: go.Figure, ranges: list[list[float]], axis_titles: list[str], three_d: bool, cell: dict
) -> None:
    """The particles' axes keep the ranges of all frames, with equal units on every axis (a circle stays a
    circle on a projector's wide screen; a cube scene in 3-D)."""
    if not three_d:
        style.lock_axes(fig, ranges, axis_titles, **cell)
        style.equal_aspect(fig, **cell)
        return
    scene = {
        f"{a}axis": {"range": r, "title": {"text": t}, "autorange": False}
        for a, r, t in zip("xyz", ranges, axis_titles, strict=True)
    }
    fig.update_layout(scene={**scene, "aspectmode": "cube"})


def _add_linked_panels(
    fig: go.Figure,
    times: np.ndarray,
    variances: np.ndarray,
    predicted: np.ndarray | None,
    kept: np.ndarray | None,
) -> tuple[list[int], list[tuple]]:
    """Static curves of the two linked panels plus two time cursors; returns the cursors' trace indices
    and the panels' vertical spans (which the cursors cover)."""
    kept = np.ones(variances.shape[1], bool) if kept is None else np.asarray(kept, bool)
    for trace in _variance_traces(times, variances, predicted, kept):
        fig.add_trace(trace, row=1, col=2)
    pr_traces, pr_top = _pr_traces(times, variances, predicted)
    for trace in pr_traces:
        fig.add_trace(trace, row=1, col=3)
    v_range = _variance_range(variances, predicted)
    # No y titles: the panel titles name them, and beside a 1024-px screen's narrow panels a y title sat
    # over the neighbouring panel's points and curves.
    fig.update_yaxes(type="log", range=v_range, row=1, col=2)
    fig.update_yaxes(range=[0, pr_top], row=1, col=3)
    fig.update_xaxes(title_text="t", row=1, col=2)
    fig.update_xaxes(title_text="t", row=1, col=3)
    spans = [(10 ** v_range[0], 10 ** v_range[1]), (0.0, pr_top)]
    start = len(fig.data)
    for trace, col in zip(_cursor_traces(spans, times[0], styled=True), (2, 3), strict=True):
        fig.add_trace(trace, row=1, col=col)
    return [start, start + 1], spans


def _variance_traces(
    times: np.ndarray, variances: np.ndarray, predicted: np.ndarray | None, kept: np.ndarray
) -> list[go.Scatter]:
    """Measured (solid) and predicted (dotted) variance of each dimension over time.

    Up to ``PER_DIM_LEGEND`` dimensions get a colour, a legend entry and a trace each. Beyond that, kept
    dimensions are blue and compressed ones grey, each group one measured and one predicted trace whose
    curves are separated by gaps (hover names each dimension): a browser pays for every trace at every
    re-draw, and 64 dimensions as 128 traces took a bare page 132 ms to draw the animation, against
    89-111 ms as groups.
    """
    if variances.shape[1] <= PER_DIM_LEGEND:
        groups = [
            ([i], style.class_colour(i), f"dim {i + 1}", "kept" if kept[i] else "compressed")
            for i in range(variances.shape[1])
        ]
    else:
        groups = []
        for keep, group in ((True, "kept"), (False, "compressed")):
            dims = list(np.flatnonzero(kept == keep))
            if dims:
                groups.append(
                    (dims, style.BLUE if keep else style.GREY_LIGHT, f"{group} dims ({len(dims)})", group)
                )
    traces = []
    for dims, color, name, group in groups:
        x = _gapped(np.tile(np.asarray(times, float), (len(dims), 1)))
        traces.append(
            go.Scatter(
                x=x,
                y=_gapped(variances[:, dims].T),
                mode="lines",
                name=name,
                legendgroup=group,
                line={"color": color, "width": 1.5 if group == "kept" else 1},
                connectgaps=False,
                customdata=np.repeat(np.asarray(dims) + 1, len(times) + 1),
                hovertemplate=f"dim %{{customdata}} ({group})<br>t %{{x:.3g}}, variance %{{y:.3g}}"
                "<extra></extra>",
            )
        )
        if predicted is not None:
            traces.append(
                go.Scatter(
                    x=x,
                    y=_gapped(predicted[:, dims].T),
                    mode="lines",
                    showlegend=False,
                    legendgroup=group,
                    line={"color": color, "dash": "dot", "width": 1},
                    connectgaps=False,
                    hoverinfo="skip",
                )
            )
    return traces


def _gapped(curves: np.ndarray) -> np.ndarray:
    """Curves (k, m) as one line, with a NaN gap after each curve."""
    return np.hstack([curves, np.full((len(curves), 1), np.nan)]).ravel()


def _pr_traces(
    times: np.ndarray, variances: np.ndarray, predicted: np.ndarray | None
) -> tuple[list[go.Scatter], float]:
    """Measured (and predicted) participation ratio over time, and the top of the PR axis."""
    measured = np.array([participation_ratio(v) for v in variances])
    traces = [
        go.Scatter(
            x=times, y=measured, mode="lines", name="PR measured", line={"color": style.MEASURED, "width": 2}
        )
    ]
    top = float(measured.max())
    if predicted is not None:
        expected = np.array([participation_ratio(v) for v in predicted])
        top = max(top, float(expected.max()))
        traces.append(
            go.Scatter(
                x=times,
                y=expected,
                mode="lines",
                name="PR predicted",
                line={"color": style.PREDICTED, "dash": "dot", "width": 2},
            )
        )
    return traces, min(variances.shape[1] + 0.5, max(2.5, 1.15 * top))


def _variance_range(variances: np.ndarray, predicted: np.ndarray | None) -> list[float]:
    """log10 range of the variance axis over all frames, measured and predicted."""
    hi = float(np.nanmax(variances))
    lo = float(np.nanmin(variances[variances > 0])) if np.any(variances > 0) else hi * 1e-6
    if predicted is not None:
        lo, hi = min(lo, float(predicted.min())), max(hi, float(predicted.max()))
    # Constant features have (numerically) zero variance; do not let them stretch the axis to 1e-30.
    lo = max(lo, hi * VARIANCE_AXIS_DECADES)
    return [np.log10(lo) - 0.2, np.log10(hi) + 0.2]


def _cursor_traces(spans: list[tuple], t: float, styled: bool = False) -> list[go.Scatter]:
    """Vertical lines marking the current time in the variance and PR panels (styled once, moved by
    frames; the frames' copies are left unvalidated, see _frames)."""
    (v_lo, v_hi), (p_lo, p_hi) = spans
    look = (
        {
            "mode": "lines",
            "showlegend": False,
            "hoverinfo": "skip",
            "line": {"color": style.GREY_DARK, "width": 1.5, "dash": "dash"},
        }
        if styled
        else {}
    )
    return [
        go.Scatter(x=[t, t], y=[v_lo, v_hi], _validate=styled, **look),
        go.Scatter(x=[t, t], y=[p_lo, p_hi], _validate=styled, **look),
    ]


def predicted_vs_measured(
    times: np.ndarray, measured: np.ndarray, predicted: np.ndarray, title: str = ""
) -> go.Figure:
    """Measured against predicted per-dimension variance over all frames: on the diagonal when exact."""
    m, p = np.asarray(measured, float).ravel(), np.asarray(predicted, float).ravel()
    t = np.repeat(np.asarray(times, float), measured.shape[1])
    lo, hi = float(min(m.min(), p.min())), float(max(m.max(), p.max()))
    fig = go.Figure(
        [
            go.Scatter(
                x=[lo, hi], y=[lo, hi], mode="lines", line={"color": style.GREY, "dash": "dash"}, name="equal"
            ),
            go.Scatter(
                x=p,
                y=m,
                mode="markers",
                name="dimension x frame",
                marker={
                    "color": t,
                    "colorscale": style.SEQUENTIAL,
                    "size": 5,
                    "colorbar": {"title": {"text": "t"}, "thickness": 12},
                },
            ),
        ]
    )
    fig.update_xaxes(type="log", title_text="predicted variance A²(λ + c)")
    fig.update_yaxes(type="log", title_text="measured variance of the particles")
    return style.finish(fig, 360, title, margin={"t": 40}, showlegend=False)
