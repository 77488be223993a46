"""Data page: choose a built-in dataset or upload a table; preview it and its eigenvalue spectrum."""

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
    "of the built-in toy shapes (they are standardised so every coordinate has variance one) or upload your "
    "own numeric table. The flow works in the data's **principal directions** (the axes of largest spread, "
    "found by PCA); the bar chart shows how much variance each direction carries, and the **participation "
    "ratio** summarises it as an effective number of dimensions."
)

s = state.session()
mine = state.settings("data")
SOURCES = {"builtin": "Built-in dataset", "upload": "Upload a file"}
mine["source"] = "upload" if s.data.dataset == "upload" else mine["source"]
source = st.radio("Source", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                  help="Built-in datasets are generated on the fly from a seed; uploads stay in this browser "
                       "session only.", **state.bind("data", "source"))

if source == "builtin":
    names = list(ic.datasets.REGISTRY)
    builtin = s.data.dataset != "upload"
    cols = st.columns([2, 1, 1, 1])
    current = s.data.dataset if builtin else DEFAULT_CHOICE
    picked = cols[0].selectbox("Dataset", names, index=names.index(current), key="w.dataset.dataset",
                               format_func=lambda n: ic.datasets.info(n).title,
                               help="Switching dataset also resets the schedule to the one recommended for "
                                    "it.")
    if picked != s.data.dataset:
        try:
            state.set_data(state.DataSpec.default_for(picked, seed=s.data.seed))
            st.rerun()
        except ValueError as err:
            st.error(f"{err} The previous data is kept.")
    if builtin:
        meta = ic.datasets.info(s.data.dataset)
        cols[1].number_input("Points n", min_value=10, max_value=meta.max_n, step=100,
                             help=f"How many points to draw (at most {meta.max_n:,}). More points give a "
                                  "smoother exact flow but take longer to integrate.",
                             **state.bind("dataset", "n"))
        cols[2].number_input("Seed", min_value=0, max_value=2**31 - 1, step=1,
                             help="The random seed: the same seed always gives the same points.",
                             **state.bind("dataset", "seed"))
        if s.data.dataset in NOISY:
            cols[3].number_input("Noise", min_value=0.0, max_value=5.0, step=0.01, format="%.3f",
                                 placeholder="default",
                                 help="Standard deviation of the Gaussian jitter added to the shape, before "
                                      "standardising. Leave empty for the dataset's default.",
                                 **state.bind("dataset", "noise"))
        st.caption(meta.description)
else:
    st.markdown("Upload a **CSV** (a header row, then numbers separated by commas) or a **.npy** array "
                f"(rows x features). Limits: {ic.datasets.MAX_ROWS:,} rows, {ic.datasets.MAX_COLUMNS} "
                f"columns, {ic.datasets.MAX_UPLOAD_BYTES // 2**20} MB; at least {ic.datasets.MIN_ROWS} rows "
                f"and {ic.datasets.MIN_COLUMNS} numeric columns; no missing values.")
    label_column = st.text_input("Label column (optional)", max_chars=200,
                                 help="Name of a CSV column holding classes (text is fine). It is used to "
                                      "colour points, not as a coordinate.",
                                 **state.bind("data", "label_column"))
    upload = st.file_uploader("Table", type=["csv", "npy", "txt"], key="w.data.upload",
                              help="The file is validated before it replaces the current data; a bad file "
                                   "leaves the current data unchanged.")
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
    if s.data.dataset != "upload":
        st.info("Nothing uploaded yet: the current data is still the built-in dataset named in the sidebar.")

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
        if dim == 3 and not st.toggle("3-D view", help="Off: show the first two coordinates.",
                                      **state.bind("data", "three_d")):
            coords, titles = coords[:, :2], titles[:2]
        note = ""
    else:
        three = st.toggle("3-D view", help="Show the first three principal directions instead of two (drag "
                                           "to rotate).", **state.bind("data", "three_d"))
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
    st.metric("Participation ratio", f"{pr:.2f}", help="(sum of eigenvalues)² / sum of squared eigenvalues: "
                                                       "1 if all variance lies along one direction, D if it "
                                                       "is spread evenly over all D.")
    st.caption("Eigenvalues are computed after standardising each column (z-scoring).")
    columns = s.upload.columns if s.data.dataset == "upload" else [f"x{i + 1}" for i in range(dim)]
    st.dataframe(pd.DataFrame(data.X[:5], columns=columns), height=220, hide_index=True)
