"""Uncertainty page: error ellipses carried by the flow into the latent space, and latent regions back."""

import numpy as np
import pandas as pd
import streamlit as st

import inflow_core as ic
from explorer import adapters, layout, state
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
layout.intro(
    "A measurement is never exact: around each data point sits a small cloud of places it could really be, "
    "described here by a Gaussian error ellipse. Because an inflationary flow is a smooth, invertible map, "
    "that ellipse is carried into the latent space, where you can read off how uncertain the point's latent "
    "code is. Two ways to carry it: the **linearised** ellipse (the flow's local stretch, its Jacobian, "
    "applied to the ellipse) and **Monte Carlo** (push many random draws through the flow and look at the "
    "cloud). Where the map is nearly straight over the ellipse they agree; where it bends, the cloud curves "
    "away from the ellipse, and the page says so. Further down, the other direction: a credible region in "
    "the latent space and the data-space region it comes from."
)

data, basis, schedule = state.selection()
active = layout.active_flow_or_stop(data, basis, schedule)
flow, dim, X = active.flow, basis.dim, data.X
if dim < 2:
    st.error("Uncertainty ellipses need data with at least two features.")
    st.stop()
axis_titles = [f"x{i + 1}" for i in range(2)]
spread = float(np.mean(X[:, :2].std(axis=0)))
unc = state.settings("uncertainty")
# Data-dependent defaults: three points spread over the data, errors a few percent of its spread.
if unc["selected"] is None or max(unc["selected"]) >= len(X):
    unc["selected"] = [int(i) for i in np.linspace(0, len(X) - 1, 3).astype(int)]
for name, share in (("s1", 0.08), ("s2", 0.04)):
    if unc[name] is None or not 1e-4 <= unc[name] <= 10 * spread:
        unc[name] = round(share * spread, 3)


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


left, right = st.columns([1, 1] if layout.presenting() else [3, 2])  # presenting: the animation on the right
with left:
    # The chart's selection from the last click or lasso is read before the chart is drawn, so the drawn
    # highlights are the new picks at once (not the previous ones until the next run).
    chosen = picked_indices(st.session_state.get("unc_pick"))
    if chosen:
        if len(chosen) > MAX_POINTS:
            st.caption(
                f"{len(chosen)} points selected; using the first {MAX_POINTS} (the Monte-Carlo cloud "
                "grows with every point)."
            )
        unc["selected"] = chosen[:MAX_POINTS]
    st.plotly_chart(
        viz.uncertainty.pick_figure(
            X,
            [0, 1],
            np.array(unc["selected"]),
            axis_titles,
            title="Click a point; lasso for several",
        ),
        key="unc_pick",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
    )
    st.caption(
        f"Selected points: {', '.join(map(str, unc['selected']))}"
        + (f". D = {dim}: the picture shows the first two features; all D are propagated." if dim > 2 else "")
    )
with right:
    kind = st.radio(
        "Uncertainty shape",
        list(KINDS),
        format_func=KINDS.get,
        **state.bind("uncertainty", "kind", list(KINDS)),
        help="Isotropic: the same error in every direction. Per axis: different errors along "
        "x1 and x2. Rotated: an ellipse with two sigmas turned by an angle.",
    )
    c1, c2 = st.columns(2)
    c1.number_input(
        "sigma 1 (data units)",
        min_value=1e-4,
        max_value=10 * spread,
        format="%.4f",
        **state.bind("uncertainty", "s1"),
        help="Standard deviation of the measurement error (along x1, or the ellipse's first axis).",
    )
    if kind != "isotropic":
        c2.number_input(
            "sigma 2 (data units)",
            min_value=1e-4,
            max_value=10 * spread,
            format="%.4f",
            **state.bind("uncertainty", "s2"),
            help="Standard deviation along x2 (or along the ellipse's second axis).",
        )
    if kind == "rotated":
        st.slider(
            "Angle (degrees)",
            -90.0,
            90.0,
            step=5.0,
            **state.bind("uncertainty", "angle"),
            help="Rotation of the ellipse's first axis from the x1 axis.",
        )
    st.slider(
        "Confidence level of the drawn ellipses",
        0.5,
        0.99,
        step=0.01,
        **state.bind("uncertainty", "level"),
        help="The ellipse drawn contains this probability of the Gaussian "
        "(chi-square quantile with 2 degrees of freedom).",
    )
    c1, c2 = st.columns(2)
    c1.slider(
        "Monte-Carlo samples per point",
        50,
        1000,
        step=50,
        **state.bind("uncertainty", "samples"),
        help="Random draws pushed through the flow per point. More "
        "samples, smaller standard errors, longer wait.",
    )
    c2.slider(
        "Frames",
        10,
        60,
        step=5,
        **state.bind("uncertainty", "frames"),
        help="Animation frames from t = 0 (data) to t = T (latent).",
    )

points = X[np.array(unc["selected"], dtype=int)]
cov = ic.uncertainty.error_covariance(dim, unc["kind"], unc["s1"], unc["s2"], unc["angle"])
radius = geometry.chi2_radius(unc["level"], 2)
rng = np.random.default_rng(0)
background = X[np.sort(rng.choice(len(X), min(BACKGROUND, len(X)), replace=False))]
params = ("uncertainty", active.key, points.tobytes(), cov.tobytes(), unc["samples"], unc["frames"])
result = state.result(params)
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
                result = adapters.propagate_both(
                    active.key,
                    flow,
                    points,
                    cov,
                    int(unc["samples"]),
                    int(unc["frames"]),
                    data.key,
                    background,
                )
            except ValueError as err:
                st.error(str(err))
        if result is not None:
            state.keep_result(params, result)
            st.rerun()

if result is not None:
    linear, samples, moving, stopped = result
    fig = viz.uncertainty.propagation_animation(
        linear.times,
        linear.mean_path[..., :2],
        linear.cov_path[..., :2, :2],
        None if samples is None else samples.sample_path[..., :2],
        radius,
        moving[..., :2],
        title=f"Ellipses through the flow ({unc['level']:.0%} level)",
        height=layout.fit(620),
    )
    # On a projector the controls are hidden: the animation takes their place beside the data.
    (right if layout.presenting() else st).plotly_chart(fig, key="unc_animation")
    check = None if samples is None else ic.uncertainty.compare_linearisation(linear, samples)
    rows = []
    for k, index in enumerate(unc["selected"]):
        lin = linear.cov[k]
        row = {
            "point": index,
            **{f"mean u{i + 1}": linear.mean[k, i] for i in range(min(dim, 3))},
            "var u1 (lin)": lin[0, 0],
            "var u2 (lin)": lin[1, 1],
            "cov u1u2 (lin)": lin[0, 1],
        }
        if check is not None:
            mc = samples.cov[k]
            row |= {
                "var u1 (MC)": mc[0, 0],
                "var u2 (MC)": mc[1, 1],
                "cov u1u2 (MC)": mc[0, 1],
                "difference %": 100 * check.relative_difference[k],
                "max |diff| / SE": check.max_z[k],
                "mean shift / sd": check.mean_shift[k],
                "verdict": "agree" if check.agrees[k] else "bends",
            }
        rows.append(row)
    st.dataframe(pd.DataFrame(rows).round(5), hide_index=True, key="unc_table")
    if check is None:
        st.caption(
            f"Latent means and covariances in flow coordinates u(T). Linearised: {linear.stats.describe()}."
        )
        why = (
            f"Draws around a point fall between the data points, and with the {active.label} of "
            f"{len(X):,} points in D = {dim} they lie far from every point compared with the small noise "
            "near t = 0, where the exact flow of a finite sample switches abruptly between points: its "
            "field is very stiff there (docs/MATH.md sections 4 and 5). A learned model (Train / Load) is "
            "smooth between the points; a 2-D dataset shows both methods. "
            if active.exact
            else ""  # a learned field is smooth: the machine was busy, or the model diverges there
        )
        st.warning(
            f"Only the linearised ellipses are shown: the Monte-Carlo cloud's solve was stopped after "
            f"{adapters.MONTE_CARLO_SECONDS:g} s. {why}The solver said: {stopped}"
        )
    else:
        st.caption(
            f"Latent means and covariances in flow coordinates u(T). Linearised: {linear.stats.describe()}. "
            f"Monte Carlo: {samples.stats.describe()}. 'difference %' is |C_lin - C_MC| / |C_MC| "
            "(Frobenius); 'max |diff| / SE' compares the largest entry difference with its Monte-Carlo "
            f"standard error. A point 'bends' when its difference is beyond {check.z_limit:g} standard "
            f"errors and above {100 * check.rel_limit:g} %."
        )
        bends = [index for index, agrees in zip(unc["selected"], check.agrees, strict=True) if not agrees]
        if bends:
            st.warning(
                f"At point(s) {', '.join(map(str, bends))} the two methods disagree beyond the Monte-Carlo "
                "error: the flow bends over the ellipse, so the linearised ellipse is only a local "
                "approximation there; trust the cloud."
            )
        else:
            st.success(
                "The linearised ellipses agree with the Monte-Carlo clouds: no difference is both beyond "
                f"{check.z_limit:g} standard errors and above {100 * check.rel_limit:g} %, so the flow is "
                "nearly linear over these ellipses."
                + (
                    " The Monte-Carlo error is large here: more samples per point sharpen this check."
                    if check.relative_difference.max() > 0.1
                    else ""
                )
            )

st.subheader("The other direction: a latent credible region and its pre-image")
if dim != 2:
    st.info("The pre-image picture is drawn for 2-D data; choose a 2-D dataset on the Data page.")
    st.stop()
c1, c2, c3 = st.columns(3)
v_end = np.sqrt(schedule.latent_variance())
c1.number_input(
    "Centre u1",
    -4.0,
    4.0,
    step=0.1,
    **state.bind("uncertainty", "c1"),
    help="Latent centre of the credible region (flow coordinates at t = T).",
)
c2.number_input(
    "Centre u2",
    -4.0,
    4.0,
    step=0.1,
    **state.bind("uncertainty", "c2"),
    help="Second latent coordinate of the centre.",
)
c3.slider(
    "Mahalanobis radius r",
    0.5,
    3.5,
    step=0.5,
    **state.bind("uncertainty", "radius"),
    help="The region is |(u - centre) / sqrt(v(T))| <= r; centred at 0 it holds 1 - exp(-r^2/2) of the "
    "latent Gaussian.",
)
centre = (float(unc["c1"]), float(unc["c2"]))
nominal = geometry.chi2_coverage(unc["radius"], 2)
region_params = ("uncertainty_region", active.key, centre, unc["radius"])
region = state.result(region_params)
if region is None and st.button(
    "Map the region back to data",
    key="unc_back",
    help="Decode the circle's boundary (an ordered polygon) into data space.",
):
    with st.spinner("Decoding the boundary..."):
        try:
            region = adapters.region_preimage(
                active.key, flow, centre, float(unc["radius"]), data.key, background
            )
            state.keep_result(region_params, region)
        except ValueError as err:
            st.error(str(err))
if region is not None:
    ring, data_ring, encoded = region
    st.plotly_chart(
        viz.uncertainty.preimage_figure(
            ring,
            data_ring,
            encoded,
            background,
            axis_titles,
            ("Latent space: credible region", "Data space: its pre-image"),
        ),
        key="unc_region",
    )
    st.caption(
        f"Latent sd sqrt(v(T)) = ({v_end[0]:.3g}, {v_end[1]:.3g}). Centred at 0, this region holds "
        f"{100 * nominal:.1f} % of the latent Gaussian, so (for a calibrated flow) {100 * nominal:.1f} % "
        "of generated data falls inside the red region on the right: check it on the Calibration page."
    )
