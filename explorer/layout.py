"""What every page shows around its own content: link warnings, the URL sync and the shared sidebar.

``app.py`` normally does this before running a page. Streamlit can also run a page file on its own:
because the folder is called ``pages/``, a fresh server starts in Streamlit's legacy folder mode
until ``st.navigation`` has run once (a first visit through a link to a sub-page), and AppTest
re-enters that mode on every run after ``switch_page``. ``page_setup`` switches the mode off; on a
session's first run it reruns, so ``app.py`` drives the page (the menu and widget identities are
then the app's; a click on a legacy-mode page would be lost); on later runs (AppTest, where a rerun
would swallow the click being tested) it sets up page config, state and sidebar itself.
"""

from __future__ import annotations

import streamlit as st

from explorer import home, lessons, sidebar, state
from explorer.navigation import PAGES

_DONE = "_layout_done"


def streamlit_pages() -> list[st.Page]:
    """Home plus every page of ``PAGES``, as ``st.navigation`` takes them."""
    pages = [st.Page(home.render, title="Home", icon=":material/home:", default=True)]
    return pages + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]


def shared(url_path: str) -> None:
    """Warnings about the link, the lesson banner, the URL mirror of the state, and the sidebar (called
    by app.py)."""
    for warning in st.session_state.pop("url_warnings", []):
        st.warning(warning)
    lessons.banner()
    state.write_query_params(url_path)
    sidebar.render()
    st.session_state[_DONE] = True


def page_setup(url_path: str) -> None:
    """First call of every page: make sure state and layout exist even when app.py did not run."""
    if st.session_state.pop(_DONE, False):
        return
    if _leave_legacy_folder_mode() and "data" not in st.session_state:
        # A session's first run (a link straight to this page on a fresh server): no click can be lost,
        # so run again through app.py, which then owns the menu and the widget identities.
        st.rerun()
    st.set_page_config(page_title="Inflationary Flows Explorer", layout="wide")
    state.init()
    lessons.apply_link()
    shared(url_path)
    st.session_state.pop(_DONE, None)


def _leave_legacy_folder_mode() -> bool:
    """Turn off Streamlit's legacy ``pages/`` folder mode (an internal flag), as st.navigation does;
    True if it was on."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return False
    if getattr(PagesManager, "uses_pages_directory", None) is not True:
        return False
    PagesManager.uses_pages_directory = False
    return True
