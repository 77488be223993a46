"""What every page shows around its own content, and the guard every flow-integrating page uses.

``app.py`` runs the shared frame (notices, lesson banner, URL mirror, sidebar) before each page. One case
needs ``page_setup``: because the folder is called ``pages/`` (the project's agreed layout), Streamlit
starts a fresh server in its legacy folder mode and runs a page file on its own, without ``app.py``,
until ``st.navigation`` has run once; AppTest re-enters that mode on every run after ``switch_page``.
``page_setup`` is the first call of every page and handles exactly that case.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer import home, jobs, lessons, sidebar, state
from explorer.navigation import PAGES
from explorer.text import plain


def streamlit_pages() -> list[st.Page]:
    """Home plus every page of ``PAGES``, as ``st.navigation`` takes them."""
    pages = [st.Page(home.render, title="Home", icon=":material/home:", default=True)]
    return pages + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]


def shared(url_path: str) -> None:
    """Notices (bad link values and the like, as plain text), the lesson banner, the URL mirror of the
    state, and the sidebar."""
    notices = state.session().notices
    while notices:  # they quote link values: untrusted, so shown as plain text
        st.warning(plain(notices.pop(0), 600), icon=":material/warning:")
    lessons.banner()
    state.write_query_params(url_path)
    sidebar.render()


def page_setup(url_path: str) -> None:
    """First call of every page. Streamlit's legacy folder mode (see the module docstring) is the only
    case where ``app.py`` did not run first: leave that mode; on a session's first run rerun, so that
    ``app.py`` owns the menu and the widget identities; otherwise (AppTest after ``switch_page``, where a
    rerun would swallow the click being tested) draw the shared frame here."""
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return  # app.py drove this run (st.navigation has switched the legacy mode off)
    PagesManager.uses_pages_directory = False
    if "session" not in st.session_state:
        st.rerun()
    st.set_page_config(page_title="Inflationary Flows Explorer", layout="wide")
    shared(url_path)


def intro(text: str, folded: bool = False) -> None:
    """A page's plain-language explanation (hidden in presenter mode, where the teacher speaks it);
    ``folded``: one click away, so that a result drawn below starts higher on the screen."""
    with st.container(key="page_intro"):
        if folded:
            with st.expander("What this page shows"):
                st.markdown(text)
        else:
            st.markdown(text)


def presenting() -> bool:
    """Whether a lesson runs in presenter mode (pages shrink and rearrange their main figures)."""
    return lessons.presenting()


def fit(height: int) -> int:
    """A main figure's height: as designed, or small enough for the projector in presenter mode."""
    return min(height, lessons.PRESENTER_FIGURE_HEIGHT) if presenting() else height


def job_progress(kind: str, idle_text: str, cancel_help: str) -> None:
    """A background job's panel, polled every second while it runs: its progress (or place in the queue)
    and Cancel; once it has finished, one rerun of the whole page, which then draws the results."""
    job = state.session().jobs.get(kind)

    def panel() -> None:
        if job is None:
            st.info(idle_text)
        elif job.active:
            st.progress(job.fraction, text=jobs.waiting_text(job))
            if st.button("Cancel", key=f"{kind}_cancel", help=cancel_help):
                job.stop()
        elif not job.finished_shown:
            job.finished_shown = True
            st.rerun()

    st.fragment(panel, run_every=1.0 if job is not None and job.active else None)()


def active_flow_or_stop(
    data: state.Data, basis, schedule, before_stop: Callable[[], None] | None = None
) -> state.ActiveFlow:
    """The flow to integrate; when the chosen model does not fit the data and schedule, say why, offer
    both ways out (switch to the model's data, or the exact flow), and stop the page (``before_stop``
    first: a page that draws part of itself later, its introduction say, draws it there)."""
    try:
        return state.active_flow(data, basis, schedule)
    except ValueError as err:
        st.error(
            f"{plain(err, 600)} Switch the data and schedule back to the model's, or use the exact flow."
        )
    c1, c2 = st.columns(2)
    if c1.button(
        "Switch to the model's data and schedule",
        key="guard_adopt",
        help="Load the dataset and schedule the model was trained on.",
    ):
        try:
            state.adopt_model_settings()
            st.rerun()
        except ValueError as adopt_err:
            st.error(str(adopt_err))
    if c2.button(
        "Use the exact flow instead",
        key="guard_exact",
        help="Integrate the exact flow of the current data; the model stays loaded.",
    ):
        state.use_exact_flow()
        st.rerun()
    if before_stop is not None:
        before_stop()
    st.stop()
