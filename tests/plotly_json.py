"""Reading Plotly figure JSON in tests (the pages' and builders' figures)."""

import base64

import numpy as np


def plotly_array(value) -> np.ndarray:
    """A figure array from its JSON: a plain list, or Plotly's base64 typed array ``{dtype, bdata}`` (little
    endian, with ``shape`` "rows,cols" for a 2-D one)."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]).newbyteorder("<"))
        shape = value.get("shape")
        return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat
    return np.asarray(value)
