"""Inspect page: what a dimension-reducing flow kept, next to PCA and UMAP, on the digits or your own data."""

from dataclasses import replace

import numpy as np
import streamlit as st

import inflow_core as ic
from explorer import adapters, layout, state
from explorer.text import plain
from inflow_core import reduction, viz

SESSION = "session"
TRAIN_N = 1200  # the shipped digits models' training set: digits n = 1200, seed 0 (see their cards)
MAX_POINTS = 2000
PROFILE_POINTS, PROFILE_FRAMES = 300, 20
TRAVERSAL_STEPS = 9

layout.page_setup("inspect")
st.title("Inspect")
layout.intro(
    "Real data has tens or hundreds of dimensions. A **dimension-reducing** flow keeps the top *d* principal "
    "directions as its latent and squeezes the others towards zero, nonlinearly and invertibly. Here you see "
    "what it kept: the latent of each point coloured by its label, next to two classic reductions of the "
    "same points, **PCA** (the best linear projection on *d* axes) and **UMAP** (a nonlinear neighbour-graph "
    "embedding, not invertible). Below the plots: how well each keeps neighbours together, the data the "
    "*d*-dimensional latent remembers (click a point), a walk along one latent direction, generated samples, "
    "and how the variance of every direction changes through the flow. Start with the shipped digits models "
    "(8x8 images, 64 dimensions, reduced to 2 or 10), or inspect the flow of the data you chose on the Data "
    "page. Every computation runs on a button press and is cached."
)

s = state.session()
insp = state.settings("inspect")
shipped = {
    m["name"]: m
    for m in sorted(
        ic.checkpoints.shipped_models(), key=lambda m: m["card"].get("schedule", {}).get("dims_to_keep", 0)
    )
    if m["dataset"] == "digits"
}


# ------------------------------------------------------------------------------------------- which flow
options = list(shipped) + [SESSION]
source = st.radio(
    "Flow to inspect",
    options,
    horizontal=True,
    **state.bind("inspect", "source", options),
    format_func=lambda o: (
        "Current data and flow of this session"
        if o == SESSION
        else f"Shipped digits model, d = {shipped[o]['card']['schedule']['dims_to_keep']}"
    ),
    help="The shipped models were trained on 1,200 digits (81 and 99 s on two shared CPU cores) and are "
    "shown on the 597 digits they never saw. 'Current' uses the Data, Schedule and Train / Load pages: "
    "your upload or a built-in dataset, with the exact flow or the network you trained or loaded.",
)

if source == SESSION:
    try:
        data, basis, schedule = state.selection()
    except ValueError as err:
        st.error(f"{err} Fix the data or the schedule on the Data and Schedule pages.")
        st.stop()
    active = layout.active_flow_or_stop(data, basis, schedule)
    suggestion = reduction.suggest_dims(basis.eigenvalues) if basis.dim > 1 else None
    flow, flow_key, X_all, labels_all, reference = active.flow, active.key, data.X, data.labels, data.X
    data_key, title = data.key, f"{plain(data.title)} with the {active.label}"
    with st.expander("How many dimensions to keep?", expanded=not schedule.kept.sum() < basis.dim):
        if suggestion is None:
            st.caption("One-dimensional data has nothing to reduce.")
        else:
            st.markdown(
                f"The eigenvalue spectrum of this data suggests **d = {suggestion.by_pr}**: its "
                "participation ratio, the effective number of dimensions, is "
                f"{suggestion.participation_ratio:.1f}. Keeping {suggestion.threshold:.0%} of the variance "
                f"would need d = {suggestion.by_variance} (explained variance counts every small direction, "
                "the participation ratio weights them by their share). "
                f"The current schedule: {schedule.describe()}."
            )
            if insp["d"] is None or not 1 <= insp["d"] <= basis.dim - 1:
                insp["d"] = suggestion.by_pr
            d_choice = st.number_input(
                "Dimensions to keep",
                min_value=1,
                max_value=basis.dim - 1,
                **state.bind("inspect", "d"),
                help="d for a dimension-reducing schedule (the top-d principal directions are "
                "kept). The suggestion is the participation ratio, rounded.",
            )
            if st.button(
                "Use a reducing schedule with this d",
                key="insp_use_d",
                help="Sets the Schedule page to 'reducing' with this d (inflation gap and end "
                "time on auto). The exact flow is used until you train a network on the "
                "Train / Load page, with a time budget.",
            ):
                state.set_schedule(
                    replace(
                        s.sched, family="reducing", dims_to_keep=int(d_choice), inflation_gap=None, t_max=None
                    )
                )
                state.use_exact_flow()
                st.rerun()
    if schedule.kept.all():
        st.info(
            "The current schedule keeps all dimensions (nothing is reduced): the 'latent' is the whole "
            "Gaussian end state and its reconstruction is the round trip. Choose a d above to reduce."
        )
    dim = basis.dim
    default_image = data.info.get("dataset") == "digits"
else:
    entry = shipped[source]
    flow = adapters.shipped_flow(entry["path"])
    flow_key = f"shipped|{source}|{flow.solver.describe()}"
    X_train, _, X_all, labels_all = adapters.digits_split(TRAIN_N)
    reference, data_key = X_train, "digits-held-out"
    title = f"Held-out digits with the shipped model {source}"
    dim, default_image = flow.dim, True
    q = entry["card"].get("quality", {})
    if not layout.presenting():  # a projector shows the figures; the card would push them off the screen
        st.caption(
            f"Model card: trained {entry['card']['training']['steps']:,} steps in "
            f"{entry['card']['training']['seconds']:.0f} s on {entry['card']['training']['device']}; "
            f"{flow.schedule.describe()}. Held-out round trip max error "
            f"{q.get('round_trip', {}).get('max_error', float('nan')):.1e} (pixel units 0-16). The "
            "model brings its own data: the sidebar's selection applies to 'Current data and flow' only."
        )

# ------------------------------------------------------------------------------------------- settings
c1, c2, c3, c4 = st.columns([1, 1, 1, 1.4])
max_points = min(MAX_POINTS, len(X_all))
insp["n"] = min(max(50, insp["n"]), max_points)
n_points = c1.number_input(
    "Points",
    min_value=min(50, max_points),
    max_value=max_points,
    step=50,
    **state.bind("inspect", "n"),
    help="How many points to encode and embed (a random subset, fixed seed). Encoding costs "
    "one ODE solve; trustworthiness and UMAP grow with the square of this number.",
)
k = c2.number_input(
    "Neighbours k",
    min_value=2,
    max_value=50,
    **state.bind("inspect", "k"),
    help="Neighbourhood size for trustworthiness, continuity and label agreement.",
)
shapes = reduction.image_shapes(dim)
shape_options = shapes or [(1, dim)]
if insp["is_image"] is None or not shapes:
    insp["is_image"] = default_image and bool(shapes)
as_image = c3.toggle(
    "Columns are an image",
    disabled=not shapes,
    **state.bind("inspect", "is_image"),
    help="Draw each point as an h x w image (rows of pixels, row-major, as numpy stores "
    f"them). Only offered when D = {dim} factors as h x w.",
)
shape = c4.selectbox(
    "Image height x width",
    shape_options,
    disabled=not as_image,
    **state.bind("inspect", "shape", shape_options),
    format_func=lambda hw: f"{hw[0]} x {hw[1]}",
    help="How the D columns fold into an image: height x width = D.",
)

rng = np.random.default_rng(0)
rows = (
    np.sort(rng.choice(len(X_all), int(n_points), replace=False))
    if n_points < len(X_all)
    else np.arange(len(X_all))
)
X = X_all[rows]
labels = None if labels_all is None else labels_all[rows]
points_key = f"{data_key}|{n_points}"
zrange = (float(X_all.min()), float(X_all.max()))


def show_rows(values: np.ndarray, captions: list[str], cols: int, chart_key: str, title: str = "") -> None:
    """Points as an image grid (image data) or as feature profiles."""
    if as_image:
        fig = viz.reduction.image_grid(reduction.as_images(values, *shape), cols, captions, title, zrange)
    else:
        fig = viz.reduction.profiles(values, captions, title=title)
    st.plotly_chart(fig, key=chart_key)


params = (flow_key, points_key, int(k))
if st.button(
    "Encode the points",
    type="primary",
    key="insp_encode",
    help="Encode the points with the flow, project them with PCA on the same d and score both. "
    "Takes a few seconds; the result is cached.",
):
    insp.update(encoded=params, selected=0)
if insp["encoded"] != params:
    st.info(f"{title}: press **Encode the points** to see the latent.")
    st.stop()

with st.spinner("Encoding (one ODE solve per point batch)..."):
    try:
        Z, P, scores = adapters.encode_points(flow_key, flow, points_key, X, labels, int(k))
    except ValueError as err:
        st.error(f"Encoding failed: {err}")
        st.stop()
d = Z.shape[1]
heading = f"{title}: {len(X):,} points, latent d = {d}"
if layout.presenting():  # a bold line instead of a heading: the figures must fit a projector's screen
    st.markdown(f"**{heading}**")
else:
    st.subheader(heading)
selected = min(insp["selected"], len(X) - 1)

# ------------------------------------------------------------------------------------------- embeddings
umap_params = (points_key, d, int(k))
left, middle, right = st.columns(3)
with left:
    latent_fig = viz.reduction.embedding_scatter(
        Z, labels, "Inflationary flow latent", "latent u", selected, height=layout.fit(460)
    )
    event = st.plotly_chart(
        latent_fig, key="w.inspect.latent", on_select="rerun", selection_mode=("points", "box", "lasso")
    )
    try:
        picked = [p.get("customdata") for p in event["selection"]["points"]]
    except (KeyError, TypeError):
        picked = []
    picked = [int(p[0] if isinstance(p, list) else p) for p in picked if p is not None]
    if picked and picked[0] != selected and 0 <= picked[0] < len(X):
        insp["selected"] = selected = picked[0]
        st.rerun()
    st.caption(
        "Click a point (or drag a box: its first point is taken) to see what its latent remembers."
        + (f" Showing latent coordinates 1-2 of {d}." if d > 2 else "")
    )
with middle:
    st.plotly_chart(
        viz.reduction.embedding_scatter(
            P, labels, f"PCA, top {d} axes", "principal axis", selected, height=layout.fit(460)
        ),
        key="insp.pca",
    )
with right:
    if insp["umap"] == umap_params:
        with st.spinner("UMAP..."):
            E_umap, umap_score = adapters.umap_points(points_key, X, labels, d, int(k))
        scores["UMAP"] = umap_score
        st.plotly_chart(
            viz.reduction.embedding_scatter(
                E_umap, labels, f"UMAP, {d} components", "UMAP", selected, height=layout.fit(460)
            ),
            key="insp.umap",
        )
    elif d == dim:
        st.markdown(
            "**UMAP** is a reduction; this flow keeps all dimensions, so there is nothing to compare "
            "it with. Choose a reducing schedule to compare."
        )
    else:
        st.markdown(
            "**UMAP** builds a graph of each point's nearest neighbours and lays it out in d "
            "dimensions. Its first run in a server compiles code for tens of seconds."
        )
        if st.button(
            "Compute UMAP",
            key="insp_umap",
            help="Embed the same points with UMAP (15 neighbours, min_dist 0.1, seed 0); cached.",
        ):
            with st.spinner(
                "Computing UMAP: the first run compiles numba code (tens of seconds), later runs "
                "take a few seconds..."
            ):
                adapters.umap_points(points_key, X, labels, d, int(k))
            insp["umap"] = umap_params
            st.rerun()

st.plotly_chart(viz.reduction.neighbourhood_bars(scores), key="insp.scores")
st.caption(
    "Trustworthiness: are a point's embedding neighbours also near it in the data (no false neighbours)? "
    "Continuity: do its data neighbours stay near it in the embedding (no torn neighbourhoods)? k-NN label "
    "agreement: the share of its embedding neighbours with its own label. All use the original D-dimensional "
    "data as the reference." + (" No labels in this data, so no label agreement." if labels is None else "")
)
with st.expander("Why can the flow's latent keep neighbourhoods worse than PCA?"):
    st.markdown(
        "The flow is invertible in all D dimensions, so no neighbourhood is lost in the full latent. The "
        "picture shows only the d kept coordinates, and in a reducing flow those grow from tiny noise to "
        "the latent scale by a factor of about sqrt(c(T)/c(0)) (thousands): any small difference between a "
        "point and what the denoiser expects at low noise is magnified into its latent position. The exact "
        "flow of the bare training points puts each of them at its PCA position (scaled down), but add the "
        "tiny initial noise c(0) the flow is built for and the same exact flow scrambles them "
        "(trustworthiness 0.51): around each sample point the flow expands, so a point's small offset "
        "decides its latent place. The learned network on held-out digits behaves the same way, and on the "
        "64-D digits its 2-D latent keeps neighbours worse than PCA (~0.54 vs ~0.82; bench/digits.py and "
        "bench/RESULTS.md give the figures). The lever "
        "is the inflation gap (Schedule page): the default gap keeps the compressed coordinates nearly "
        "noise-free, so they still identify each digit while the kept ones inflate, and the kept latent "
        "ends up holding small digit-specific details. A smaller gap noises them too: at gap 0.1 the 2-D "
        "latent scores 0.80, close to PCA, but the compressed coordinates then keep 60 % of the kept ones' "
        "spread. The flow's strengths are elsewhere: an exact round trip, generation, calibrated "
        "uncertainty."
    )

# ------------------------------------------------------------------------------------------- images
st.subheader("What the latent remembers")
z_sel = Z[selected]
recon = adapters.decode_kept(flow_key, flow, z_sel[None])[0]
pca_recon = reduction.pca_reconstruct(flow.basis, X[selected : selected + 1], d)[0]
label_text = "" if labels is None else f" (label {plain(labels[selected])})"
st.markdown(
    f"Point {rows[selected]}{label_text}: the original, the flow's reconstruction from its {d} "
    f"latent coordinates (the other {dim - d} set to 0, their mean, then decoded), and PCA's "
    f"projection on {d} axes."
)
show_rows(
    np.stack([X[selected], recon, pca_recon]), ["original", "flow, d dims", "PCA, d dims"], 3, "insp.recon"
)

st.subheader("Latent traversal")
t1, t2 = st.columns([1, 3])
walk_dim = t1.selectbox(
    "Latent direction",
    list(range(d)),
    **state.bind("inspect", "walk_dim", list(range(d))),
    format_func=lambda i: f"latent u{i + 1}",
    help="Which kept latent coordinate to vary; the others stay at the selected point's.",
)
span = t1.slider(
    "Span (latent sd)",
    0.5,
    4.0,
    step=0.5,
    **state.bind("inspect", "span"),
    help="The walk goes from -span to +span standard deviations of that latent coordinate.",
)
walk = reduction.traversal(flow, z_sel, int(walk_dim), span=float(span), steps=TRAVERSAL_STEPS)
with t2:
    offsets = np.linspace(-span, span, TRAVERSAL_STEPS)
    show_rows(
        adapters.decode_kept(flow_key, flow, walk),
        [f"{o:+.1f} sd" for o in offsets],
        TRAVERSAL_STEPS,
        "insp.walk",
    )
    st.caption(
        f"Decoded along latent u{walk_dim + 1}; the other latent coordinates stay the selected point's."
    )

# ------------------------------------------------------------------------------------------- generation
st.subheader("Generated samples")
g1, g2, g3 = st.columns([1, 1, 2])
prior = g1.radio(
    "Prior of the compressed coordinates",
    ["empirical", "gaussian"],
    **state.bind("inspect", "prior", ["empirical", "gaussian"]),
    help="gaussian: N(0, v(T)) on every latent coordinate. empirical: the compressed "
    "coordinates of encoded training data, resampled (their true latent distribution is "
    "not Gaussian).",
)
n_gen = g2.select_slider(
    "Samples",
    [8, 16, 24, 32, 48],
    **state.bind("inspect", "n_gen", [8, 16, 24, 32, 48]),
    help="How many points to generate (decode from random latents).",
)
gen_params = (flow_key, n_gen, prior)
if g3.button("Generate", key="insp_generate", help="Draw latents and decode them (one ODE solve)."):
    insp["generated"] = gen_params
if insp["generated"] == gen_params:
    with st.spinner("Generating..."):
        G = adapters.generate(flow_key, flow, int(n_gen), 0, prior, data_key, reference)
    show_rows(
        G if as_image else G[:8],
        [""] * len(G) if as_image else [f"sample {i + 1}" for i in range(8)],
        8,
        "insp.generated",
    )

# ------------------------------------------------------------------------------------------- variance
st.subheader("Variance and participation ratio through the flow")
if st.button(
    "Trace the variance",
    key="insp_profile",
    help=f"Inflate {PROFILE_POINTS} of the points and record each eigen-dimension's variance at "
    f"{PROFILE_FRAMES} times.",
):
    insp["profile"] = (flow_key, points_key)
if insp["profile"] == (flow_key, points_key):
    with st.spinner("Inflating..."):
        prof = adapters.variance_profile(flow_key, flow, points_key, X[:PROFILE_POINTS], PROFILE_FRAMES)
    st.plotly_chart(viz.reduction.variance_through_flow(prof), key="insp.variance")
    st.caption(
        f"Kept dimensions grow to the latent's unit scale; compressed ones shrink relative to them. "
        f"The participation ratio goes from {prof.pr[0]:.1f} (the data) to {prof.pr[-1]:.1f} (the "
        f"latent; predicted {prof.predicted_pr[-1]:.1f})."
    )
