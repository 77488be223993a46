"""Streamlit glue shared by the explorer's pages (the library ``inflow_core`` never imports Streamlit).

Modules, one job each:

* ``navigation`` - the list of pages (``PAGES``) that ``app.py`` hands to ``st.navigation``.
* ``state``      - per-session state (data, schedule, model, solver), widget binding that survives page
  switches, and the URL query parameters that make a view shareable.
* ``adapters``   - cached calls into ``inflow_core``: datasets, bases, exact flows, trajectories, the
  home demo.
* ``jobs``       - the background training worker (never calls Streamlit) and the server-wide job cap.
* ``sidebar``    - the shared sidebar: current data, schedule, model and device.
* ``autoplay``   - presses Play on a Plotly animation when it is drawn (the home page's demo).
* ``layout``     - ``page_setup``, the first call of every page (state, URL sync and sidebar even when
  Streamlit runs the page file without ``app.py``).

Adding a page takes one file and one line:

1. write ``pages/<name>.py``: first ``layout.page_setup("<url-name>")``, then a plain-language
   paragraph, widgets with ``help=``, calls into ``inflow_core`` through ``explorer.state``
   (``state.current_data()``, ``state.current_schedule(basis)``, ``state.active_flow(...)``) and
   ``explorer.adapters``, and figures from ``inflow_core.viz``; heavy work only behind a button,
   cached by its parameters;
2. append ``PageSpec("pages/<name>.py", "Title", ":material/icon:", "url-name", "one-line summary")``
   to ``PAGES`` in ``explorer/navigation.py``. The menu, the home page's map and the URL sync pick it
   up from there.
"""
