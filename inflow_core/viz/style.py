"""The figure layer's one look: a colour-blind-safe palette, colour scales, layout defaults and axis helpers.

Every colour a builder draws comes from here, so the app speaks one visual language and a reader with a
colour-vision deficiency can tell every class, series and role apart.

Classes: Okabe & Ito (2008), the standard colour-blind-safe qualitative palette, black moved last
(``PALETTE``, 8 colours). More than 8 classes (the ten digits) continue with Paul Tol's "muted" scheme
(also designed for colour-blind readers), reordered so the first added colours differ most from
Okabe-Ito; past 17 classes the colours repeat. Continuous values use cividis (sequential) and twilight
(cyclic, for angles); images are drawn as ink (white to near-black).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Okabe-Ito: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, black.
ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK = PALETTE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)
PALETTE_NAMES = (
    "orange",
    "sky blue",
    "bluish green",
    "yellow",
    "blue",
    "vermillion",
    "reddish purple",
    "black",
)
# Paul Tol's muted: wine, indigo, teal, olive, rose, sand, cyan, green, purple.
TOL_MUTED = (
    "#882255",
    "#332288",
    "#44AA99",
    "#999933",
    "#CC6677",
    "#DDCC77",
    "#88CCEE",
    "#117733",
    "#AA4499",
)
CLASS_COLOURS = PALETTE + TOL_MUTED
# Thin lines on white: the palette without yellow, which is too light to read as a line.
LINE_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY_BLUE, BLACK)

# Neutrals for context (data behind the subject, reference lines, grid, text) and see-through fills.
WHITE, GRID, GREY_LIGHT, GREY, GREY_DARK, TEXT = NEUTRALS = (
    "#FFFFFF",
    "#E8E8E8",
    "#BBBBBB",
    "#999999",
    "#5A5A5A",
    "#1E1E1E",
)
TRANSPARENT = "rgba(0,0,0,0)"

# Roles shared by several figures: what the data measured vs what the theory predicts.
MEASURED, PREDICTED = BLUE, VERMILLION

SEQUENTIAL, CYCLIC = "Cividis", "Twilight"
INK = [[0.0, WHITE], [1.0, "#111111"]]  # images: high values dark, as ink on paper

FONT_SIZE, SMALL_FONT_SIZE = 12, 11  # text, and crowded legends or captions
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
# A horizontal legend at the figure's foot (container coordinates), not at a fraction of the plot's height
# below it: where the plot is short (a projector) the latter put the legend over the axis title, and beside
# the plot a legend leaves a narrow column's curve only a sliver.
FOOT_LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}
TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
# Traces without their own colour fall back on the same palette, and text is the palette's dark grey.
# Exponents as 1e-13, not SI prefixes ("100f", "1p") that read as units to a student.
TEMPLATE.layout.update(
    colorway=list(CLASS_COLOURS),
    font={"size": FONT_SIZE, "color": TEXT},
    colorscale={"sequential": SEQUENTIAL},
    xaxis={"exponentformat": "e"},
    yaxis={"exponentformat": "e"},
)


def one_line(value, max_chars: int) -> str:
    """Untrusted text as one line (newlines and runs of spaces folded), capped at ``max_chars``."""
    text = " ".join(str(value).split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def plotly_text(value, max_chars: int) -> str:
    """Untrusted text for a Plotly title, legend or hover, which understand a few HTML tags (links among
    them): one line, capped, the tag characters escaped."""
    return one_line(value, max_chars).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_text(label, html: bool = True) -> str:
    """A class's name in a legend or hover: "label 3" for a class number, else the name itself. A CSV's
    class names are untrusted: capped, and for Plotly (``html``) escaped so none becomes a link; the GIF
    draws plain text."""
    if isinstance(label, int | np.integer):
        return f"label {label}"
    return plotly_text(label, 40) if html else one_line(label, 40)


def class_colour(k: int) -> str:
    """The colour of class (or series) ``k``: Okabe-Ito first, then Tol's muted, then repeating."""
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def line_colour(k: int) -> str:
    """The colour of line series ``k`` (the palette without yellow), repeating past its length."""
    return LINE_COLOURS[k % len(LINE_COLOURS)]


def rgb(colour: str) -> tuple[int, int, int]:
    """A ``#RRGGBB`` colour as an (r, g, b) tuple of 0-255 ints (for Pillow)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def translucent(colour: str, alpha: float) -> str:
    """A ``#RRGGBB`` colour as ``rgba(...)`` with opacity ``alpha`` (fills, paths behind the markers)."""
    r, g, b = rgb(colour)
    return f"rgba({r},{g},{b},{alpha:g})"


def finish(
    fig: go.Figure,
    height: int,
    title: str = "",
    margin: dict | None = None,
    subtitle: str = "",
    **layout,
) -> go.Figure:
    """Apply the shared template, height, title (and a smaller subtitle line under it, if given) and margins
    (``MARGIN`` unless given) to ``fig``. The title sits on the left, clear of the toolbar that Streamlit
    shows at the top right."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": title, "x": 0.0, "xanchor": "left"}
        | ({"subtitle": {"text": subtitle}} if subtitle else {}),
        margin=MARGIN if margin is None else margin,
        **layout,
    )
    return fig


def plotly_config(filename: str) -> dict:
    """``st.plotly_chart`` / ``fig.show`` config: no Plotly logo, the camera button saves a 2x PNG."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}


def fixed_ranges(states: np.ndarray, pad: float = 0.06) -> list[list[float]]:
    """One [lo, hi] per coordinate covering every frame of ``states`` (..., d), padded, so axes never jump."""
    flat = np.asarray(states).reshape(-1, np.shape(states)[-1])
    lo, hi = flat.min(axis=0).astype(float), flat.max(axis=0).astype(float)
    span = np.maximum(hi - lo, 1e-6)
    return [[float(a - pad * s), float(b + pad * s)] for a, b, s in zip(lo, hi, span, strict=True)]


def lock_axes(fig: go.Figure, ranges: list[list[float]], titles: list[str], **cell) -> None:
    """Fix a 2-D subplot's x and y ranges (``cell``: row= and col= for subplots), with axis titles."""
    fig.update_xaxes(range=ranges[0], autorange=False, title_text=titles[0], **cell)
    fig.update_yaxes(range=ranges[1], autorange=False, title_text=titles[1], **cell)


def click_to_select(fig: go.Figure) -> None:
    """A chart whose points are picked by clicking, with lasso and box in the toolbar for several.

    Streamlit's selectable charts ignore a click while the drag tool is lasso or box (clickmode "event"),
    so the drag tool starts as pan on fixed axes: a drag moves nothing, a click selects the point.
    """
    fig.update_layout(dragmode="pan", clickmode="event+select")
    fig.update_xaxes(fixedrange=True)
    fig.update_yaxes(fixedrange=True)


def equal_aspect(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    """One unit on x is as long as one on y in this 2-D (sub)plot, so a circle is drawn as a circle."""
    if row is None:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
        return
    yaxis = fig.get_subplot(row, col).yaxis
    yaxis.update(scaleanchor=yaxis.anchor, scaleratio=1)
