"""The figure layer: Plotly figures (and a Pillow GIF) built from arrays, for the explorer's pages.

Builders take arrays plus the labels and titles their caller passes, and return a ``go.Figure`` (or GIF
bytes); they compute no math beyond what a drawing needs, hold no page text, and never import Streamlit.
One module per page (``data``, ``schedule``, ``training``, ``flow``, ``uncertainty``, ``calibration``,
``reduction``), ``animation`` for the Play / Pause and slider controls, ``gif`` for the GIF export, and
``style`` for the single colour-blind-safe palette and the layout defaults every builder uses.
Needs the optional extra ``figures`` (plotly, pillow).
"""

from . import (
    animation,
    calibration,
    data,
    flow,
    gif,
    inference,
    reduction,
    schedule,
    style,
    training,
    uncertainty,
)

__all__ = [
    "animation",
    "calibration",
    "data",
    "flow",
    "gif",
    "inference",
    "reduction",
    "schedule",
    "style",
    "training",
    "uncertainty",
]
