"""What every page shows around its own content: link warnings, the URL sync and the shared sidebar.

``app.py`` normally does this before running a page. Streamlit can also run a page file on its own:
because the folder is called ``pages/``, a fresh server starts in Streamlit's legacy folder mode
until ``st.navigation`` has run once (a first visit through a link to a sub-page), and AppTest
re-enters that mode on every run after ``switch_page``. ``page_setup`` then sets up page config,
state and sidebar itself, and switches the mode off so that ``app.py`` drives every later run. (A
rerun right away would lose the click that started the run.)
"""

from __future__ import annotations

import streamlit as st

from explorer import home, sidebar, state
from explorer.navigation import PAGES

_DONE = "_layout_done"


def streamlit_pages() -> list[st.Page]:
    """Home plus every page of ``PAGES``, as ``st.navigation`` takes them."""
    pages = [st.Page(home.render, title="Home", icon=":material/home:", default=True)]
    return pages + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]


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
    _leave_legacy_folder_mode()
    st.set_page_config(page_title="Inflationary Flows Explorer", layout="wide")
    if "data" not in st.session_state:
        # A session's first run (a link straight to this page): replace the legacy menu with ours. Not
        # on later runs, where the navigation call would restart the run and lose the click behind it.
        st.navigation(streamlit_pages())
    state.init()
    shared(url_path)
    st.session_state.pop(_DONE, None)


def _leave_legacy_folder_mode() -> None:
    """Turn off Streamlit's legacy ``pages/`` folder mode (an internal flag), as st.navigation does."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", None) is True:
        PagesManager.uses_pages_directory = False
