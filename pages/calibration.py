"""Calibration page: the coverage experiment of docs/MATH.md section 9, run in the background with Cancel."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st
import torch

import inflow_core as ic
from explorer import adapters, layout, state
from inflow_core import calibration
from inflow_core import uncertainty_plots as uplots

TEST_SIZES = [1000, 2000, 5000, 10000, 20000]
BOUNDARY_SIZES = [50, 100, 200, 400]
SHOWN_TEST_POINTS = 3000
MAX_DATA = 2000  # data points encoded for the "data_inside" column
CAL_DEFAULTS = {"choices": ["exact", "coarse"], "step": 0.5, "n_test": 2000, "n_boundary": 200}


@dataclass
class CoverageJob:
    """Coverage runs for several flows in a worker thread that never calls Streamlit."""

    flows: dict
    n_test: int
    n_boundary: int
    data: np.ndarray
    stop_event: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    message: str = "starting"
    results: dict = field(default_factory=dict)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def run(self) -> None:
        torch.set_num_threads(1)  # leave a core for the other users of the server
        try:
            for k, (name, flow) in enumerate(self.flows.items()):

                def report(fraction: float, message: str, k=k, name=name) -> None:
                    self.fraction = (k + fraction) / len(self.flows)
                    self.message = f"{name}: {message}"

                self.results[name] = calibration.coverage_experiment(
                    flow,
                    n_test=self.n_test,
                    n_boundary=self.n_boundary,
                    progress=report,
                    stop_event=self.stop_event,
                    data=self.data,
                )
        except calibration.CalibrationCancelled:
            self.error = "Cancelled; the flows that finished are shown."
        except ValueError as err:
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - the worker must always report back to the page
            self.error = f"The coverage run failed unexpectedly: {type(err).__name__}: {err}"


layout.page_setup("calibration")
st.title("Calibration")
st.markdown(
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

ss = st.session_state
data, basis, schedule = state.selection()
exact = adapters.exact_flow(data.X, basis, schedule, ss.solver["tol"], ss.solver["method"])
dim = basis.dim
cal = ss.setdefault("cal", {})
for name, default in CAL_DEFAULTS.items():  # a lesson step may preset some of them
    cal.setdefault(name, default)

model_ok = ss.model is not None and state.model_mismatch(ss.model, data, schedule) is None
options = {"exact": "exact empirical flow (dopri5)", "coarse": "exact flow, coarse solver (Euler)"}
if model_ok:
    options["model"] = f"learned model ({ss.model['source']})"
cal["choices"] = [c for c in cal["choices"] if c in options] or ["exact"]
c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
cal["choices"] = c1.multiselect(
    "Flows to compare",
    list(options),
    default=cal["choices"],
    format_func=options.get,
    key="cal_choices",
    help="Exact: the empirical denoiser (no score error) with the adaptive solver. Coarse: the same "
    "field with fixed Euler steps (integration error only). Learned: a trained or loaded model matching "
    "this data and schedule (score error).",
)
cal["step"] = c2.select_slider(
    "Euler step",
    [0.05, 0.1, 0.25, 0.5, 1.0],
    value=cal["step"],
    key="cal_step",
    help=f"Step size of the coarse solver, in units of flow time (T = {schedule.t_max:.2f}).",
)
cal["n_test"] = c3.select_slider(
    "Test points",
    TEST_SIZES,
    value=cal["n_test"],
    key="cal_n_test",
    help="Latent test points; the paper used 20,000. The standard error of a coverage is about "
    "sqrt(p(1-p)/n): 0.35 points at 20,000, 1.1 at 2,000.",
)
cal["n_boundary"] = c4.select_slider(
    "Boundary points",
    BOUNDARY_SIZES,
    value=cal["n_boundary"],
    key="cal_n_boundary",
    help="Starting points per circle (2-D) or sphere mesh vertices (3-D, rounded up to an icosphere); "
    "more are inserted where the flow bends an edge.",
)
if not model_ok:
    st.caption(
        "No learned model for this data and schedule is loaded: train or load one on the Train / Load "
        "page to compare it here."
    )
if not ss.model and "model" in cal["choices"]:
    cal["choices"].remove("model")


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
            flows[options["model"]] = ss.model["flow"]
    return flows


job: CoverageJob | None = ss.get("cal_job")
busy = job is not None and job.running
if st.button(
    "Run the coverage experiment",
    type="primary",
    key="cal_run",
    disabled=busy or not cal["choices"],
    help="Integrates the test points and circles through each chosen flow in the background.",
):
    rng = np.random.default_rng(0)
    subset = data.X[np.sort(rng.choice(len(data.X), min(MAX_DATA, len(data.X)), replace=False))]
    job = CoverageJob(chosen_flows(), int(cal["n_test"]), int(cal["n_boundary"]), subset)
    job.thread = threading.Thread(target=job.run, name="inflow-coverage", daemon=True)
    job.thread.start()
    ss.cal_job = job
    busy = True


def job_panel() -> None:
    job = ss.get("cal_job")
    if job is None:
        st.info(
            "Press **Run the coverage experiment**. With the exact flow of 2,000 points, 2,000 test points "
            "take about half a minute."
        )
        return
    if job.running:
        st.progress(job.fraction, text=f"{job.message} ({time.monotonic() - job.started:.0f} s)")
        if st.button("Cancel", key="cal_cancel", help="Stop after the current chunk of points."):
            job.stop_event.set()
        return
    if ss.get("cal_shown") is not job:
        ss.cal_shown = job
        st.rerun()  # redraw the whole page with the finished results


st.fragment(job_panel, run_every=1.0 if busy else None)()

job = ss.get("cal_job")
if job is not None and not job.running:
    if job.error:
        (st.warning if job.error.startswith("Cancelled") else st.error)(job.error)
    if job.results:
        tables = {name: res.table for name, res in job.results.items()}
        c1, c2 = st.columns(2)
        c1.plotly_chart(uplots.reliability_figure(tables), key="cal_reliability")
        c2.plotly_chart(uplots.residual_figure(tables), key="cal_residual")
        rows = []
        for name, res in job.results.items():
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
            list(job.results),
            horizontal=True,
            key="cal_pick",
            help="Which flow's full table and moved boundaries to show.",
        )
        res = job.results[name]
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
                uplots.boundaries_figure(
                    rings, [b.radius for b in res.boundaries], exact.from_flow(shown), ["x1", "x2"]
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
