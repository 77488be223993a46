"""Inflationary Flows Explorer: `streamlit run app.py`.

Entry point: page config, the session (explorer/state.py), a lesson link, navigation over the home
page (explorer/home.py) and pages/ (listed in explorer/navigation.py), then the shared frame and the page.
"""

import streamlit as st

from explorer import layout, lessons, state

st.set_page_config(
    page_title="Inflationary Flows Explorer", page_icon=":material/bubble_chart:", layout="wide"
)

first_run = state.init()
lessons.warm_up()  # once per server, in the background: the lesson's animations are ready before class
if first_run:
    lessons.apply_link()  # before the page switch below, which drops the link's query parameters
current = st.navigation(layout.streamlit_pages())
if first_run:
    # A shared link's ?page=... opens that page once; afterwards navigation drives the URL.
    target = state.page_from_url()
    if target and current.url_path != st.query_params.get("page"):
        st.switch_page(target)
layout.shared(current.url_path)
current.run()
