"""Calibration page: the coverage experiment of docs/MATH.md section 9, run in the background with Cancel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import inflow_core as ic
from explorer import adapters, jobs, layout, state
from explorer.navigation import page_defaults
from explorer.text import for_figure, plain
from inflow_core import viz

TEST_SIZES = [1000, 2000, 5000, 10000, 20000]
BOUNDARY_SIZES = [50, 100, 200, 400]
SHOWN_TEST_POINTS = 3000
MAX_DATA = 2000  # data points encoded for the "data_inside" column
SIZES_3D = (1000, 100)  # test points and sphere vertices a fresh 3-D selection starts with


layout.page_setup("calibration")
st.title("Calibration")
layout.intro(
    "Is the latent uncertainty honest? Draw many test points from the latent Gaussian and a few circles "
    "(Mahalanobis spheres) around its centre: a circle of radius r holds a known share of the points "
    "(the **nominal** coverage, e.g. 86.5 % for r = 2 in 2-D). Now send the points **and** the circles "
    "through the flow to data space (generation) and back (round trip), and count again. The circles "
    "travel as connected polygons (meshes in 3-D) — nothing is refitted — and are refined where the flow "
    "stretches them. Because points and circles ride the same invertible map, these counts can only change "
    "where the map folds (a too-coarse integrator) or a circle is drawn too coarsely. The second question "
    "is whether the flow really sends the **data** to the latent Gaussian: the share of encoded data "
    "inside each circle should match the nominal one. That is where an inexact **score** (a learned "
    "network instead of the exact denoiser) and integration error show. Compare the flows below."
)

s = state.session()
data, basis, schedule = state.selection()
exact = adapters.exact_flow(data.X, basis, schedule, **s.solver.options())
dim = basis.dim
cal = state.settings("calibration")
# 3-D: spheres are icosphere meshes refined through the flow, several times the work of 2-D circles. Fresh
# 3-D data starts at 1,000 test points and 100 mesh vertices, so a run with defaults ends within a minute.
if cal["sized_for"] != data.key:
    cal["sized_for"] = data.key
    defaults = page_defaults()["calibration"]
    if dim == 3 and (cal["n_test"], cal["n_boundary"]) == (defaults["n_test"], defaults["n_boundary"]):
        cal["n_test"], cal["n_boundary"] = SIZES_3D

model_ok = s.model is not None and state.model_mismatch(s.model, data, schedule) is None
options = {"exact": "exact empirical flow (dopri5)", "coarse": "exact flow, coarse solver (Euler)"}
if model_ok:
    # Flow names stay raw (the multiselect and the table show text as it is); each sink escapes them:
    # markdown (messages, radio labels) with ``plain``, figure legends with ``for_figure``.
    options["model"] = f"learned model ({viz.style.one_line(s.model.source, 120)})"
cal["choices"] = [c for c in cal["choices"] if c in options] or ["exact"]
c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
c1.multiselect(
    "Flows to compare",
    list(options),
    format_func=options.get,
    **state.bind("calibration", "choices"),
    help="Exact: the empirical denoiser (no score error) with the adaptive solver. Coarse: the same "
    "field with fixed Euler steps (integration error only). Learned: a trained or loaded model matching "
    "this data and schedule (score error).",
)
c2.select_slider(
    "Euler step",
    [0.05, 0.1, 0.25, 0.5, 1.0],
    **state.bind("calibration", "step"),
    help=f"Step size of the coarse solver, in units of flow time (T = {schedule.t_max:.2f}).",
)
c3.select_slider(
    "Test points",
    TEST_SIZES,
    **state.bind("calibration", "n_test", TEST_SIZES),
    help="Latent test points; the paper used 20,000. The standard error of a coverage is about "
    "sqrt(p(1-p)/n): 0.35 points at 20,000, 1.1 at 2,000, 1.6 at 1,000 (where 3-D data starts: its "
    "sphere meshes cost several times a circle).",
)
c4.select_slider(
    "Boundary points",
    BOUNDARY_SIZES,
    **state.bind("calibration", "n_boundary", BOUNDARY_SIZES),
    help="Starting points per circle (2-D) or sphere mesh vertices (3-D, rounded up to an icosphere); "
    "more are inserted where the flow bends an edge.",
)
if not model_ok:
    st.caption(
        "No learned model for this data and schedule is loaded: train or load one on the Train / Load "
        "page to compare it here."
    )


def chosen_flows() -> dict:
    flows = {}
    for choice in cal["choices"]:
        if choice == "exact":
            flows[options["exact"]] = exact
        elif choice == "coarse":
            flows[f"Euler, step {cal['step']:g}"] = ic.InflationaryFlow(
                basis, schedule, exact.denoiser, method="euler", step_size=float(cal["step"])
            )
        elif choice == "model":
            flows[options["model"]] = s.model.flow.with_solver(**s.solver.options())
    return flows


job = s.jobs.get("coverage")
busy = job is not None and job.active
# What a run was for: results computed for other data, schedule, solver or flows are labelled as such.
flows_text = ", ".join(plain(options[c]) for c in cal["choices"])
drawn = "" if s.data.dataset == "upload" else f" (n = {s.data.n:,}, seed {s.data.seed})"
context = (
    f"{plain(data.title)}{drawn}, {schedule.describe()}, solver tolerance {s.solver.tol:g}, flows: "
    f"{flows_text}"
)
if st.button(
    "Run the coverage experiment",
    type="primary",
    key="cal_run",
    disabled=busy or not cal["choices"],
    help="Integrates the test points and circles through each chosen flow in the background.",
):
    rng = np.random.default_rng(0)
    subset = data.X[np.sort(rng.choice(len(data.X), min(MAX_DATA, len(data.X)), replace=False))]
    s.jobs["coverage"] = jobs.start_coverage(
        chosen_flows(), int(cal["n_test"]), int(cal["n_boundary"]), subset
    )
    cal["ran_for"] = context
    busy = True


layout.job_progress(
    "coverage",
    "Press **Run the coverage experiment**. With the exact flow of 2,000 points, "
    "2,000 test points take about half a minute.",
    "Stop after the current chunk of points; the flows that finished are kept.",
)

job = s.jobs.get("coverage")
if job is not None and not job.active:
    results = job.detail  # the flows that finished, also after Cancel
    if cal.get("ran_for") != context:
        st.warning(
            f"These results were computed for {cal.get('ran_for')}. The selection has changed since: "
            "press **Run the coverage experiment** for the current one."
        )
    if job.cancelled:
        st.warning("Cancelled; the flows that finished are shown.")
    elif job.error:
        st.error(job.error)
    if results:
        tables = {for_figure(name): res.table for name, res in results.items()}
        c1, c2 = st.columns(2)
        c1.plotly_chart(
            viz.calibration.reliability_figure(tables, "Reliability diagram", height=layout.fit(440)),
            key="cal_reliability",
        )
        c2.plotly_chart(
            viz.calibration.residual_figure(tables, "Coverage error per radius", height=layout.fit(440)),
            key="cal_residual",
        )
        rows = []
        for name, res in results.items():
            t = res.table
            rows.append(
                {
                    "flow": name,
                    "max |generation - initial|": np.nanmax(np.abs(t.after_generation - t.initial))
                    if dim <= 3
                    else np.nan,
                    "max |round trip - initial|": np.max(np.abs(t.after_round_trip - t.initial)),
                    "field evaluations": res.nfe,
                    "seconds": round(res.seconds, 1),
                }
            )
        st.dataframe(pd.DataFrame(rows).round(2), hide_index=True, key="cal_summary")
        name = st.radio(
            "Table and boundaries of",
            list(results),
            format_func=plain,
            horizontal=True,
            key="cal_pick",
            help="Which flow's full table and moved boundaries to show.",
        )
        res = results[name]
        st.dataframe(res.table.round(2), hide_index=True, key="cal_table")
        st.caption(
            "Percent. initial: inside the latent circle; after_generation: inside the moved circle in data "
            "space; after_round_trip: inside it again after encoding back. *_se: Monte-Carlo standard "
            "errors (test-point sampling). membership_kept: share of test points whose inside/outside "
            "status in the latent ball survives the round trip. boundary_points: after refinement. "
            "data_inside: encoded data points inside each latent ball (compare with nominal)."
        )
        if res.note:
            st.info(res.note)
        if dim == 2 and res.boundaries:
            shown = res.test_generated[:SHOWN_TEST_POINTS]
            rings = [exact.from_flow(b.generated) for b in res.boundaries]
            st.plotly_chart(
                viz.calibration.boundaries_figure(
                    rings,
                    [b.radius for b in res.boundaries],
                    exact.from_flow(shown),
                    ["x1", "x2"],
                    "Latent circles after generation",
                ),
                key="cal_boundaries",
            )
            st.caption(
                "Grey: generated test points (a subsample). Lines: each latent circle after generation, "
                "drawn through its carried, refined boundary points. A calibrated flow keeps the same "
                "share of grey points inside each line as inside the latent circle."
            )
        elif dim == 3:
            st.caption("3-D: the spheres travel as icosphere meshes; their inside test is a winding number.")
