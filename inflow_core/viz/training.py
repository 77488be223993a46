"""The Train page's figure: the training loss curve."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import style


def loss_curve(
    history: list[tuple[int, float]], start_loss: float | None = None, title: str = ""
) -> go.Figure:
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
    fig = go.Figure(
        [
            go.Scatter(
                x=steps, y=losses, mode="lines", line={"color": style.SKY_BLUE, "width": 1}, name="loss"
            ),
            go.Scatter(
                x=steps, y=smooth, mode="lines", line={"color": style.BLUE, "width": 2.5}, name="smoothed"
            ),
        ]
    )
    if start_loss is not None:
        fig.add_trace(
            go.Scatter(
                x=[steps[0], steps[-1]],
                y=[start_loss, start_loss],
                mode="lines",
                line={"color": style.GREY, "width": 1.5, "dash": "dash"},
                name="untrained = Gaussian denoiser",
            )
        )
    fig.update_yaxes(type="log", title_text="loss")
    fig.update_xaxes(title_text="step")
    # The legend under the plot: beside it, in a 1024-px screen's column, it left the curve ~60 px wide.
    return style.finish(fig, 340, title, margin={"t": 30}, legend=style.FOOT_LEGEND)
