"""Plotly figure builders for the explorer: arrays in, ``go.Figure`` out, no Streamlit.

Animations carry float32 arrays (Plotly encodes numpy arrays as base64 typed arrays: about 6.8 bytes
per number with JSON escaping) and fixed axis ranges, so what moves is the data, never the axes.
Palettes are colour-blind safe: Okabe-Ito for classes, cividis for positions, a cyclic map for angles.
"""

from __future__ import annotations

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .metrics import participation_ratio
from .schedules import Schedule

# Okabe & Ito (2008), the standard colour-blind-safe qualitative palette (black moved last).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
             "#999999", "#882255"]
COLOR_MODES = ("label", "angle", "position")
# Cyclic, perceptually uniform (angle colouring) and sequential colour-blind-safe (position colouring).
CYCLIC_SCALE, SEQUENTIAL_SCALE = "Twilight", "Cividis"
BYTES_PER_NUMBER = 6.8  # float32 as base64 in Plotly's JSON, which also escapes "/" (measured)
_TEMPLATE = "plotly_white"
PER_DIM_LEGEND = 6  # up to this many dimensions get their own colour and legend entry
VARIANCE_AXIS_DECADES = 1e-8  # the variance axis spans at most 8 decades below the largest variance
_VARIANCE_TITLE = "variance per dimension<br><sup>solid measured, dotted predicted</sup>"
_CONTROLS_Y = -0.2  # play/pause and time slider sit below the x-axis titles (paper coordinates)


def _label_color(k: int) -> str:
    return OKABE_ITO[k % len(OKABE_ITO)]


def particle_colors(start: np.ndarray, labels: np.ndarray | None, mode: str) -> tuple[np.ndarray, str]:
    """Per-particle colour values and a colour-bar title, from the first frame of an animation.

    ``mode`` "label" returns the labels themselves (integers); "angle" the polar angle of the first
    two coordinates; "position" the first coordinate. Neighbours get similar colours, so one sees
    where each neighbourhood goes.
    """
    if mode == "label" and labels is not None:
        return np.asarray(labels, dtype=int), "label"
    if mode == "angle" and start.shape[1] >= 2:
        return np.degrees(np.arctan2(start[:, 1], start[:, 0])).astype(np.float32), "initial angle (deg)"
    if mode not in COLOR_MODES:
        raise ValueError(f"Colour mode must be one of {', '.join(COLOR_MODES)}; got {mode!r}.")
    return start[:, 0].astype(np.float32), "initial position (coordinate 1)"


def particle_rgb(colors: np.ndarray, color_title: str) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """The animation's particle colours as (N, 3) uint8 RGB, for renderers without Plotly (the GIF),
    and (text, colour) legend entries for class colours (empty for continuous colours)."""
    if color_title == "label":
        classes = np.unique(colors)
        table = np.array([pc.hex_to_rgb(_label_color(i)) for i in range(len(classes))], dtype=np.uint8)
        legend = [(f"label {c}", tuple(int(v) for v in table[i])) for i, c in enumerate(classes)]
        return table[np.searchsorted(classes, colors)], legend
    scale = CYCLIC_SCALE if "angle" in color_title else SEQUENTIAL_SCALE
    values = np.asarray(colors, dtype=np.float64)
    span = values.max() - values.min()
    # Plotly maps the data's own min..max onto the colour scale (cmin/cmax unset): do the same.
    unit = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    rgb = [pc.unlabel_rgb(c) for c in pc.sample_colorscale(scale, unit.tolist())]
    return np.rint(np.array(rgb)).astype(np.uint8), []


def fixed_ranges(states: np.ndarray, pad: float = 0.06) -> list[list[float]]:
    """One [lo, hi] per coordinate covering every frame, padded, so the axes never jump."""
    lo = states.min(axis=(0, 1)).astype(float)
    hi = states.max(axis=(0, 1)).astype(float)
    span = np.maximum(hi - lo, 1e-6)
    return [[float(a - pad * s), float(b + pad * s)] for a, b, s in zip(lo, hi, span, strict=True)]


def payload_particles(n_frames: int, n_coords: int, budget_bytes: float = 7e6) -> int:
    """How many particles an animation can carry within ``budget_bytes`` of frame data (the rest of
    the figure, trails included, stays under 3 MB, so the whole animation stays under 10 MB)."""
    return max(50, int(budget_bytes / (BYTES_PER_NUMBER * n_frames * max(1, n_coords))))


def _scatter(coords: np.ndarray, three_d: bool, **kwargs):
    if three_d:
        return go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], **kwargs)
    return go.Scatter(x=coords[:, 0], y=coords[:, 1], **kwargs)


def _particle_traces(coords: np.ndarray, colors: np.ndarray, color_title: str, three_d: bool,
                     marker_size: float) -> tuple[list, list[np.ndarray]]:
    """Traces for one frame of particles: one per class (legend) or one with a colour bar."""
    size = marker_size * (0.6 if three_d else 1.0)
    if color_title == "label":
        groups = [np.flatnonzero(colors == c) for c in np.unique(colors)]
        traces = [_scatter(coords[g], three_d, mode="markers", name=f"label {c}", showlegend=True,
                           marker={"size": size, "color": _label_color(i), "opacity": 0.8})
                  for i, (c, g) in enumerate(zip(np.unique(colors), groups, strict=True))]
        return traces, groups
    scale = CYCLIC_SCALE if "angle" in color_title else SEQUENTIAL_SCALE
    # The colour bar sits in the lower right, below the legend of the linked panels.
    marker = {"size": size, "color": colors, "colorscale": scale, "opacity": 0.85,
              "colorbar": {"title": {"text": color_title, "side": "right"}, "thickness": 12, "len": 0.45,
                           "x": 1.02, "xanchor": "left", "y": 0.0, "yanchor": "bottom"}}
    return [_scatter(coords, three_d, mode="markers", name="particles", showlegend=False, marker=marker)], \
        [np.arange(len(coords))]


def _trail_paths(states: np.ndarray) -> np.ndarray:
    """Whole paths of a few particles (K, m, d), one after the other with NaN gaps: (m * (K + 1), d)."""
    gap = np.full((1, states.shape[2]), np.nan)
    pieces = [np.vstack([states[:, i], gap]) for i in range(states.shape[1])]
    return np.vstack(pieces).astype(np.float32)


def flow_animation(times: np.ndarray, states: np.ndarray, colors: np.ndarray, color_title: str,
                   axis_titles: list[str], variances: np.ndarray | None = None,
                   predicted_variances: np.ndarray | None = None, kept: np.ndarray | None = None,
                   trail_index: np.ndarray | None = None,
                   title: str = "", frame_ms: int = 80, marker_size: float = 5.0,
                   height: int = 560) -> go.Figure:
    """The particle animation, optionally with linked per-dimension variance and PR panels.

    ``states`` (K, N, d) holds the d = 2 or 3 coordinates to draw at each of the K ``times``.
    ``variances`` (K, D) are measured per-dimension variances of all D coordinates (and
    ``predicted_variances`` the schedule's, ``kept`` its kept-dimension mask); when given, two panels
    share the animation's time cursor: variance per dimension (log scale) and participation ratio.
    ``trail_index`` picks particles to follow: their whole paths are drawn and a ring marks each one.
    """
    states = np.asarray(states, dtype=np.float32)
    times = np.asarray(times, dtype=np.float64)
    n_frames, _, d = states.shape
    if d not in (2, 3):
        raise ValueError(f"flow_animation draws 2 or 3 coordinates; got {d}.")
    three_d = d == 3
    linked = variances is not None
    if linked:
        fig = make_subplots(rows=1, cols=3, column_widths=[0.5, 0.27, 0.23], horizontal_spacing=0.08,
                            specs=[[{"type": "scene" if three_d else "xy"}, {"type": "xy"}, {"type": "xy"}]],
                            subplot_titles=("particles", _VARIANCE_TITLE, "participation ratio"))
    else:
        fig = go.Figure()
    cell = {"row": 1, "col": 1} if linked else {}

    first, groups = _particle_traces(states[0], colors, color_title, three_d, marker_size)
    trails = trail_index is not None and len(trail_index) > 0
    if trails:
        # Each followed particle: its whole path drawn once (static), and a ring marking where it is now.
        first.append(_scatter(states[0][trail_index], three_d, mode="markers", name="followed",
                              showlegend=False, marker={"size": marker_size * 2.2, "color": "rgba(0,0,0,0)",
                                      "line": {"color": "#000000", "width": 2}}))

    def particle_frame(k: int) -> list:
        # Frames carry coordinates only: Plotly merges them into the traces, whose markers and colours
        # stay as set once above (repeating them would double the payload).
        data = [_scatter(states[k][g], three_d) for g in groups]
        if trails:
            data.append(_scatter(states[k][trail_index], three_d))
        return data

    for trace in first:
        fig.add_trace(trace, **cell)
    moving = list(range(len(first)))
    if trails:
        fig.add_trace(_scatter(_trail_paths(states[:, trail_index]), three_d, mode="lines", name="paths",
                               showlegend=False, hoverinfo="skip", connectgaps=False,
                               line={"color": "rgba(40,40,40,0.55)", "width": 1.5}), **cell)
    spans = None
    if linked:
        cursors, spans = _add_linked_panels(fig, times, np.asarray(variances), predicted_variances, kept)
        moving += cursors

    frames = []
    for k in range(n_frames):
        data = particle_frame(k)
        if linked:
            data += _cursor_traces(spans, times[k])
        frames.append(go.Frame(data=data, traces=moving, name=str(k)))
    fig.frames = frames

    ranges = fixed_ranges(states)
    if three_d:
        scene = {f"{a}axis": {"range": r, "title": {"text": t}, "autorange": False}
                 for a, r, t in zip("xyz", ranges, axis_titles, strict=True)}
        scene["aspectmode"] = "cube"
        fig.update_layout(scene=scene)
    else:
        fig.update_xaxes(range=ranges[0], autorange=False, title_text=axis_titles[0], **cell)
        fig.update_yaxes(range=ranges[1], autorange=False, title_text=axis_titles[1], **cell)
    fig.update_layout(title={"text": title}, template=_TEMPLATE, height=height, margin={"t": 70, "b": 150},
                      legend={"itemsizing": "constant", "y": 1.0, "yanchor": "top"},
                      updatemenus=[play_pause_buttons(frame_ms)], sliders=[time_slider(times)])
    return fig


def _add_linked_panels(fig: go.Figure, times, variances, predicted,
                       kept: np.ndarray | None) -> tuple[list[int], list[tuple]]:
    """Static curves of the two linked panels plus two time cursors; returns their indices and spans.

    Up to ``PER_DIM_LEGEND`` dimensions get a colour and a legend entry each; beyond that, kept
    dimensions are blue and compressed ones grey, with one legend entry per group (hover names each).
    """
    n_dims = variances.shape[1]
    kept = np.ones(n_dims, bool) if kept is None else np.asarray(kept, bool)
    per_dim = n_dims <= PER_DIM_LEGEND
    for i in range(n_dims):
        group = "kept" if kept[i] else "compressed"
        if per_dim:
            color, legend, name = _label_color(i), True, f"dim {i + 1}"
        else:
            color = "#0072B2" if kept[i] else "#AAAAAA"
            legend = i == int(np.argmax(kept == kept[i]))  # first dimension of its group
            name = f"{group} dims ({int(np.sum(kept == kept[i]))})" if legend else f"dim {i + 1}"
        fig.add_trace(go.Scatter(x=times, y=variances[:, i], mode="lines", name=name, legendgroup=group,
                                 line={"color": color, "width": 1.5 if kept[i] else 1}, showlegend=legend,
                                 hovertext=f"dim {i + 1} ({group})", hoverinfo="text+x+y"), row=1, col=2)
        if predicted is not None:
            fig.add_trace(go.Scatter(x=times, y=predicted[:, i], mode="lines", showlegend=False,
                                     legendgroup=group, line={"color": color, "dash": "dot", "width": 1},
                                     hoverinfo="skip"), row=1, col=2)
    measured_pr = np.array([participation_ratio(v) for v in variances])
    fig.add_trace(go.Scatter(x=times, y=measured_pr, mode="lines", name="PR measured",
                             line={"color": "#0072B2", "width": 2}), row=1, col=3)
    top_pr = float(measured_pr.max())
    if predicted is not None:
        predicted_pr = np.array([participation_ratio(v) for v in predicted])
        top_pr = max(top_pr, float(predicted_pr.max()))
        fig.add_trace(go.Scatter(x=times, y=predicted_pr, mode="lines", name="PR predicted",
                                 line={"color": "#D55E00", "dash": "dot", "width": 2}), row=1, col=3)
    pr_top = min(n_dims + 0.5, max(2.5, 1.15 * top_pr))
    fig.update_yaxes(range=[0, pr_top], title_text="PR", row=1, col=3)
    fig.update_xaxes(title_text="t", row=1, col=2)
    fig.update_xaxes(title_text="t", row=1, col=3)
    hi = float(np.nanmax(variances))
    lo = float(np.nanmin(variances[variances > 0])) if np.any(variances > 0) else hi * 1e-6
    if predicted is not None:
        lo, hi = min(lo, float(predicted.min())), max(hi, float(predicted.max()))
    # Constant features have (numerically) zero variance; do not let them stretch the axis to 1e-30.
    lo = max(lo, hi * VARIANCE_AXIS_DECADES)
    v_range = [np.log10(lo) - 0.2, np.log10(hi) + 0.2]
    fig.update_yaxes(type="log", range=v_range, title_text="variance", row=1, col=2)
    spans = [(10 ** v_range[0], 10 ** v_range[1]), (0.0, pr_top)]
    start = len(fig.data)
    for trace, col in zip(_cursor_traces(spans, times[0], style=True), (2, 3), strict=True):
        fig.add_trace(trace, row=1, col=col)
    return [start, start + 1], spans


def _cursor_traces(spans: list[tuple], t: float, style: bool = False) -> list[go.Scatter]:
    """Vertical lines marking the current time in the variance and PR panels (styled once, moved by
    frames)."""
    (v_lo, v_hi), (p_lo, p_hi) = spans
    look = {"mode": "lines", "showlegend": False, "line": {"color": "#555555", "width": 1.5, "dash": "dash"},
            "hoverinfo": "skip"} if style else {}
    return [go.Scatter(x=[t, t], y=[v_lo, v_hi], **look), go.Scatter(x=[t, t], y=[p_lo, p_hi], **look)]


def play_options(frame_ms: int = 80) -> dict:
    """Plotly.animate options for playing every frame ``frame_ms`` apart (also for auto-play in HTML)."""
    return {"frame": {"duration": frame_ms, "redraw": True}, "transition": {"duration": 0},
            "fromcurrent": True, "mode": "immediate"}


def play_pause_buttons(frame_ms: int) -> dict:
    """Play / Pause buttons below the plot (frames named "0", "1", ...)."""
    play = play_options(frame_ms)
    pause = {"frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}, "mode": "immediate"}
    return {"type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "y": _CONTROLS_Y,
            "xanchor": "left", "yanchor": "top", "pad": {"t": 0, "r": 10},
            "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                        {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]}]}


def time_slider(times: np.ndarray) -> dict:
    """A slider over the frames, labelled by their times, beside the Play / Pause buttons."""
    steps = [{"label": f"{t:.2f}", "method": "animate",
              "args": [[str(k)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate",
                                  "transition": {"duration": 0}}]} for k, t in enumerate(times)]
    return {"active": 0, "steps": steps, "x": 0.2, "len": 0.8, "y": _CONTROLS_Y + 0.02, "yanchor": "top",
            "pad": {"t": 0}, "currentvalue": {"prefix": "t = ", "visible": True, "xanchor": "right"},
            "transition": {"duration": 0}}


# --------------------------------------------------------------------------- static figures
def data_preview(coords: np.ndarray, labels: np.ndarray | None, axis_titles: list[str],
                 title: str = "") -> go.Figure:
    """Scatter of 2 or 3 coordinates, coloured by label when there are labels."""
    coords = np.asarray(coords, dtype=np.float32)
    three_d = coords.shape[1] == 3
    if labels is not None:
        colors, color_title = np.asarray(labels, dtype=int), "label"
    else:
        colors, color_title = coords[:, 0], "coordinate 1"
    traces, _ = _particle_traces(coords, colors, color_title, three_d, 5.0)
    fig = go.Figure(traces)
    if three_d:
        fig.update_layout(scene={"xaxis_title": axis_titles[0], "yaxis_title": axis_titles[1],
                                 "zaxis_title": axis_titles[2], "aspectmode": "data"})
    else:
        fig.update_xaxes(title_text=axis_titles[0])
        fig.update_yaxes(title_text=axis_titles[1], scaleanchor="x", scaleratio=1)
    fig.update_layout(title={"text": title}, template=_TEMPLATE, height=460, margin={"t": 50})
    return fig


def eigen_spectrum(eigenvalues: np.ndarray, kept: int | None = None) -> go.Figure:
    """Bar chart of the eigenvalues with the participation ratio in the title.

    A log axis only when they span more than a factor of 30: bars on a log axis have no zero, so nearly
    equal eigenvalues would look very different.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    dims = np.arange(1, lam.size + 1)
    colors = ["#0072B2" if kept is None or i < kept else "#BBBBBB" for i in range(lam.size)]
    fig = go.Figure(go.Bar(x=dims, y=lam, marker_color=colors, name="eigenvalue"))
    log = lam.min() > 0 and lam.max() / lam.min() > 30
    fig.update_yaxes(type="log" if log else "linear", rangemode="normal" if log else "tozero",
                     title_text="eigenvalue (variance along the axis)")
    fig.update_xaxes(title_text="principal direction", dtick=1 if lam.size <= 20 else None)
    pr = participation_ratio(lam)
    fig.update_layout(title={"text": f"Eigenvalues (PR {pr:.2f} of D = {lam.size})"},
                      template=_TEMPLATE, height=340, margin={"t": 50})
    return fig


def schedule_curves(schedule: Schedule, n_times: int = 200) -> go.Figure:
    """Per-dimension noise c_i(t), scale A_i(t), marginal variance v_i(t), and predicted PR(t)."""
    t = np.linspace(0.0, schedule.t_max, n_times)
    panels = [("noise c(t)", schedule.noise(t), "log"), ("scale A(t)", schedule.scale(t), "log"),
              ("particle variance v(t) = A² (λ + c)", schedule.marginal_variance(t), "log")]
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[0] for p in panels] + ["predicted PR(t)"],
                        horizontal_spacing=0.1, vertical_spacing=0.16)
    dim = schedule.dim
    shown = min(dim, 10)
    for (_name, values, axis), (row, col) in zip(panels, [(1, 1), (1, 2), (2, 1)], strict=True):
        for i in range(dim):
            kept = bool(schedule.kept[i])
            fig.add_trace(go.Scatter(x=t, y=values[:, i], mode="lines",
                                     name=f"dim {i + 1} ({'kept' if kept else 'compressed'})",
                                     legendgroup=f"d{i}", showlegend=(row, col) == (1, 1) and i < shown,
                                     line={"color": _label_color(i) if i < shown else "#BBBBBB",
                                           "dash": "solid" if kept else "dot"}), row=row, col=col)
        # One label per decade when the curves span decades: plotly's 2..9 minor labels collide there.
        spans_decades = values.max() / values.min() >= 10
        fig.update_yaxes(type=axis, dtick=1 if spans_decades else None, row=row, col=col)
    fig.add_trace(go.Scatter(x=t, y=schedule.predicted_pr(t), mode="lines", name="PR",
                             line={"color": "#0072B2", "width": 2}, showlegend=False), row=2, col=2)
    fig.update_yaxes(range=[0, dim + 0.5], row=2, col=2)
    fig.update_xaxes(title_text="t")
    fig.update_layout(template=_TEMPLATE, height=620, margin={"t": 60},
                      legend={"title": {"text": "solid kept, dotted compressed"}})
    return fig


def loss_curve(history: list[tuple[int, float]], start_loss: float | None = None) -> go.Figure:
    """Training loss against step (log scale), raw and smoothed (exponential moving average).

    ``start_loss``: the loss of the untrained network, which is the Gaussian (PCA) denoiser and scores
    exactly D whatever the data (docs/MATH.md 5); drawn as a dashed line, so the curve shows what training
    gained beyond the linear model."""
    steps = np.array([h[0] for h in history], dtype=float)
    losses = np.array([h[1] for h in history], dtype=float)
    smooth = np.empty_like(losses)
    alpha = 2.0 / (1.0 + max(5, len(losses) // 20))
    for i, value in enumerate(losses):
        smooth[i] = value if i == 0 else (1 - alpha) * smooth[i - 1] + alpha * value
    fig = go.Figure([go.Scatter(x=steps, y=losses, mode="lines", line={"color": "#56B4E9", "width": 1},
                                name="loss"),
                     go.Scatter(x=steps, y=smooth, mode="lines", line={"color": "#0072B2", "width": 2.5},
                                name="smoothed")])
    if start_loss is not None:
        fig.add_trace(go.Scatter(x=[steps[0], steps[-1]], y=[start_loss, start_loss], mode="lines",
                                 line={"color": "#999999", "width": 1.5, "dash": "dash"},
                                 name="untrained = Gaussian denoiser"))
    fig.update_yaxes(type="log", title_text="loss")
    fig.update_xaxes(title_text="step")
    fig.update_layout(template=_TEMPLATE, height=300, margin={"t": 30}, title={"text": "Training loss"})
    return fig


def predicted_vs_measured(times: np.ndarray, measured: np.ndarray, predicted: np.ndarray) -> go.Figure:
    """Measured against predicted per-dimension variance over all frames: on the diagonal when exact."""
    m, p = np.asarray(measured, float).ravel(), np.asarray(predicted, float).ravel()
    t = np.repeat(np.asarray(times, float), measured.shape[1])
    lo, hi = float(min(m.min(), p.min())), float(max(m.max(), p.max()))
    fig = go.Figure([
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": "#999999", "dash": "dash"},
                   name="equal"),
        go.Scatter(x=p, y=m, mode="markers", name="dimension x frame",
                   marker={"color": t, "colorscale": SEQUENTIAL_SCALE, "size": 5,
                           "colorbar": {"title": {"text": "t"}, "thickness": 12}}),
    ])
    fig.update_xaxes(type="log", title_text="predicted variance A²(λ + c)")
    fig.update_yaxes(type="log", title_text="measured variance of the particles")
    fig.update_layout(template=_TEMPLATE, height=360, margin={"t": 40},
                      title={"text": "Predicted vs measured variance"}, showlegend=False)
    return fig
