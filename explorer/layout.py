"""What every page shows around its own content: link warnings, the URL sync and the shared sidebar.

``app.py`` normally does this before running a page. Streamlit can also run a page file on its own
(the first run of a fresh server when a link opens a sub-page, while its legacy ``pages/`` folder mode
is still on; and ``AppTest.switch_page``), so every page starts with ``page_setup``, which does the
same when ``app.py`` did not.
"""

from __future__ import annotations

import streamlit as st

from explorer import sidebar, state

_DONE = "_layout_done"


def shared(url_path: str) -> None:
    """Warnings about the link, the URL mirror of the state, and the sidebar (called by app.py)."""
    for warning in st.session_state.pop("url_warnings", []):
        st.warning(warning)
    state.write_query_params(url_path)
    sidebar.render()
    st.session_state[_DONE] = True


def page_setup(url_path: str) -> None:
    """First call of every page: make sure state and layout exist even when app.py did not run."""
    if st.session_state.pop(_DONE, False):
        return
    state.init()
    shared(url_path)
    st.session_state.pop(_DONE, None)
