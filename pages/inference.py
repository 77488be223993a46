"""Inference page: Bayesian inference of mixture weights through the flow, and its simulation-based
calibration (docs/MATH.md section 11)."""

import numpy as np
import pandas as pd
import streamlit as st

import inflow_core as ic
from explorer import adapters, jobs, layout, state
from inflow_core import viz

N_RANGE, NOISE_RANGE = (10, 20_000), (0.0, 1.0)  # simulated points, observation noise variance
MAP_DEPTH = 12.0  # nats of log p the map's colours span
GRIDS = [0, 20, 30, 40, 60, 80]  # points per side of the density map; 0: auto (adapters.AUTO_GRID)
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


def likelihood_section() -> None:
    """Exact log-likelihood: the flow's density on a grid over 2-D data, and the held-out NLL of fresh
    points against a Gaussian fit (docs/MATH.md 12)."""
    st.subheader("Exact log-likelihood")
    held = adapters.held_out_points(data.info)
    two_d = basis.dim == 2
    auto = adapters.AUTO_GRID["exact" if active.exact else "learned"]
    if not two_d:
        st.caption(
            f"The density map is drawn for 2-D data (this data has D = {basis.dim}); the held-out "
            "log-likelihood below works in any dimension."
        )
    if held is None:
        st.caption(
            "No held-out log-likelihood for this data: the flow was built or trained on all of these "
            "points (an upload, a drawing, or the fixed digits set), and its log-likelihood on points it "
            "has seen would flatter it (the exact flow memorises them)."
        )
        if not two_d:
            return
    c1, c2 = st.columns([2, 1])
    if two_d:
        c1.select_slider(
            "Density map: grid points per side",
            GRIDS,
            format_func=lambda g: f"auto ({auto} × {auto})" if g == 0 else f"{g} × {g}",
            **state.bind("inference", "grid", GRIDS),
            help="Auto: 60 × 60 for the exact flow, whose density is a closed-form kernel sum (under a "
            "second), and 30 × 30 for a learned network, whose density takes an ODE solve per grid point "
            "(for the shipped circles network on one core: about 6 s at 30 × 30, 30 s at 60 × 60). A "
            "finer grid resolves narrow peaks better, so its integral is closer to 1.",
        )
    grid = (int(mine["grid"]) or auto) if two_d else 0
    key = ("inference_density", active.key, data.key, held[0] if held else None, grid)
    if c2.button(
        "Compute the log-likelihood",
        type="primary",
        key="inf_density",
        help="Evaluate log p(x) of the active flow"
        + (" on the grid over the data (padded by 10 %)" if two_d else "")
        + (f" and on {adapters.HELD_OUT_N} fresh points from the same dataset (next seed)" if held else "")
        + f", at the solver tolerance of the sidebar ({s.solver.tol:g}).",
    ):
        try:
            result = adapters.log_likelihood(
                active.key,
                active.flow,
                active.exact,
                data.key,
                data.X,
                held[0] if held else None,
                held[1] if held else None,
                grid,
            )
            mine["density"] = key
            state.keep_result(key, result)
        except ValueError as err:
            st.error(str(err) + " The last result is kept.")
    shown = state.result(mine["density"]) if mine["density"] == key else None
    if shown is None:
        st.caption(
            f"Press **Compute the log-likelihood** for the {active.label}: its density log p(x), "
            "which the flow gives exactly (an invertible map: change of variables)."
        )
        return
    left, right = st.columns([3, 2]) if shown.log_p is not None else (None, st.container())
    if shown.log_p is not None:
        left.plotly_chart(
            viz.inference.density_map(
                shown.xs,
                shown.ys,
                shown.log_p,
                data=data.X,
                height=layout.fit(460),
                title=f"log p(x), {len(shown.xs)} × {len(shown.ys)} grid, data in white",
                depth=MAP_DEPTH,
            ),
            key="inf_density_map",
        )
        right.metric(
            "Integral of p over the grid",
            f"{shown.integral:.3f}",
            help="The sum of exp(log p) times the cell area (trapezoid rule). A density integrates to 1; "
            "close to 1 here means the grid covers the mass and resolves the peaks, and that log p is "
            "correctly normalised (no missing Jacobian term). Less than 1: mass outside the grid or "
            "peaks narrower than a cell; more than 1: peaks sampled at their tops.",
        )
    if shown.held_nll is not None:
        rows = [
            {
                "model": "exact flow" if active.exact else "learned network",
                "NLL (nats)": shown.held_nll,
                "bits/dim": shown.bits(shown.held_nll),
            },
            {
                "model": "Gaussian fit",
                "NLL (nats)": shown.baseline_nll,
                "bits/dim": shown.bits(shown.baseline_nll),
            },
        ]
        right.dataframe(
            pd.DataFrame(rows).round(3),
            hide_index=True,
            key="inf_nll_table",
        )
        right.caption(
            f"Mean negative log-likelihood of {shown.held_n:,} held-out points (fresh draws, next seed), "
            f"in the data's z-scored units; lower is better. The flow's standard error: "
            f"{shown.held_se:.3f} nats. The Gaussian (full covariance, fitted to the data) is the same-run "
            "baseline: a flow that cannot beat it has learned nothing beyond the covariance."
        )
    right.caption(
        f"{shown.method}. Grid: {shown.grid_cost}. Held-out: {shown.held_cost}."
        + (f" The closed form was {shown.check}." if shown.check else "")
    )


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
    likelihood_section()
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
    step=100,
    **state.bind("inference", "n"),
    help=f"How many data points to simulate and infer from ({N_RANGE[0]:,} to {N_RANGE[1]:,}). More "
    "points, narrower posterior.",
)
c2.number_input(
    "Observation noise variance (data units)",
    step=0.005,
    format="%.4f",
    **state.bind("inference", "noise"),
    help="Gaussian noise added to the generated data, a variance from 0 to 1 (the released code used "
    "0.01). Inference "
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
# The number inputs have no bounds of their own (Streamlit would silently reset a value outside them): a
# bad value reaches this check, which says what to choose and disables the runs, keeping the last results.
noise_problem = (
    None
    if NOISE_RANGE[0] <= mine["noise"] <= NOISE_RANGE[1]
    else f"The observation noise variance is {mine['noise']:g}; choose a variance from 0 (no noise) to 1."
)
problems = [
    f"The weights sum to {weights.sum():.3f}; make them sum to 1 (e.g. the paper's 0.5, 0.25, 0.25)."
    if abs(weights.sum() - 1) > 1e-6
    else None,
    None
    if N_RANGE[0] <= mine["n"] <= N_RANGE[1]
    else f"Points n = {mine['n']:,}; choose from {N_RANGE[0]:,} to {N_RANGE[1]:,}.",
    noise_problem,
]
problem = " ".join(p for p in problems if p)
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
        # R-hat and ESS exist for HMC's chains only: Gibbs draws are independent sweeps, no columns.
        table = pd.DataFrame(rows).dropna(axis=1, how="all").round(4)
        st.dataframe(table, hide_index=True, key="inf_table")
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
    disabled=busy or bool(noise_problem),
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
    "Press **Check calibration**. On a 2-core server with nothing else running (the run then uses "
    "every core), 200 replicates of 500 points take 35-55 s through a shipped circles network and two "
    "to three minutes through the exact flow of 2,000 points (longer while other jobs share the cores); "
    "50 x 100 takes seconds.",
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

likelihood_section()
