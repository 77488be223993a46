"""Schedule page: how fast the noise grows along each principal direction, and what that does."""

import numpy as np
import streamlit as st

from explorer import layout, state
from inflow_core import viz
from inflow_core.schedules import FAMILIES

FAMILY_TEXT = {
    "isotropic": "Isotropic: the same noise on every direction; all D dimensions are kept (the released "
    "code's PR-preserving schedule).",
    "reducing": "Reducing to d: the top d principal directions inflate, the others are squeezed; the latent "
    "keeps d dimensions.",
    "proportional": "Proportional: noise grows in proportion to each direction's variance, so every axis "
    "keeps its share of the variance (participation ratio preserved exactly).",
}

layout.page_setup("schedule")
st.title("Schedule")
layout.intro(
    "The **schedule** says how much noise is added along each principal direction as time runs from 0 to the "
    "end time T, and how the points are rescaled so the cloud keeps a fixed size. Directions whose noise "
    "grows fast end up as a Gaussian; directions whose noise grows slowly (or not at all) are squeezed "
    "towards zero by the rescaling, which is how the flow drops dimensions. The curves below are exact "
    "formulas: no integration is needed to draw them."
)

data = state.current_data()
basis = state.current_basis(data)
dim = basis.dim

c1, c2, c3 = st.columns(3)
families = [f for f in FAMILIES if dim > 1 or f != "reducing"]
c1.selectbox(
    "Family",
    families,
    format_func=str.capitalize,
    help="Isotropic keeps every dimension; reducing keeps the top d principal directions and "
    "squeezes the rest; proportional keeps every dimension's share of the variance.",
    **state.bind("sched", "family"),
)
spec = state.session().sched  # as the widget just set it
if not layout.presenting():  # on a projector the teacher says it; the curves must fit the screen
    c1.caption(FAMILY_TEXT[spec.family])
if spec.family == "reducing":
    c2.number_input(
        "Dimensions kept d",
        min_value=1,
        max_value=max(1, dim - 1),
        step=1,
        help=f"How many of the {dim} principal directions survive in the latent space (1 to D - 1).",
        **state.bind("sched", "dims_to_keep"),
    )
    auto_gap = dim / (dim - spec.dims_to_keep)
    c2.number_input(
        "Inflation gap",
        min_value=0.01,
        max_value=20.0,
        step=0.1,
        format="%.3f",
        placeholder=f"auto ({auto_gap:.3g})",
        help="How much slower the noise grows on the squeezed directions (exponent difference). "
        f"Empty = auto, D / (D - d) = {auto_gap:.3g}, the released default; the paper's "
        "image runs used 1.02.",
        **state.bind("sched", "inflation_gap"),
    )
c3.number_input(
    "gamma0 (noise at t = 0)",
    min_value=1e-6,
    max_value=0.1,
    step=1e-4,
    format="%.1e",
    help="The variance of the tiny blur the flow starts with. Smaller = closer to the raw data "
    "at t = 0, but a stiffer start for the solver.",
    **state.bind("sched", "gamma0"),
)
c3.number_input(
    "rho (rate)",
    min_value=0.05,
    max_value=10.0,
    step=0.1,
    format="%.2f",
    help="How fast the noise grows (exponential rate). Only rescales time: larger rho, earlier end.",
    **state.bind("sched", "rho"),
)
# On a projector the curves come right under the controls a lesson step names, above the details.
curves_slot = st.container() if layout.presenting() else st
with st.expander("End time", expanded=spec.t_max is not None):
    st.markdown(
        "By default (**auto**) the flow stops once the fastest-growing noise reaches **kappa** times "
        "the largest data variance: the larger kappa, the more Gaussian the end, the stronger the "
        "squeezing, and the longer the integration."
    )
    e1, e2 = st.columns(2)
    e1.number_input(
        "kappa",
        min_value=2.0,
        max_value=1e6,
        step=100.0,
        format="%g",
        help="Noise-to-data ratio at the auto end time (1000 = noise 1000x the data variance).",
        **state.bind("sched", "kappa"),
    )
    e2.number_input(
        "End time T (empty = auto)",
        min_value=0.1,
        max_value=100.0,
        step=0.5,
        format="%.3f",
        placeholder="auto",
        help="Override the end time. Too short and the end is not Gaussian; see the figure of merit below.",
        **state.bind("sched", "t_max"),
    )

schedule = state.session().sched.build(basis)  # every change was validated; a bad one was refused

st.markdown(f"**Schedule:** {schedule.describe()}")
m1, m2, m3 = st.columns(3)
m1.metric(
    "End time T",
    f"{schedule.t_max:.2f}",
    help="Your override." if state.session().sched.t_max is not None else "Auto end time from kappa.",
)
gauss = schedule.gaussianity()
m2.metric(
    "How Gaussian the end is",
    f"{gauss:,.0f}x",
    help="Smallest ratio, over kept directions, of the noise variance at T to the data variance. Much "
    "larger than 1: the end is close to a Gaussian. Near 1 or below: visibly not Gaussian.",
)
m3.metric(
    "Predicted PR at T",
    f"{schedule.predicted_pr(schedule.t_max):.2f}",
    help="Participation ratio of the particles' variances at the end time; the data's is "
    f"{schedule.predicted_pr(0.0):.2f}.",
)
if gauss < 10:
    st.warning(
        f"At T the noise is only {gauss:.2g}x the data variance on some kept direction: the latent is "
        "visibly not Gaussian. Raise kappa or the end time."
    )
if schedule.frozen.any():
    st.info(
        f"{int(schedule.frozen.sum())} squeezed direction(s) get no growing noise (1 + g ≤ 0): they are "
        "scaled down but keep the data's own (non-Gaussian) shape; generation with a Gaussian prior "
        "there is an approximation (the Flow page offers an empirical prior)."
    )

curves_slot.plotly_chart(
    viz.schedule.schedule_curves(schedule, height=layout.fit(620)), key="schedule_curves"
)
latent = schedule.latent_variance()
st.caption(
    "Latent variance per dimension v(T): "
    + ", ".join(f"{v:.3g}" for v in latent[:12])
    + (" ..." if latent.size > 12 else "")
    + f" (kept: {int(np.sum(schedule.kept))} of {dim})."
)
