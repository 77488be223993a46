"""Built-in datasets (generated in code or shipped with scikit-learn) and validated file loading.

Toy sets follow the paper: each coordinate z-scored. Circles and moons draw their angles iid
(scikit-learn's generators space them evenly, which makes two samples look closer than two iid
draws of the distribution and biases any two-sample comparison).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np

from .validation import Parameter, check_positive_int, shown


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI and the CLI need to know about a built-in dataset."""

    name: str
    title: str
    dim: int
    default_n: int
    default_schedule: str
    dims_to_keep: int
    description: str
    max_n: int = 20_000
    default_noise: float | None = None  # None: the dataset has no noise parameter (noise is ignored)


REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "circles",
            "Two circles",
            2,
            2000,
            "isotropic",
            1,
            "Two noisy concentric circles (radius ratio 0.5): a shape a linear map cannot untangle.",
            default_noise=0.08,
        ),
        DatasetInfo(
            "moons",
            "Two moons",
            2,
            2000,
            "isotropic",
            1,
            "Two interleaved half-moons: the classic test for nonlinear structure.",
            default_noise=0.08,
        ),
        DatasetInfo(
            "sine",
            "Sine wave",
            2,
            2000,
            "reducing",
            1,
            "A noisy sine curve, y = sin(4 pi x)/4: essentially one-dimensional data in 2-D.",
            default_noise=0.15,
        ),
        DatasetInfo(
            "swiss_roll",
            "Swiss roll",
            3,
            2000,
            "reducing",
            2,
            "A rolled-up 2-D sheet in 3-D: the textbook manifold for dimension reduction.",
            default_noise=1.25,
        ),
        DatasetInfo(
            "s_curve",
            "S-curve",
            3,
            2000,
            "reducing",
            2,
            "An S-shaped 2-D sheet in 3-D, the paper's 3-D to 2-D example.",
            default_noise=0.2,
        ),
        DatasetInfo(
            "gaussian",
            "Correlated Gaussian",
            2,
            2000,
            "isotropic",
            1,
            "A correlated Gaussian of any dimension: here every flow is known in closed form.",
        ),
        DatasetInfo(
            "digits",
            "Handwritten digits 8x8",
            64,
            1797,
            "reducing",
            10,
            "1,797 scikit-learn 8x8 images of digits 0-9 (64 pixels, values 0-16), with labels.",
            max_n=1797,
        ),
    )
}

# Caps on what one upload may ask of the server.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 512
MIN_ROWS, MIN_COLUMNS = 10, 2

# The allowed range of each parameter of ``load`` (one table for the library, the app's widgets and links).
# n's maximum is the dataset's ``max_n``; None for n or noise means the dataset's default.
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter(
            "n", int, MIN_ROWS, None, None, "The number of points to draw, at most the dataset's max_n."
        ),
        Parameter(
            "seed", int, 0, 2**31 - 1, 0, "The random seed: the same seed always gives the same points."
        ),
        Parameter(
            "noise",
            float,
            0.0,
            5.0,
            None,
            "The standard deviation of the jitter added to the shape before standardising.",
        ),
    )
}


def info(name: str) -> DatasetInfo:
    """The registry entry of a built-in dataset, or ValueError naming the choices."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"Unknown dataset {shown(name)}; choose one of {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def load(
    name: str, n: int | None = None, seed: int = 0, dim: int | None = None, noise: float | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (X, labels): X a float64 (n, D) array, labels an int array or None.

    ``dim`` applies to "gaussian" only; ``noise`` overrides the dataset's default noise level.
    The same (name, n, seed, dim, noise) always gives the same arrays.
    """
    meta = info(name)
    n = PARAMETERS["n"].check(n, maximum=meta.max_n, example=meta.default_n)
    n = meta.default_n if n is None else n
    seed = PARAMETERS["seed"].check(seed)
    noise = PARAMETERS["noise"].check(noise, example=meta.default_noise)
    rng = np.random.default_rng(seed)
    if dim is not None and name != "gaussian":
        raise ValueError(f"dim only applies to the gaussian dataset; {name} has D = {meta.dim}.")
    if name == "digits":
        return _digits(n, rng)
    if name == "gaussian":
        return _gaussian(n, rng, dim if dim is not None else meta.dim), None
    generator = {
        "circles": _circles,
        "moons": _moons,
        "sine": _sine,
        "swiss_roll": _swiss_roll,
        "s_curve": _s_curve,
    }[name]
    X, labels = generator(n, rng, meta.default_noise if noise is None else noise)
    return _zscore(X), labels


def _zscore(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _split(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2


def _circles(n, rng, noise):
    n_out, n_in = _split(n)
    angles = rng.uniform(0, 2 * np.pi, n)
    radius = np.r_[np.ones(n_out), 0.5 * np.ones(n_in)]
    X = radius[:, None] * np.c_[np.cos(angles), np.sin(angles)] + noise * rng.standard_normal((n, 2))
    labels = np.r_[np.zeros(n_out, int), np.ones(n_in, int)]
    return X, labels


def _moons(n, rng, noise):
    n_out, n_in = _split(n)
    a = rng.uniform(0, np.pi, n)
    outer = np.c_[np.cos(a[:n_out]), np.sin(a[:n_out])]
    inner = np.c_[1 - np.cos(a[n_out:]), 0.5 - np.sin(a[n_out:])]
    X = np.r_[outer, inner] + noise * rng.standard_normal((n, 2))
    return X, np.r_[np.zeros(n_out, int), np.ones(n_in, int)]


def _sine(n, rng, noise):
    x = rng.uniform(-1, 1, n)
    y = np.sin(4 * np.pi * x) / 4 + noise * rng.standard_normal(n)
    return np.c_[x, y], None


def _swiss_roll(n, rng, noise):
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    height = 21 * rng.uniform(size=n)
    X = np.c_[t * np.cos(t), height, t * np.sin(t)] + noise * rng.standard_normal((n, 3))
    return X, None


def _s_curve(n, rng, noise):
    t = 3 * np.pi * (rng.uniform(size=n) - 0.5)
    height = 2 * rng.uniform(size=n)
    X = np.c_[np.sin(t), height, np.sign(t) * (np.cos(t) - 1)] + noise * rng.standard_normal((n, 3))
    return X, None


def gaussian_covariance(dim: int) -> np.ndarray:
    """The fixed covariance of the "gaussian" dataset: variances spread over two decades, rotated."""
    dim = check_positive_int(dim, "dim", minimum=1, maximum=1024)
    variances = np.logspace(0, -2, dim) if dim > 1 else np.ones(1)
    rotation, _ = np.linalg.qr(np.random.default_rng(12345).standard_normal((dim, dim)))
    return (rotation * variances) @ rotation.T


def _gaussian(n, rng, dim):
    cov = gaussian_covariance(dim)
    return rng.standard_normal((n, dim)) @ np.linalg.cholesky(cov).T


def _digits(n, rng):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, labels = digits.data.astype(np.float64), digits.target.astype(int)
    if n < len(X):
        keep = np.sort(rng.choice(len(X), n, replace=False))
        X, labels = X[keep], labels[keep]
    return X, labels


# --------------------------------------------------------------------------- user files
# Column names from a file are untrusted text: whitespace runs become one space and long names are cut.
MAX_NAME_CHARS = 64
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DECIMAL_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
_SEPARATORS = {"\t": "tabs", ";": "semicolons", ",": "commas", r"\s+": "spaces"}


@dataclass
class Table:
    """A validated user table: numeric features X (N, D), optional class names from the label column (a
    string per row, "missing" for an empty cell), column names."""

    X: np.ndarray
    labels: np.ndarray | None
    columns: list[str]
    label_column: str | None = None


def load_table(
    data: bytes,
    filename: str,
    label_column: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
) -> Table:
    """Parse an uploaded CSV or NPY file and validate it; raise ValueError saying what to fix.

    CSV: separators (comma, semicolon, tab, spaces) and a decimal comma are detected, and a first row
    of numbers is data (columns then named x1..xD), not a header. NPY files are parsed without
    unpickling and refused unless they hold a 2-D array of real numbers. ``label_column`` (CSV only)
    names a column used for colouring, not as a feature; it may hold text. The table must also be
    fittable (``check_fittable``), so a table accepted here works on every page.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"The file content must be bytes; got {type(data).__name__}.")
    if not isinstance(filename, str):
        raise ValueError(f"The file name must be text; got {type(filename).__name__}.")
    if label_column is not None and not isinstance(label_column, str):
        raise ValueError(f"The label column must be a column name (text); got {shown(label_column)}.")
    data = bytes(data)
    size = len(data)
    if size > max_bytes:
        raise ValueError(
            f"The file is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. Subsample it first."
        )
    if size == 0:
        raise ValueError("The file is empty.")
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "npy":
        table = _read_npy(data, max_rows, max_columns)
    elif suffix in ("csv", "txt"):
        table = _read_csv(data, label_column, max_rows, max_columns)
    else:
        raise ValueError(f"Unsupported file type {shown(filename)}: upload a .csv or a .npy file.")
    rows, cols = table.X.shape
    if rows < MIN_ROWS or cols < MIN_COLUMNS:
        hint = (
            " Separate the values with commas, semicolons, tabs or spaces (a decimal comma works with "
            "semicolons, tabs or spaces)."
            if cols == 1 and suffix != "npy"
            else ""
        )
        raise ValueError(
            f"The table needs at least {MIN_ROWS} rows and {MIN_COLUMNS} numeric columns; "
            f"got {rows} rows and {cols} columns.{hint}"
        )
    bad = ~np.isfinite(table.X)
    if bad.any():
        rows_bad = np.flatnonzero(bad.any(axis=1))
        raise ValueError(
            f"{len(rows_bad)} row(s) contain missing, NaN or infinite values (first: row "
            f"{rows_bad[0] + 1}). Remove or fill them and upload again."
        )
    check_fittable(table.X)
    return table


def check_fittable(X: np.ndarray) -> None:
    """Raise ValueError with the true reason when data cannot be flowed (identical rows, values too large
    or too small for floating point): the same eigenbasis fit the app uses must succeed."""
    from .basis import EigenBasis

    EigenBasis.fit(X, standardize=True)


_NOT_NPY = "This is not a valid .npy file; save it with numpy.save(...) as a numeric array."


def _read_npy(data: bytes, max_rows: int, max_columns: int) -> Table:
    """Read the header ourselves and check dtype, shape and size before touching the array bytes."""
    if not data.startswith(b"\x93NUMPY"):
        raise ValueError(_NOT_NPY)
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[version]
        shape, fortran, dtype = read_header(buf)
    except Exception:
        raise ValueError(_NOT_NPY) from None
    if dtype.hasobject:
        raise ValueError(
            "The .npy file holds Python objects (pickled data), which are never loaded; "
            "save a plain numeric array."
        )
    if dtype.names is not None or dtype.kind == "V":
        raise ValueError(
            "The .npy file holds a structured array (named fields); save a plain 2-D array of "
            "numbers, e.g. numpy.column_stack of the fields."
        )
    if dtype.kind == "c":
        raise ValueError(
            "The .npy file holds complex numbers; save the real and imaginary parts as separate "
            "columns (numpy.column_stack((z.real, z.imag)))."
        )
    if dtype.kind == "b":
        raise ValueError("The .npy file holds True/False values; save numbers instead (array.astype(float)).")
    if dtype.kind not in "iuf":
        raise ValueError(
            f"The .npy file must hold numbers; it holds {shown(str(dtype))}. Save a numeric array."
        )
    if len(shape) != 2:
        raise ValueError(f"The .npy file must hold a 2-D array (rows x features); got shape {shown(shape)}.")
    rows, cols = shape
    _check_size(rows, cols, max_rows, max_columns)
    start = buf.tell()
    if len(data) - start != rows * cols * dtype.itemsize:
        raise ValueError(
            f"The .npy file is truncated or corrupted: its header promises {rows} x {cols} "
            "values that the file does not hold. Save it again with numpy.save."
        )
    arr = np.frombuffer(data, dtype=dtype, count=rows * cols, offset=start)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    with np.errstate(over="ignore"):  # long doubles beyond float64 become inf, refused by load_table
        arr = arr.astype(np.float64)
    return Table(arr, None, [f"x{i + 1}" for i in range(cols)])


def _check_size(rows: int, cols: int, max_rows: int, max_columns: int) -> None:
    if rows > max_rows:
        raise ValueError(f"The table has {rows} rows; the limit is {max_rows}. Subsample it first.")
    if cols > max_columns:
        raise ValueError(f"The table has {cols} columns; the limit is {max_columns}.")


def _read_csv(data: bytes, label_column: str | None, max_rows: int, max_columns: int) -> Table:
    import pandas as pd

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text; upload a CSV file (comma-separated numbers).") from None
    lines = [line for line in text[:65536].splitlines()[:40] if line.strip()][:20]
    if not lines:
        raise ValueError("The CSV has no data rows or no columns.")
    sep, decimal = _dialect(lines)
    first = _fields(lines[0], sep)
    if len(first) > max_columns + 1:
        raise ValueError(f"The table has {len(first)} columns; the limit is {max_columns}.")
    second = _fields(lines[1], sep) if len(lines) > 1 else []
    number = _DECIMAL_COMMA_NUMBER if decimal == "," else _NUMBER
    is_number = lambda field: number.fullmatch(field) is not None  # noqa: E731
    # The first row is data when it is all numbers, or has numbers in the same columns as the next row
    # (a text label column); otherwise it is the header.
    pattern = [is_number(field) for field in first]
    has_header = not all(pattern) and not (any(pattern) and pattern == [is_number(f) for f in second])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            decimal=decimal,
            header=0 if has_header else None,
            nrows=max_rows + 1,
            engine="c",
        )
    except Exception as err:
        reason = shown(" ".join(str(err).split()), 160)
        raise ValueError(
            f"Could not parse the file as a table ({type(err).__name__}: {reason}); check that "
            "every row has the same number of values."
        ) from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise ValueError("The CSV has no data rows or no columns.")
    _check_size(len(frame), frame.shape[1], max_rows, max_columns + 1)
    if not has_header:
        frame.columns = [f"x{i + 1}" for i in range(frame.shape[1])]
    frame.columns = [str(c) for c in frame.columns]
    labels = None
    if label_column:
        if label_column not in frame.columns:
            raise ValueError(
                f"Label column {shown(label_column)} is not in the file; columns are "
                f"{', '.join(_name(c) for c in frame.columns[:20])}."
            )
        codes, names = pd.factorize(frame.pop(label_column), sort=True)
        # The classes by name ("missing" for an empty cell), so pages show "A", not "label 0".
        labels = np.array([_name(v) for v in names] + ["missing"])[codes]
    _check_size(len(frame), frame.shape[1], max_rows, max_columns)
    columns, problems = [], {"text": [], "bool": [], "huge": []}
    for name in frame.columns:
        values, problem = _numeric_column(frame[name])
        if problem:
            problems[problem].append(_name(name))
        columns.append(values)
    if problems["text"]:
        raise ValueError(
            f"Column(s) {', '.join(problems['text'][:5])} are not numeric. Remove them, or name "
            "one as the label column if it holds classes."
        )
    if problems["bool"]:
        raise ValueError(
            f"Column(s) {', '.join(problems['bool'][:5])} hold True/False values, not numbers; "
            "write them as 1/0, or name one as the label column if it holds classes."
        )
    if problems["huge"]:
        raise ValueError(
            f"Column(s) {', '.join(problems['huge'][:5])} hold numbers beyond floating-point "
            "range (about 1.8e308); rescale them."
        )
    X = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
    return Table(X, labels, [_name(c) for c in frame.columns], _name(label_column) if label_column else None)


def _dialect(lines: list[str]) -> tuple[str, str]:
    """The separator (tab, semicolon, comma, else runs of spaces) and the decimal mark of sample lines."""
    sep = next(
        (
            s
            for s in ("\t", ";", ",")
            if len({line.count(s) for line in lines} - {0}) == 1 and all(s in line for line in lines)
        ),
        None,
    )
    if sep is None:
        counts = {len(line.split()) for line in lines}
        sep = r"\s+" if len(counts) == 1 and counts != {1} else ","
    comma_numbers = sep != "," and any(
        _DECIMAL_COMMA_NUMBER.fullmatch(field) for line in lines for field in _fields(line, sep)
    )
    return sep, "," if comma_numbers else "."


def _fields(line: str, sep: str) -> list[str]:
    parts = line.split() if sep == r"\s+" else line.split(sep)
    return [part.strip().strip('"').strip() for part in parts]


def _name(value) -> str:
    """An untrusted column name as one short line of plain text."""
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 3] + "..."


def _numeric_column(column) -> tuple[np.ndarray | None, str | None]:
    """A parsed column as float64, or (None, problem) with problem "text", "bool" or "huge"."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return None, "bool"
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan), None
    # Object columns: text, True/False mixed with gaps, or integers too big for int64 (Python ints).
    values = np.empty(len(column))
    for i, value in enumerate(column):
        if isinstance(value, bool):
            return None, "bool"
        if isinstance(value, int | float):
            try:
                values[i] = float(value)
            except OverflowError:
                return None, "huge"
        elif value is None:
            values[i] = np.nan
        else:
            return None, "text"
    return values, None


# --------------------------------------------------------------------------- drawn data
# Geometry for data a student draws (the Data page's "Draw" source): points inside a drawn shape, and
# uniform samples ("spray") inside it. Pure numpy; the app turns lasso strokes into points with these.
MAX_POLYGON_VERTICES = 10_000
MAX_SPRAY = 100_000
_SPRAY_WORK = 10_000_000  # candidate points x polygon edges one spray may examine (about a second)


def _as_polygon(polygon) -> np.ndarray:
    """A polygon as a float64 (V, 2) array of its vertices, a repeated closing vertex dropped."""
    try:
        poly = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("The polygon must be a list of (x, y) vertices.") from None
    if poly.ndim != 2 or poly.shape[1] != 2:
        raise ValueError(f"The polygon must have shape (V, 2), its (x, y) vertices; got shape {poly.shape}.")
    if not np.all(np.isfinite(poly)):
        raise ValueError("The polygon has NaN or infinite vertices.")
    if len(poly) > 1 and np.array_equal(poly[0], poly[-1]):
        poly = poly[:-1]
    if len(poly) < 3:
        raise ValueError(f"A polygon needs at least 3 vertices; got {len(poly)}.")
    if len(poly) > MAX_POLYGON_VERTICES:
        raise ValueError(
            f"The polygon has {len(poly)} vertices; the limit is {MAX_POLYGON_VERTICES}. Simplify it first."
        )
    return poly


def points_in_polygon(points, polygon) -> np.ndarray:
    """A boolean mask of the (N, 2) ``points`` inside the closed ``polygon`` (V, 2 vertices, in order).

    Even-odd rule (a ray from the point crosses the outline an odd number of times), so concave and
    self-intersecting outlines work; a point on the outline itself (within rounding) counts as inside.
    """
    poly = _as_polygon(polygon)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2); got shape {pts.shape}.")
    x, y = pts[:, 0], pts[:, 1]
    tol = 1e-12 * max(1.0, float(np.abs(poly).max()))
    inside = np.zeros(len(pts), dtype=bool)
    on_edge = np.zeros(len(pts), dtype=bool)
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        # Crossing: the edge straddles the horizontal line through the point, right of the point.
        straddles = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= straddles & (x < x_cross)
        # On the edge: zero cross product with the edge and within its bounding box.
        cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
        length = np.hypot(x2 - x1, y2 - y1)
        on_edge |= (
            (np.abs(cross) <= tol * max(length, 1.0))
            & (np.minimum(x1, x2) - tol <= x)
            & (x <= np.maximum(x1, x2) + tol)
            & (np.minimum(y1, y2) - tol <= y)
            & (y <= np.maximum(y1, y2) + tol)
        )
    return inside | on_edge


def polygon_area(polygon) -> float:
    """The area enclosed by a simple polygon (shoelace formula; either orientation)."""
    x, y = _as_polygon(polygon).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def spray(polygon, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points drawn uniformly inside ``polygon`` (even-odd rule), as a float64 (n, 2) array.

    Rejection sampling from the polygon's bounding box, in batches sized by the acceptance seen so far;
    the work is bounded, and a shape with (almost) no area raises ValueError instead of looping. The
    same (polygon, n, seed) always gives the same points.
    """
    n = check_positive_int(n, "n", minimum=1, maximum=MAX_SPRAY)
    seed = check_positive_int(seed, "seed", minimum=0)
    poly = _as_polygon(polygon)
    low, high = poly.min(axis=0), poly.max(axis=0)
    span = high - low
    spread = np.linalg.svd(poly - poly.mean(axis=0), compute_uv=False)  # both zero: a point; one: a line
    if spread[1] <= 1e-9 * max(1.0, float(np.abs(poly).max())):
        raise ValueError(
            "The shape is a line or a point (all its vertices in a row): draw a loop around an area."
        )
    rng = np.random.default_rng(seed)
    budget = max(_SPRAY_WORK // len(poly), 4 * n)  # candidates this polygon may examine
    rate = max(polygon_area(poly) / float(np.prod(span)), 0.01)  # expected acceptance (a first guess)
    kept, found, tried = [], 0, 0
    while found < n and tried < budget:
        batch = int(min(budget - tried, max(256, 1.2 * (n - found) / rate)))
        candidates = low + span * rng.random((batch, 2))
        inside = candidates[points_in_polygon(candidates, poly)]
        kept.append(inside)
        found, tried = found + len(inside), tried + batch
        rate = max(found / tried, 1e-4)
    if found < n:
        raise ValueError(
            f"The shape is too thin to fill: only {found} of {n} points landed inside after "
            f"{tried:,} tries. Draw a wider loop."
        )
    return np.concatenate(kept)[:n]


def drawing_csv(points, classes) -> bytes:
    """A drawing as CSV bytes: header ``x1,x2,class``, one row per point, classes written ``class k``.

    Coordinates are written with ``repr`` so reading the file back gives exactly the same numbers.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ks = np.asarray(classes).reshape(-1)
    if len(ks) != len(pts):
        raise ValueError(f"{len(pts)} points but {len(ks)} classes.")
    rows = [f"{float(x)!r},{float(y)!r},class {int(k)}" for (x, y), k in zip(pts, ks, strict=True)]
    return ("\n".join(["x1,x2,class", *rows]) + "\n").encode()
