"""Uncertainty page: error ellipses carried by the flow into the latent space, and latent regions back."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

import inflow_core as ic
from explorer import layout, state
from inflow_core import geometry, viz

MAX_POINTS = 12
BACKGROUND = 300
KINDS = {
    "isotropic": "isotropic (one sigma)",
    "axes": "per axis (sigma x, sigma y)",
    "rotated": "rotated ellipse (two sigmas and an angle)",
}

layout.page_setup("uncertainty")
st.title("Uncertainty")
st.markdown(
    "A measurement is never exact: around each data point sits a small cloud of places it could really be, "
    "described here by a Gaussian error ellipse. Because an inflationary flow is a smooth, invertible map, "
    "that ellipse is carried into the latent space, where you can read off how uncertain the point's latent "
    "code is. Two ways to carry it: the **linearised** ellipse (the flow's local stretch, its Jacobian, "
    "applied to the ellipse) and **Monte Carlo** (push many random draws through the flow and look at the "
    "cloud). Where the map is nearly straight over the ellipse they agree; where it bends, the cloud curves "
    "away from the ellipse, and the page says so. Further down, the other direction: a credible region in "
    "the latent space and the data-space region it comes from."
)

ss = st.session_state
data, basis, schedule = state.selection()
try:
    active = state.active_flow(data, basis, schedule)
except ValueError as err:
    st.error(f"{err} Switch back to the exact flow or to the model's data on the Flow page.")
    st.stop()
flow, dim, X = active.flow, basis.dim, data.X
if dim < 2:
    st.error("Uncertainty ellipses need data with at least two features.")
    st.stop()
axis_titles = [f"x{i + 1}" for i in range(2)]
spread = float(np.mean(X[:, :2].std(axis=0)))
unc = ss.setdefault(
    "unc",
    {
        "selected": [int(i) for i in np.linspace(0, len(X) - 1, 3).astype(int)],
        "kind": "isotropic",
        "s1": round(0.08 * spread, 3),
        "s2": round(0.04 * spread, 3),
        "angle": 30.0,
        "level": 0.9,
        "samples": 200,
        "frames": 30,
        "centre": [0.0, 0.0],
        "radius": 2.0,
    },
)


def picked_indices(event) -> list[int]:
    """Row indices of the points a click / box / lasso selection picked (customdata holds the row)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    out = []
    for p in points:
        index = p.get("customdata", p.get("point_index"))
        if isinstance(index, list):
            index = index[0]
        if index is not None and 0 <= int(index) < len(X):
            out.append(int(index))
    return sorted(set(out))


@st.cache_data(max_entries=16, show_spinner=False)
def propagate_both(
    flow_key: str,
    _flow: ic.InflationaryFlow,
    points: np.ndarray,
    cov: np.ndarray,
    n_samples: int,
    n_frames: int,
    _background: np.ndarray,
):
    """Linearised and Monte-Carlo propagation with frames, plus moving background particles."""
    torch.set_num_threads(1)  # small batches: one thread is fastest on a shared machine
    linear = ic.uncertainty.propagate(_flow, points, cov, method="linear", n_frames=n_frames)
    samples = ic.uncertainty.propagate(
        _flow, points, cov, method="samples", n_samples=n_samples, n_frames=n_frames, seed=0
    )
    background = _flow.trajectory(_background, "inflate", n_frames=n_frames).states
    return linear, samples, background


@st.cache_data(max_entries=16, show_spinner=False)
def region_preimage(
    flow_key: str, _flow: ic.InflationaryFlow, centre: tuple, radius: float, _reference: np.ndarray
):
    """A latent Mahalanobis circle, its decoded pre-image, and encoded reference points for context."""
    torch.set_num_threads(1)
    ring = ic.uncertainty.latent_ball(_flow, np.array(centre), radius, n=240)
    return ring, ic.uncertainty.preimage(_flow, ring), _flow.encode(_reference)


def covariance() -> np.ndarray:
    """The data-space covariance the controls describe (the shown plane; other features get sigma 1)."""
    s1, s2 = unc["s1"], unc["s2"] if unc["kind"] != "isotropic" else unc["s1"]
    plane = np.diag([s1**2, s2**2])
    if unc["kind"] == "rotated":
        a = np.deg2rad(unc["angle"])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        plane = rot @ plane @ rot.T
    cov = np.eye(dim) * s1**2
    cov[:2, :2] = plane
    return cov


left, right = st.columns([3, 2])
with left:
    event = st.plotly_chart(
        viz.uncertainty.pick_figure(X, [0, 1], np.array(unc["selected"]), axis_titles,
                                    title="Data: click a point, or lasso / box-select several"),
        key="unc_pick",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    chosen = picked_indices(event)
    if chosen:
        if len(chosen) > MAX_POINTS:
            st.caption(
                f"{len(chosen)} points selected; using the first {MAX_POINTS} (the Monte-Carlo cloud "
                "grows with every point)."
            )
        unc["selected"] = chosen[:MAX_POINTS]
    st.caption(
        f"Selected points: {', '.join(map(str, unc['selected']))}"
        + (f". D = {dim}: the picture shows the first two features; all D are propagated." if dim > 2 else "")
    )
with right:
    unc["kind"] = st.radio(
        "Uncertainty shape",
        list(KINDS),
        format_func=KINDS.get,
        index=list(KINDS).index(unc["kind"]),
        key="unc_kind",
        help="Isotropic: the same error in every direction. Per axis: different errors along "
        "x1 and x2. Rotated: an ellipse with two sigmas turned by an angle.",
    )
    c1, c2 = st.columns(2)
    unc["s1"] = c1.number_input(
        "sigma 1 (data units)",
        min_value=1e-4,
        max_value=10 * spread,
        value=float(unc["s1"]),
        format="%.4f",
        key="unc_s1",
        help="Standard deviation of the measurement error (along x1, or the ellipse's first axis).",
    )
    if unc["kind"] != "isotropic":
        unc["s2"] = c2.number_input(
            "sigma 2 (data units)",
            min_value=1e-4,
            max_value=10 * spread,
            value=float(unc["s2"]),
            format="%.4f",
            key="unc_s2",
            help="Standard deviation along x2 (or along the ellipse's second axis).",
        )
    if unc["kind"] == "rotated":
        unc["angle"] = st.slider(
            "Angle (degrees)",
            -90.0,
            90.0,
            float(unc["angle"]),
            5.0,
            key="unc_angle",
            help="Rotation of the ellipse's first axis from the x1 axis.",
        )
    unc["level"] = st.slider(
        "Confidence level of the drawn ellipses",
        0.5,
        0.99,
        float(unc["level"]),
        0.01,
        key="unc_level",
        help="The ellipse drawn contains this probability of the Gaussian "
        "(chi-square quantile with 2 degrees of freedom).",
    )
    c1, c2 = st.columns(2)
    unc["samples"] = c1.slider(
        "Monte-Carlo samples per point",
        50,
        1000,
        int(unc["samples"]),
        50,
        key="unc_samples",
        help="Random draws pushed through the flow per point. More "
        "samples, smaller standard errors, longer wait.",
    )
    unc["frames"] = c2.slider(
        "Frames",
        10,
        60,
        int(unc["frames"]),
        5,
        key="unc_frames",
        help="Animation frames from t = 0 (data) to t = T (latent).",
    )

points = X[np.array(unc["selected"], dtype=int)]
cov = covariance()
radius = geometry.chi2_radius(unc["level"], 2)
rng = np.random.default_rng(0)
background = X[np.sort(rng.choice(len(X), min(BACKGROUND, len(X)), replace=False))]
params = ("unc", active.key, points.tobytes(), cov.tobytes(), unc["samples"], unc["frames"])
result = ss.results.get(params)
if result is None:
    st.info(f"Press **Propagate** to carry {len(points)} ellipse(s) through the {active.label}.")
    if st.button(
        "Propagate",
        type="primary",
        key="unc_run",
        help="Integrate the flow with its Jacobian (linearised) and the Monte-Carlo samples.",
    ):
        with st.spinner("Integrating the ellipses and the samples..."):
            try:
                result = propagate_both(
                    active.key, flow, points, cov, int(unc["samples"]), int(unc["frames"]), background
                )
            except ValueError as err:
                st.error(str(err))
        if result is not None:
            ss.results = {**dict(list(ss.results.items())[-7:]), params: result}
            st.rerun()

if result is not None:
    linear, samples, moving = result
    fig = viz.uncertainty.propagation_animation(
        linear.times,
        linear.mean_path[..., :2],
        linear.cov_path[..., :2, :2],
        samples.sample_path[..., :2],
        radius,
        moving[..., :2],
        title=f"Ellipses through the flow ({unc['level']:.0%} level), flow coordinates u(t)",
    )
    st.plotly_chart(fig, key="unc_animation")
    rows, bends = [], []
    for k, index in enumerate(unc["selected"]):
        lin, mc, se = linear.cov[k], samples.cov[k], samples.cov_se[k]
        gap = float(np.linalg.norm(lin - mc) / np.linalg.norm(mc))
        z = float(np.max(np.abs(lin - mc) / np.maximum(se, 1e-300)))
        shift = float(np.linalg.norm(linear.mean[k] - samples.mean[k]) / np.sqrt(np.trace(mc)))
        rows.append(
            {
                "point": index,
                **{f"mean u{i + 1}": linear.mean[k, i] for i in range(min(dim, 3))},
                "var u1 (lin)": lin[0, 0],
                "var u2 (lin)": lin[1, 1],
                "cov u1u2 (lin)": lin[0, 1],
                "var u1 (MC)": mc[0, 0],
                "var u2 (MC)": mc[1, 1],
                "cov u1u2 (MC)": mc[0, 1],
                "difference %": 100 * gap,
                "max |diff| / SE": z,
                "mean shift / sd": shift,
            }
        )
        if z > 4 and gap > 0.05:
            bends.append(index)
    st.dataframe(pd.DataFrame(rows).round(5), hide_index=True, key="unc_table")
    st.caption(
        f"Latent means and covariances in flow coordinates u(T). Linearised: {linear.stats.describe()}. "
        f"Monte Carlo: {samples.stats.describe()}. 'difference %' is |C_lin - C_MC| / |C_MC| (Frobenius); "
        "'max |diff| / SE' compares it with the Monte-Carlo standard error."
    )
    if bends:
        st.warning(
            f"At point(s) {', '.join(map(str, bends))} the two methods disagree beyond the Monte-Carlo "
            "error: the flow bends over the ellipse, so the linearised ellipse is only a local "
            "approximation there; trust the cloud."
        )
    else:
        st.success(
            "The linearised ellipses agree with the Monte-Carlo clouds within their standard errors: the "
            "flow is nearly linear over these ellipses."
        )

st.subheader("The other direction: a latent credible region and its pre-image")
if dim != 2:
    st.info("The pre-image picture is drawn for 2-D data; choose a 2-D dataset on the Data page.")
    st.stop()
c1, c2, c3 = st.columns(3)
v_end = np.sqrt(schedule.latent_variance())
unc["centre"][0] = c1.number_input(
    "Centre u1",
    -4.0,
    4.0,
    float(unc["centre"][0]),
    0.1,
    key="unc_c1",
    help="Latent centre of the credible region (flow coordinates at t = T).",
)
unc["centre"][1] = c2.number_input(
    "Centre u2",
    -4.0,
    4.0,
    float(unc["centre"][1]),
    0.1,
    key="unc_c2",
    help="Second latent coordinate of the centre.",
)
unc["radius"] = c3.slider(
    "Mahalanobis radius r",
    0.5,
    3.5,
    float(unc["radius"]),
    0.5,
    key="unc_radius",
    help="The region is |(u - centre) / sqrt(v(T))| <= r; centred at 0 it holds "
    "1 - exp(-r^2/2) of the latent Gaussian.",
)
nominal = geometry.chi2_coverage(unc["radius"], 2)
region_params = ("unc_region", active.key, tuple(unc["centre"]), unc["radius"])
region = ss.results.get(region_params)
if region is None and st.button(
    "Map the region back to data",
    key="unc_back",
    help="Decode the circle's boundary (an ordered polygon) into data space.",
):
    with st.spinner("Decoding the boundary..."):
        try:
            region = region_preimage(active.key, flow, tuple(unc["centre"]), float(unc["radius"]), background)
            ss.results = {**dict(list(ss.results.items())[-7:]), region_params: region}
        except ValueError as err:
            st.error(str(err))
if region is not None:
    ring, data_ring, encoded = region
    st.plotly_chart(
        viz.uncertainty.preimage_figure(ring, data_ring, encoded, background, axis_titles,
                                        ("Latent space: credible region", "Data space: its pre-image")),
        key="unc_region",
    )
    st.caption(
        f"Latent sd sqrt(v(T)) = ({v_end[0]:.3g}, {v_end[1]:.3g}). Centred at 0, this region holds "
        f"{100 * nominal:.1f} % of the latent Gaussian, so (for a calibrated flow) {100 * nominal:.1f} % "
        "of generated data falls inside the red region on the right: check it on the Calibration page."
    )
