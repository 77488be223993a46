"""Controls and budgets shared by the Plotly animations: Play / Pause, the time slider, payload size.

Frames are named "0", "1", ...; the controls sit below the x-axis titles so they never cover the data.
"""

from __future__ import annotations

import numpy as np

BYTES_PER_NUMBER = 6.8  # float32 as base64 in Plotly's JSON, which also escapes "/" (measured)
CONTROLS_Y = -0.2  # play/pause and time slider sit below the x-axis titles (paper coordinates)


def payload_particles(n_frames: int, n_coords: int, budget_bytes: float = 7e6) -> int:
    """How many particles an animation can carry within ``budget_bytes`` of frame data (the rest of
    the figure, trails included, stays under 3 MB, so the whole animation stays under 10 MB)."""
    return max(50, int(budget_bytes / (BYTES_PER_NUMBER * n_frames * max(1, n_coords))))


def play_options(frame_ms: int = 80) -> dict:
    """Plotly.animate options for playing every frame ``frame_ms`` apart (also for auto-play in HTML)."""
    return {
        "frame": {"duration": frame_ms, "redraw": True},
        "transition": {"duration": 0},
        "fromcurrent": True,
        "mode": "immediate",
    }


def play_pause_buttons(frame_ms: int) -> dict:
    """Play / Pause buttons below the plot."""
    pause = {"frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}, "mode": "immediate"}
    return {
        "type": "buttons",
        "direction": "left",
        "showactive": False,
        "x": 0.0,
        "y": CONTROLS_Y,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 0, "r": 10},
        "buttons": [
            {"label": "▶ Play", "method": "animate", "args": [None, play_options(frame_ms)]},
            {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
        ],
    }


def time_slider(times: np.ndarray) -> dict:
    """A slider over the frames, labelled by their times, beside the Play / Pause buttons."""
    jump = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    steps = [
        {"label": f"{t:.2f}", "method": "animate", "args": [[str(k)], jump]} for k, t in enumerate(times)
    ]
    return {
        "active": 0,
        "steps": steps,
        "x": 0.2,
        "len": 0.8,
        "y": CONTROLS_Y + 0.02,
        "yanchor": "top",
        "pad": {"t": 0},
        "currentvalue": {"prefix": "t = ", "visible": True, "xanchor": "right"},
        "transition": {"duration": 0},
    }


def controls(times: np.ndarray, frame_ms: int) -> dict:
    """Layout keywords adding Play / Pause and the time slider to an animated figure."""
    return {"updatemenus": [play_pause_buttons(frame_ms)], "sliders": [time_slider(times)]}
