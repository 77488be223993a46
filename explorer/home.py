"""The home page: what an inflationary flow is, an animation that plays on arrival, a map of the pages."""

from __future__ import annotations

import streamlit as st

from explorer import adapters, autoplay, lessons
from explorer.navigation import PAGES


def render() -> None:
    """What an inflationary flow is, one animation that plays on arrival, and a map of the pages."""
    st.title("Inflationary Flows Explorer")
    st.markdown(
        "An **inflationary flow** turns a cloud of data points into a simple bell-shaped cloud (a Gaussian) "
        "by slowly blurring it with noise that grows over time, while rescaling so the cloud keeps a fixed "
        "size. Each point follows a smooth, deterministic path (an ordinary differential equation whose "
        "velocity comes from a *denoiser*), so the map can be run backwards to turn Gaussian draws into new "
        "data. Because the noise can grow at different rates along different principal directions (the "
        "axes of largest spread), the flow can keep the important directions and squeeze the others almost "
        "flat: a nonlinear dimension reduction. Where the points end up is their **latent** code; "
        "neighbouring points stay neighbours all the way, so uncertainty about a data point is carried "
        "faithfully into the latent space and back."
    )
    st.markdown(
        "Below, 600 of 1,000 points on two circles follow the exact flow of the data set: the first "
        "direction inflates into a Gaussian while the second collapses. Right: the spread (variance) along "
        "each direction over the same time, and the **participation ratio**, an effective number of "
        "dimensions (2 when both directions carry equal spread, 1 when one carries it all)."
    )
    with st.container(key="home_demo"):
        st.plotly_chart(adapters.home_demo_figure(), key="home_animation", config={"displaylogo": False})
    autoplay.play_on_arrival("home_demo")
    st.caption(
        "Exact empirical flow (no training), dopri5 with tolerance 1e-4; schedule reducing to 1 "
        "dimension. It loops until you press Pause; drag the time slider to look at one moment."
    )
    st.markdown("#### The pages")
    for spec in PAGES:
        col_link, col_text = st.columns([1, 4])
        col_link.page_link(spec.path, label=spec.title, icon=spec.icon)
        col_text.markdown(spec.summary)
    st.caption(
        "The address bar always holds a link to the current view (data, schedule, seed, page): "
        "copy it to share exactly what you see."
    )
    _lesson_section()


def _lesson_section() -> None:
    """The class lesson: one button per step, which sets the step up and opens its page."""
    lesson = lessons.lesson()
    st.markdown(f"#### Teach it in class: {lesson.title.lower()}")
    st.markdown(lesson.summary + " A box on top of each page guides you to the next step.")
    for i, step in enumerate(lesson.steps):
        col_button, col_text = st.columns([2, 3], vertical_alignment="center")
        if col_button.button(
            f"{i + 1}. {step.title}",
            key=f"lesson_start_{i}",
            use_container_width=True,
            help=f"Set up step {i + 1} and open the {step.page} page.",
        ):
            lessons.go_to(i)
        col_text.markdown(step.goal)
