"""Data page: choose a built-in dataset, upload a table or draw points; preview it and its eigenvalue
spectrum.

Drawing uses Plotly's own selection events (``st.plotly_chart(on_select="rerun")``): the lasso event carries
the lasso's outline in data coordinates, and a click selects the nearest point of an invisible grid. We
chose this over ``streamlit-drawable-canvas`` 0.13.0 (a Components v2 widget, no iframe, which Chromium
and Playwright can draw on) because it needs no new dependency, gives coordinates in data units on real
axes with equal aspect (the canvas gives pixel paths to convert), keeps undo / clear / classes in the
session model instead of a second drawing state inside the widget, shows the sprayed points in the same
chart, and is driven the same way as the Uncertainty page's selections in AppTest and in the browser.
"""

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

import inflow_core as ic
from explorer import layout, state
from explorer.text import plain
from inflow_core import viz

NOISY = ("circles", "moons", "sine", "swiss_roll", "s_curve")
DEFAULT_CHOICE = state.DEFAULT_DATASET
PREVIEW_POINTS = 3000

layout.page_setup("data")
st.title("Data")
layout.intro(
    "Everything starts from a cloud of points: each row is one point, each column one coordinate. Pick one "
    "of the built-in toy shapes (they are standardised so every coordinate has variance one), upload your "
    "own numeric table, or draw points with the mouse. The flow works in the data's **principal directions** "
    "(the axes of largest spread, found by PCA); the bar chart shows how much variance each direction "
    "carries, and the **participation ratio** summarises it as an effective number of dimensions."
)

# The Draw source: a fixed square canvas, a click grid, and caps on what one session may draw.
EXTENT, GRID_STEP = 3.0, 0.1
CLASSES = list(range(1, len(viz.style.PALETTE) + 1))
MAX_DRAWN = 20_000
LASSO_VERTICES = 400  # a longer lasso outline is thinned to this many vertices before spraying
TOOLS = {"lasso": "Spray with a lasso", "click": "Place single points"}

s = state.session()
mine = state.settings("data")
SOURCES = {"builtin": "Built-in dataset", "upload": "Upload a file", "draw": "Draw"}
source = st.radio(
    "Source",
    list(SOURCES),
    format_func=SOURCES.get,
    horizontal=True,
    help="Built-in datasets are generated on the fly from a seed; uploads and drawings stay in "
    "this browser session only.",
    **state.bind("data", "source", list(SOURCES)),
)


def drawn_points(strokes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """All drawn points (N, 2) and their class numbers (N,), in drawing order."""
    if not strokes:
        return np.zeros((0, 2)), np.zeros(0, dtype=int)
    X = np.concatenate([np.asarray(stroke["points"], dtype=np.float64).reshape(-1, 2) for stroke in strokes])
    sizes = [len(stroke["points"]) for stroke in strokes]
    return X, np.repeat([stroke["class"] for stroke in strokes], sizes).astype(int)


def new_strokes(event, klass: int, density: int, seed: int, clicks: bool) -> list[dict]:
    """The strokes one selection event of the canvas adds: a spray of ``density`` points inside each lasso
    outline, or (when the canvas had its click grid) one point per clicked grid point. The event comes from
    the browser: anything malformed, or a loop with no area, is a ValueError saying what went wrong."""
    try:
        selection = event.get("selection") or {}
        outlines = [
            np.c_[np.asarray(lasso["x"], dtype=float), np.asarray(lasso["y"], dtype=float)]
            for lasso in selection.get("lasso") or []
        ]
        clicked = [
            (float(p["x"]), float(p["y"]))
            for p in selection.get("points") or []
            if clicks and p.get("curve_number", 0) == 0
        ]  # trace 0 is the click grid
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"Could not read that stroke ({type(err).__name__}); draw it again.") from None
    strokes = []
    for i, outline in enumerate(outlines):
        outline = np.clip(outline, -EXTENT, EXTENT)
        if len(outline) > LASSO_VERTICES:
            outline = outline[np.unique(np.linspace(0, len(outline) - 1, LASSO_VERTICES).astype(int))]
        sprayed = ic.datasets.spray(outline, density, seed=seed + i)
        strokes.append({"class": klass, "points": sprayed.round(6).tolist()})
    if outlines:  # a lasso also selects the grid points inside it: those are not clicks
        return strokes
    clicked = [(round(x, 6), round(y, 6)) for x, y in clicked if np.isfinite([x, y]).all()]
    return [{"class": klass, "points": [[x, y]]} for x, y in clicked if max(abs(x), abs(y)) <= EXTENT]


def draw_panel() -> None:
    """The Draw source: tools, the canvas, undo / clear / use / download. A fragment: a stroke reruns
    only this panel, not the page's previews."""
    mine = state.settings("data")

    # A selection event on the canvas drawn last run becomes strokes; then the canvas version moves on, so
    # the next chart is a fresh widget and the consumed selection can never be read twice.
    event = st.session_state.get(f"draw_canvas_{mine['canvas']}")
    if event and any((event.get("selection") or {}).get(part) for part in ("lasso", "points")):
        try:
            added = new_strokes(
                event,
                mine["draw_class"],
                mine["density"],
                seed=mine["canvas"],
                clicks=mine["tool"] == "click",
            )
            total = sum(len(stroke["points"]) for stroke in mine["strokes"] + added)
            if total > MAX_DRAWN:
                raise ValueError(
                    f"That stroke would make {total:,} points; a drawing holds at most "
                    f"{MAX_DRAWN:,}. Undo a stroke or lower the points per lasso."
                )
            mine["strokes"] = mine["strokes"] + added
            mine["draw_error"] = None
        except ValueError as err:
            mine["draw_error"] = str(err)
        mine["canvas"] += 1

    def undo() -> None:
        mine["strokes"], mine["draw_error"] = mine["strokes"][:-1], None

    def clear() -> None:
        mine["strokes"], mine["draw_error"] = [], None

    st.markdown(
        "Make up your own 2-D data. With the **lasso**, drag a loop on the square: points are sprayed evenly "
        "inside it. With **single points**, click where a point should go. Each stroke gets the class "
        "chosen below, shown in its own colour, so you can draw two or more groups and later watch where "
        "the flow sends each. When you like it, press **Use these points**: the drawing then becomes the "
        "data every page works on."
    )
    cols = st.columns(3)
    tool = cols[0].radio(
        "Tool",
        list(TOOLS),
        format_func=TOOLS.get,
        horizontal=True,
        help="Lasso: drag a closed loop and points are sprayed uniformly inside it. Single "
        "points: each click places one point (snapped to a 0.1 grid).",
        **state.bind("data", "tool", list(TOOLS)),
    )
    cols[1].selectbox(
        "Class of the next stroke",
        CLASSES,
        format_func=lambda k: f"class {k} ({viz.style.PALETTE_NAMES[k - 1]})",
        help="Points you draw next get this class (and its colour). The class becomes the "
        "label the other pages colour points by.",
        **state.bind("data", "draw_class", CLASSES),
    )
    cols[2].slider(
        "Points per lasso",
        5,
        500,
        step=5,
        help="How many points one lasso stroke sprays inside its loop: the same number whatever "
        "the loop's size, so a small loop gives a dense cluster.",
        **state.bind("data", "density"),
    )

    X, classes = drawn_points(mine["strokes"])
    left, right = st.columns([3, 2])
    with left:
        title = (
            "Drag a loop: points are sprayed inside it"
            if tool == "lasso"
            else "Click anywhere to place a point"
        )
        clicks = tool == "click"  # Streamlit selects clicked points only outside the lasso drag mode
        figure = viz.data.drawing_canvas(
            X, classes, EXTENT, GRID_STEP if clicks else None, "pan" if clicks else "lasso", title=title
        )
        st.plotly_chart(
            figure,
            key=f"draw_canvas_{mine['canvas']}",
            on_select="rerun",
            selection_mode=("points", "lasso"),
            width="content",
            config=viz.style.plotly_config("drawing"),
        )
    with right:
        counts = ", ".join(f"class {k}: {int(np.sum(classes == k))}" for k in np.unique(classes))
        st.markdown(
            f"**{len(X):,} points** in {len(mine['strokes'])} stroke"
            f"{'s' * (len(mine['strokes']) != 1)}" + (f" ({counts})" if counts else "")
        )
        if mine["draw_error"]:
            st.warning(plain(mine["draw_error"], 400))
        st.button(
            "Undo last stroke",
            key="draw_undo",
            on_click=undo,
            disabled=not mine["strokes"],
            width="stretch",
            help="Remove the most recent lasso or click.",
        )
        st.button(
            "Clear",
            key="draw_clear",
            on_click=clear,
            disabled=not mine["strokes"],
            width="stretch",
            help="Remove every drawn point and start again (the current data is not changed).",
        )
        csv = ic.datasets.drawing_csv(X, classes)
        if st.button(
            "Use these points",
            key="draw_use",
            type="primary",
            disabled=not mine["strokes"],
            width="stretch",
            help=f"Make the drawing the data every page works on. It is checked like an uploaded "
            f"table: at least {ic.datasets.MIN_ROWS} points are needed.",
        ):
            try:
                state.use_drawn_points(X, classes)
                st.rerun()  # the sidebar, the link and the preview below name the drawing at once
            except ValueError as err:
                st.error(f"{plain(str(err), 400)} The previous data is kept.")
        st.download_button(
            "Download CSV",
            csv,
            file_name="drawing.csv",
            mime="text/csv",
            key="draw_download",
            on_click="ignore",
            disabled=not mine["strokes"],
            width="stretch",
            help="Save the drawing as a CSV file (columns x1, x2, class) to upload later or use elsewhere.",
        )
        up = s.upload
        if (
            up is not None
            and up.drawn
            and s.data.dataset == "upload"
            and len(X)
            and up.sha256 == hashlib.sha256(csv).hexdigest()
        ):
            st.success("These points are the current data.")
        elif len(X):
            st.info("Not used yet: the current data is still the one named in the sidebar.")


if source == "builtin":
    names = list(ic.datasets.REGISTRY)
    builtin = s.data.dataset != "upload"
    cols = st.columns([2, 1, 1, 1])
    current = s.data.dataset if builtin else DEFAULT_CHOICE
    picked = cols[0].selectbox(
        "Dataset",
        names,
        index=names.index(current),
        key="w.dataset.dataset",
        format_func=lambda n: ic.datasets.info(n).title,
        help="Switching dataset also resets the schedule to the one recommended for it.",
    )
    if picked != s.data.dataset:
        try:
            state.set_data(state.DataSpec.default_for(picked, seed=s.data.seed))
            st.rerun()
        except ValueError as err:
            st.error(f"{err} The previous data is kept.")
    if builtin:
        meta = ic.datasets.info(s.data.dataset)
        cols[1].number_input(
            "Points n",
            min_value=10,
            max_value=meta.max_n,
            step=100,
            help=f"How many points to draw (at most {meta.max_n:,}). More points give a "
            "smoother exact flow but take longer to integrate.",
            **state.bind("dataset", "n"),
        )
        cols[2].number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            help="The random seed: the same seed always gives the same points.",
            **state.bind("dataset", "seed"),
        )
        if s.data.dataset in NOISY:
            cols[3].number_input(
                "Noise",
                min_value=0.0,
                max_value=5.0,
                step=0.01,
                format="%.3f",
                placeholder="default",
                help="Standard deviation of the Gaussian jitter added to the shape, before "
                "standardising. Leave empty for the dataset's default.",
                **state.bind("dataset", "noise"),
            )
        st.caption(meta.description)
elif source == "draw":
    st.fragment(draw_panel)()
else:
    st.markdown(
        "Upload a **CSV** (a header row, then numbers separated by commas) or a **.npy** array "
        f"(rows x features). Limits: {ic.datasets.MAX_ROWS:,} rows, {ic.datasets.MAX_COLUMNS} "
        f"columns, {ic.datasets.MAX_UPLOAD_BYTES // 2**20} MB; at least {ic.datasets.MIN_ROWS} rows "
        f"and {ic.datasets.MIN_COLUMNS} numeric columns; no missing values."
    )
    label_column = st.text_input(
        "Label column (optional)",
        max_chars=200,
        help="Name of a CSV column holding classes (text is fine). It is used to "
        "colour points, not as a coordinate.",
        **state.bind("data", "label_column"),
    )
    upload = st.file_uploader(
        "Table",
        type=["csv", "npy", "txt"],
        key="w.data.upload",
        help="The file is validated before it replaces the current data; a bad file "
        "leaves the current data unchanged.",
    )
    if upload is not None:
        content = upload.getvalue()
        token = (upload.name, len(content), hashlib.sha256(content).hexdigest(), label_column)
        if mine.get("upload_token") != token:
            mine["upload_token"] = token
            try:
                state.store_upload(content, upload.name, label_column)
                mine["upload_error"] = None
                st.rerun()  # the sidebar and the link, drawn before this, name the new data at once
            except ValueError as err:
                mine["upload_error"] = f"{upload.name}: {err}"
        if mine.get("upload_error"):
            st.error(f"{plain(mine['upload_error'], 600)} The previous data is kept.")
    if s.data.dataset != "upload" or s.upload.drawn:
        st.info("Nothing uploaded yet: the current data is still the one named in the sidebar.")

data = state.current_data()
basis = state.current_basis(data)
n, dim = data.X.shape
st.subheader(f"{plain(data.title)}: {n:,} points in D = {dim}")

left, right = st.columns([3, 2])
with left:
    rng = np.random.default_rng(0)
    shown = np.sort(rng.choice(n, PREVIEW_POINTS, replace=False)) if n > PREVIEW_POINTS else np.arange(n)
    labels = None if data.labels is None else data.labels[shown]
    if dim <= 3:
        coords, titles = data.X[shown], [f"x{i + 1}" for i in range(dim)]
        if dim == 3 and not st.toggle(
            "3-D view", help="Off: show the first two coordinates.", **state.bind("data", "three_d")
        ):
            coords, titles = coords[:, :2], titles[:2]
        note = ""
    else:
        three = st.toggle(
            "3-D view",
            help="Show the first three principal directions instead of two (drag to rotate).",
            **state.bind("data", "three_d"),
        )
        k = 3 if three else 2
        coords = basis.to_eigen(data.X[shown])[:, :k]
        titles = [f"principal direction {i + 1}" for i in range(k)]
        note = f"D = {dim} > 3: projection on the leading principal directions (PCA)."
    st.plotly_chart(viz.data.data_preview(coords, labels, titles), key="data_preview")
    caption = f"Showing {len(shown):,} of {n:,} points. " if n > PREVIEW_POINTS else ""
    st.caption(caption + note)
with right:
    st.plotly_chart(viz.data.eigen_spectrum(basis.eigenvalues), key="spectrum")
    pr = ic.metrics.participation_ratio(basis.eigenvalues)
    st.metric(
        "Participation ratio",
        f"{pr:.2f}",
        help="(sum of eigenvalues)² / sum of squared eigenvalues: "
        "1 if all variance lies along one direction, D if it "
        "is spread evenly over all D.",
    )
    st.caption("Eigenvalues are computed after standardising each column (z-scoring).")
    columns = s.upload.columns if s.data.dataset == "upload" else [f"x{i + 1}" for i in range(dim)]
    st.dataframe(pd.DataFrame(data.X[:5], columns=columns), height=220, hide_index=True)
