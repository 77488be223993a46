"""Inference page: Bayesian inference of mixture weights through the flow, and its simulation-based
calibration (docs/MATH.md section 11)."""

import numpy as np
import pandas as pd
import streamlit as st

import inflow_core as ic
from explorer import adapters, jobs, layout, state
from inflow_core import viz

SOLVERS = {"dopri5": "dopri5 at the page's tolerance", "euler": "Euler with a fixed number of steps"}
REPLICATES, EULER_STEPS = [50, 100, 200, 400], [2, 5, 10, 20, 50, 100]
METHODS = {
    "gibbs": "Gibbs (allocations, then Dirichlet)",
    "hmc": "HMC on free logits (4 chains)",
    "grid": "grid over the simplex (exact oracle)",
}

layout.page_setup("inference")
st.title("Inference")
layout.intro(
    "The point of a calibrated flow: infer something about data from their latent codes, and trust the "
    "answer. Here the latent space holds a mixture of three Gaussian components with unknown **weights** "
    "(the paper's example: a round one and two thin ones crossing at the centre). **Simulate** draws latent "
    "points with weights you choose and generates data from them with the flow; **Infer** encodes the data "
    "back and samples the posterior over the weights (the flow is invertible, so its Jacobian does not "
    "depend on the weights and cancels). Beside it, the posterior from the true latents: what a perfect "
    "flow would give. **Check calibration** repeats this hundreds of times with random true weights "
    "(simulation-based calibration): if flow and inference are exact, the rank of each true weight among "
    "its posterior draws is uniform, so the histograms stay inside the grey band. Make the solver coarse "
    "and watch calibration break."
)

s = state.session()
data, basis, schedule = state.selection()
active = layout.active_flow_or_stop(data, basis, schedule)
mine = state.settings("inference")
if basis.dim != 2:
    if st.button(
        "Use the two circles",
        key="inf_circles",
        help="Switch the data to the built-in two circles (2-D) with their recommended schedule.",
    ):
        state.set_data(state.DataSpec.default_for("circles"))
        st.rerun()
    st.info(
        f"The latent mixture is the paper's 2-D example; the current data has D = {basis.dim}. Choose a "
        "2-D dataset (circles, moons, sine) on the Data page."
    )
    st.stop()
mixture = ic.inference.LatentMixture.paper_preset()

# ------------------------------------------------------------------ the simulated data set
c1, c2, c3, c4 = st.columns(4)
c1.number_input(
    "Weight w1 (round)",
    0.0,
    1.0,
    step=0.05,
    format="%.3f",
    **state.bind("inference", "w1"),
    help="Weight of the round component N(0, 0.75²). The three weights must sum to 1.",
)
c2.number_input(
    "Weight w2 (thin, along z2)",
    0.0,
    1.0,
    step=0.05,
    format="%.3f",
    **state.bind("inference", "w2"),
    help="Weight of the component thin in z1 (sd 0.1), long in z2.",
)
c3.number_input(
    "Weight w3 (thin, along z1)",
    0.0,
    1.0,
    step=0.05,
    format="%.3f",
    **state.bind("inference", "w3"),
    help="Weight of the component long in z1, thin in z2.",
)
if c4.button("Paper's weights", key="inf_preset", help="Set the weights to the paper's (0.5, 0.25, 0.25)."):
    mine.update(w1=0.5, w2=0.25, w3=0.25)
    st.rerun()
c1, c2, c3 = st.columns(3)
c1.number_input(
    "Points n",
    10,
    20_000,
    step=100,
    **state.bind("inference", "n"),
    help="How many data points to simulate and infer from. More points, narrower posterior.",
)
c2.number_input(
    "Observation noise variance (data units)",
    0.0,
    1.0,
    step=0.005,
    format="%.4f",
    **state.bind("inference", "noise"),
    help="Gaussian noise added to the generated data (the released code used 0.01). Inference "
    "then adds each point's linearised latent covariance to the components: an "
    "approximation that the calibration check below judges.",
)
c3.selectbox(
    "Posterior sampler",
    list(METHODS),
    format_func=METHODS.get,
    **state.bind("inference", "method", list(METHODS)),
    help="Gibbs is fast and exact in the limit; HMC is the paper's choice (R-hat and effective "
    "sample size reported); the grid evaluates the exact posterior and samples it.",
)
weights = np.array([mine["w1"], mine["w2"], mine["w3"]], dtype=float)
problem = (
    None
    if abs(weights.sum() - 1) <= 1e-6
    else f"The weights sum to {weights.sum():.3f}; make them sum to 1 (e.g. the paper's 0.5, 0.25, 0.25)."
)
if problem:
    st.error(problem + " The last results are kept.")
solver = s.solver.options()

sim_key = ("inference_sim", active.key, tuple(weights), mine["n"], mine["noise"])
if st.button(
    "Simulate",
    type="primary",
    key="inf_simulate",
    disabled=bool(problem),
    help="Draw latents from the mixture with these weights and generate data with the flow.",
):
    try:
        mine["simulated"] = sim_key
        state.keep_result(
            sim_key,
            adapters.simulate(active.key, active.flow, tuple(weights), int(mine["n"]), float(mine["noise"])),
        )
    except ValueError as err:
        st.error(str(err))
simulation = state.result(mine["simulated"]) if mine["simulated"] else None
if simulation is not None:
    X, comp, z, sim_stats = simulation
    st.plotly_chart(
        viz.inference.simulation_figure(
            X, comp, z, height=layout.fit(420), title=f"{len(X):,} simulated points"
        ),
        key="inf_sim",
    )
    st.caption(f"Exact: the latent draws. The {active.label} generated the data: {sim_stats.describe()}.")

    # -------------------------------------------------------------- the posterior
    if st.button(
        "Infer",
        type="primary",
        key="inf_infer",
        help="Encode the simulated data and sample the posterior over the weights.",
    ):
        try:
            mine["inferred"] = (*mine["simulated"], mine["method"])  # of the data shown, not the widgets
            simulated_noise = float(mine["simulated"][4])
            state.keep_result(
                mine["inferred"],
                adapters.posteriors(
                    active.key, active.flow, X, z, simulated_noise, mine["method"], mine["simulated"]
                ),
            )
        except ValueError as err:
            st.error(str(err))
    inferred = mine["inferred"]
    posts = state.result(inferred) if inferred and inferred[:-1] == mine["simulated"] else None
    if posts is not None:
        from_flow, from_truth = posts
        st.plotly_chart(
            viz.inference.posterior_figure(
                {
                    "posterior from the encoded data": from_flow.draws,
                    "posterior from the true latents": from_truth.draws,
                },
                weights,
                height=layout.fit(420),
                title="Posterior over (w1, w2); w3 = 1 - w1 - w2",
            ),
            key="inf_posterior",
        )
        rows = []
        for name, post in (("encoded data", from_flow), ("true latents", from_truth)):
            for k in range(3):
                rows.append(
                    {
                        "from": name,
                        "weight": f"w{k + 1}",
                        "true": weights[k],
                        "mean": post.mean[k],
                        "95 % low": post.interval95[k, 0],
                        "95 % high": post.interval95[k, 1],
                        "R-hat": None if post.rhat is None else post.rhat[k],
                        "ESS": None if post.ess is None else post.ess[k],
                    }
                )
        st.dataframe(pd.DataFrame(rows).round(4), hide_index=True, key="inf_table")
        cost = from_flow.encode_stats.describe() if from_flow.encode_stats else "no encoding"
        st.caption(
            f"Exact: the sampler's target ({METHODS[from_flow.method]}), {from_flow.seconds:.2f} s. "
            f"Approximated: the latent codes, by the {active.label} ({cost})"
            + (", and the observation noise by linearisation." if inferred[4] > 0 else ".")
        )

# ------------------------------------------------------------------ simulation-based calibration
st.subheader("Check calibration (simulation-based calibration)")
c1, c2, c3, c4 = st.columns(4)
c1.select_slider(
    "Replicates",
    REPLICATES,
    **state.bind("inference", "replicates", REPLICATES),
    help="How many simulated data sets, each with its own true weights drawn from the prior.",
)
c2.select_slider(
    "Points per replicate",
    [100, 200, 500, 1000],
    **state.bind("inference", "sbc_n", [100, 200, 500, 1000]),
    help="Data points in each simulated data set.",
)
c3.radio(
    "Solver",
    list(SOLVERS),
    format_func=SOLVERS.get,
    **state.bind("inference", "solver", list(SOLVERS)),
    help="dopri5 keeps integration error below the tolerance; Euler with few steps does not, and "
    "calibration breaks where the round trip errs more than the thinnest component is wide.",
)
c4.select_slider(
    "Euler steps",
    EULER_STEPS,
    **state.bind("inference", "euler_steps", EULER_STEPS),
    disabled=mine["solver"] != "euler",
    help="Fixed steps from 0 to T for the Euler solver.",
)
job = s.jobs.get("sbc")
busy = job is not None and job.active
sbc_solver = (
    solver
    if mine["solver"] == "dopri5"
    else {"method": "euler", "step_size": schedule.t_max / int(mine["euler_steps"])}
)
if st.button(
    "Check calibration",
    type="primary",
    key="inf_sbc",
    disabled=busy,
    help="Run SBC in the background (progress below; Cancel stops it).",
):
    try:
        s.jobs["sbc"] = jobs.start_sbc(
            active.flow,
            mixture,
            int(mine["replicates"]),
            int(mine["sbc_n"]),
            float(mine["noise"]),
            sbc_solver,
        )
        mine["sbc_for"] = f"{active.name}, {schedule.describe()}, {SOLVERS[mine['solver']]}"
        busy = True
    except ValueError as err:
        st.error(str(err))


layout.job_progress(
    "sbc",
    "Press **Check calibration**. With a shipped network, 200 replicates of 500 "
    "points take well under a minute; the exact flow of the data is slower.",
    "Stop the calibration run.",
)
job = s.jobs.get("sbc")
if job is not None and not job.active:
    if job.error:
        (st.warning if job.cancelled else st.error)(job.error)
    elif job.result is not None:
        res = job.result
        edges, counts = res.histogram()
        st.plotly_chart(
            viz.inference.rank_histograms(
                edges,
                counts,
                res.hist_band,
                res.p_values,
                height=layout.fit(320),
                title=f"Ranks of the true weights ({mine['sbc_for']})",
            ),
            key="inf_sbc_hist",
        )
        verdict = "calibrated" if res.p_values.min() > 0.01 else "NOT calibrated"
        st.caption(
            f"{len(res.ranks)} replicates, {res.draws} posterior draws each, {res.bins} bins; "
            f"chi-square uniformity p-values {', '.join(f'{p:.3g}' for p in res.p_values)}: {verdict} "
            "at the 1 % "
            f"level. Grey: the 99 % band of a bin's count. Cost: {res.nfe:,} field evaluations, "
            f"{res.seconds:.1f} s. Exact: the sampler; approximated: the flow's generation and "
            "encoding (and the noise linearisation)."
        )
