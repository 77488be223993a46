"""Inflationary Flows Explorer: `streamlit run app.py`.

Entry point: page config, navigation over pages/ (listed in explorer/navigation.py), the shared
sidebar, the URL sync, and the home page.
"""

import streamlit as st

from explorer import adapters, autoplay, layout, state
from explorer.navigation import PAGES

st.set_page_config(page_title="Inflationary Flows Explorer", page_icon=":material/bubble_chart:",
                   layout="wide")


def home() -> None:
    """What an inflationary flow is, one animation that plays on arrival, and a map of the pages."""
    st.title("Inflationary Flows Explorer")
    st.markdown(
        "An **inflationary flow** turns a cloud of data points into a simple Gaussian by slowly blurring it "
        "with noise that grows over time, while rescaling so the cloud keeps a fixed size. "
        "Each point follows a smooth, deterministic path (an ordinary differential equation whose velocity "
        "comes from a *denoiser*), so the map can be run backwards to turn Gaussian draws into new data. "
        "Because the noise can grow at different rates along different principal directions, the flow can "
        "keep the important directions and squeeze the others almost flat: a nonlinear dimension reduction. "
        "Neighbouring points stay neighbours all the way, so uncertainty about a data point is carried "
        "faithfully into the latent space and back. "
        "Below, 600 of 1,000 points on two circles follow the exact flow of the data set: the first "
        "direction inflates into a Gaussian while the second collapses (right: variance per dimension and "
        "participation ratio over the same time)."
    )
    with st.container(key="home_demo"):
        st.plotly_chart(adapters.home_demo_figure(), key="home_animation", config={"displaylogo": False})
    autoplay.play_on_arrival("home_demo")
    st.caption("Exact empirical flow (no training), dopri5 with tolerance 1e-4; schedule reducing to 1 "
               "dimension. Press ▶ Play to watch it again, or drag the time slider.")
    st.markdown("#### The pages")
    for spec in PAGES:
        col_link, col_text = st.columns([1, 4])
        col_link.page_link(spec.path, label=spec.title, icon=spec.icon)
        col_text.markdown(spec.summary)
    st.caption("The address bar always holds a link to the current view (data, schedule, seed, page): "
               "copy it to share exactly what you see.")


state.init()
pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
pages += [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]
current = st.navigation(pages)
if not st.session_state.get("url_page_applied"):
    # A shared link's ?page=... opens that page once; afterwards navigation drives the URL.
    st.session_state.url_page_applied = True
    target = state.page_from_url()
    if target and current.url_path != st.query_params.get("page"):
        st.switch_page(target)
layout.shared(current.url_path)
current.run()
