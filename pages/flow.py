"""Flow page: the particle animation in the inflate and the generate direction, with linked views."""

import streamlit as st

from explorer import adapters, layout, state
from inflow_core import viz

MAX_PARTICLES = 3000
TOLERANCES = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]

layout.page_setup("flow")
st.title("Flow")
INTRO = (
    "Here the points move. **Inflate** runs time forward: each point follows the flow from the data (t = 0) "
    "to the latent space (t = T), where the cloud is a Gaussian on the kept directions and squeezed flat on "
    "the others. **Generate** runs it backwards: Gaussian draws flow back into the shape of the data. The "
    "panels on the right share the animation's clock: the variance of the particles along each principal "
    "direction (solid, measured; dotted, what the schedule predicts) and the participation ratio, an "
    "effective number of dimensions. Points are coloured by where they start, so you can see neighbourhoods "
    "stay together."
)
# The explanation folds away once an animation is shown, so that the chart starts higher on the screen.
intro = st.empty()


def show_intro(folded: bool = False) -> None:
    with intro.container():
        layout.intro(INTRO, folded=folded)


data, basis, schedule = state.selection()
active = layout.active_flow_or_stop(data, basis, schedule, before_stop=show_intro)
view = state.settings("flow")
dim = basis.dim
c1, c2, c3, c4 = st.columns(4)
DIRECTIONS = {"inflate": "Inflate (data → latent)", "generate": "Generate (latent → data)"}
direction = c1.radio(
    "Direction",
    list(DIRECTIONS),
    horizontal=True,
    format_func=DIRECTIONS.get,
    help="Inflate maps data points to the latent space; generate maps Gaussian draws back to data.",
    **state.bind("flow", "direction"),
)
n_particles = c2.slider(
    "Particles",
    100,
    MAX_PARTICLES,
    step=100,
    **state.bind("flow", "particles"),
    help="How many points to animate (a random subset of the data when inflating). More "
    "points look richer but make the animation heavier.",
)
n_frames = c3.slider(
    "Frames",
    30,
    150,
    step=10,
    **state.bind("flow", "frames"),
    help="Number of animation frames, evenly spaced in time from 0 to T.",
)
with_labels = data.labels is not None and direction == "inflate"
# Generation starts from latents squeezed flat on compressed dimensions: position says more than angle.
colour_modes = (["label"] if with_labels else []) + (
    ["angle", "position"] if direction == "inflate" else ["position", "angle"]
)
colour = c4.selectbox(
    "Colour by",
    colour_modes,
    **state.bind("flow", "colour", colour_modes),
    format_func={"label": "label (class)", "angle": "initial angle", "position": "initial position"}.get,
    help="Colour each particle by its class, by its starting angle around the centre "
    "(cyclic map), or by its starting position along the first coordinate. Palettes "
    "are colour-blind safe.",
)

c1, c2, c3, c4 = st.columns(4)
c1.select_slider(
    "Solver tolerance",
    TOLERANCES,
    format_func=lambda v: f"{v:.0e}",
    help="Relative and absolute error the adaptive solver (dopri5) allows per step, per point "
    "and dimension. Tighter = more accurate and more field evaluations.",
    **state.bind("solver", "tol", TOLERANCES),
)
prior, blur = view["prior"], view["blur"]
if direction == "inflate":
    blur = c2.toggle(
        "Add the initial noise",
        **state.bind("flow", "blur"),
        help="On (default): start each particle at its data point plus the flow's initial "
        "noise c(0), a tiny blur. The flow is built for this blurred distribution; the "
        "bare points are its centres, and under the exact flow they barely move until the "
        "noise reaches their neighbours, so their spread stays below the prediction in "
        "high dimensions.",
    )
if direction == "generate":
    prior = c2.radio(
        "Latent prior",
        ["gaussian", "empirical"],
        horizontal=True,
        **state.bind("flow", "prior"),
        help="Gaussian: draw every latent dimension from N(0, v(T)). Empirical: draw the "
        "squeezed dimensions from encoded data (their latent shape is not Gaussian when "
        "their noise never grows).",
    )
three, picked = False, []
if dim == 3:
    three = c3.toggle(
        "3-D frames",
        **state.bind("flow", "three_d"),
        help="Show all three coordinates as rotatable 3-D frames (off: the first two).",
    )
elif dim > 3:
    if any(i >= dim for i in view["dims"]):
        view["dims"] = [0, 1]
    picked = c3.multiselect(
        "Eigen-coordinates shown",
        list(range(dim)),
        max_selections=3,
        format_func=lambda i: f"u{i + 1}",
        **state.bind("flow", "dims"),
        help=f"D = {dim}: pick 2 or 3 of the principal (eigen) coordinates to draw; u1 "
        "has the most variance. All D coordinates are integrated.",
    )
    if len(picked) < 2:
        c3.caption("Pick at least two; showing u1 and u2.")
dims = adapters.shown_dims(dim, three, picked)
trails = c4.slider(
    "Trails",
    0,
    10,
    **state.bind("flow", "trails"),
    help="Draw the path so far of this many particles, to follow individual points.",
)

request = adapters.FlowRequest.of_view(view, state.session().data.seed, dim, len(data.X))
shown = request.particles
params = ("flow", active.key, data.key, request)
result = state.result(params)
# Always placed, empty once a result is shown: the charts below keep their places in the page (had they
# moved, the browser would draw both afresh at the first view change after Compute).
prompt = st.empty()
if result is None:
    hint = prompt.container()
    with hint:
        st.info(
            f"Press **Compute the flow** to integrate {shown:,} particles over {n_frames} frames with the "
            f"{active.label}."
        )
        pressed = st.button(
            "Compute the flow",
            type="primary",
            key="compute_flow",
            help="Integrate the ODE for these settings; results are cached by their parameters.",
        )
    if pressed:
        # The spinner goes under the button, in the same placeholder (one of its own would shift the charts).
        with hint, st.spinner("Integrating the flow..."):
            try:
                result = adapters.compute_flow(
                    active.key, active.flow, data.key, data.X, data.labels, request
                )
            except ValueError as err:
                st.error(str(err))
        if result is not None:
            state.keep_result(params, result)
            # Draw the result in this run, without the hint and the button: no second run of the page
            # (a class pressing together would pay every page run twice).
            prompt.empty()

show_intro(folded=result is not None)

if result is not None:
    title, subtitle = adapters.animation_title(direction, data.title, schedule)
    fig, payload_mb = adapters.animation_view(
        result, dims, colour, trails, title, layout.fit(adapters.ANIMATION_HEIGHT), subtitle
    )
    config = viz.style.plotly_config(f"inflow_{direction}")
    st.plotly_chart(fig, key="flow_animation", config=config)
    sub = (
        f"animating {shown:,} of {result.n_total:,} points"
        if direction == "inflate"
        else f"{shown:,} latent draws ({prior} prior)"
    )
    if shown < (min(n_particles, len(data.X)) if direction == "inflate" else n_particles):
        sub += f" (capped at {shown:,} to keep the animation under about 10 MB)"
    st.markdown(
        f"**{'Exact' if active.exact else 'Learned'}:** {active.label}  \n**Solver:** {result.solver}; "
        f"**NFE** {result.nfe:,} field evaluations; **wall time** {result.wall_time:.2f} s  \n**Round "
        f"trip:** {result.round_trip}  \n**Animation:** {sub}; float32 frames, {payload_mb:.1f} MB. Axes are "
        "fixed over all frames; coordinates are the scaled eigen-coordinates u(t) = A(t)·y(t)."
    )
    if active.exact and direction == "inflate" and not blur:
        st.caption(
            "The exact flow carries the training points themselves to the centres of their latent "
            "cells, so their measured spread can stay below the prediction (strongly so with few "
            "points in many dimensions); switch on **Add the initial noise** to start from the "
            "distribution the flow is built for, whose spread follows the prediction."
        )
    if active.exact and direction == "generate":
        st.caption(
            "The exact flow reproduces training points: generated points land on (blurred) copies of "
            "the data. Train a network to generalise."
        )
    with st.expander("Predicted vs measured variance"):
        st.plotly_chart(adapters.variance_view(result, "Predicted vs measured variance"), key="pred_vs_meas")
        st.caption(
            "Each dot is one dimension at one frame. On the diagonal: the particles' variance is what "
            "the schedule predicts (exact in expectation for the exact flow; deviations show sampling "
            "noise, or a model's error)."
        )
    e1, e2, e3 = st.columns(3)
    e1.download_button(
        "Download animation (HTML)",
        key="dl_html",
        file_name=f"inflow_{direction}.html",
        mime="text/html",
        data=lambda: fig.to_html(
            include_plotlyjs=True, auto_play=True, animation_opts=viz.animation.play_options()
        ),
        help="A standalone web page with the animation; opens offline in any browser.",
    )
    source = f"{'Exact' if active.exact else 'Learned'}: {active.name}"
    e2.download_button(
        "Download animation (GIF)",
        key="dl_gif",
        file_name=f"inflow_{direction}.gif",
        mime="image/gif",
        data=lambda: adapters.animation_gif(
            result,
            dims,
            colour,
            ", ".join(adapters.animation_title(direction, data.title, schedule, plotly=False)),
            source,
        ),
        help="A looping GIF of the particles (first two shown coordinates, no linked panels) "
        "for slides and chats; takes a few seconds to draw.",
    )
    e3.download_button(
        "Download trajectories (CSV)",
        key="dl_csv",
        file_name=f"inflow_{direction}.csv",
        mime="text/csv",
        data=lambda: adapters.trajectories_csv(result),
        help="One row per frame and particle: frame, t, particle, u1..uD (flow coordinates).",
    )
    st.caption("PNG: use the camera icon in the figure's toolbar.")
