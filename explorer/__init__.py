"""Streamlit glue shared by the explorer's pages (the library ``inflow_core`` never imports Streamlit).

Modules, one job each (docs/ARCHITECTURE.md has the whole picture and how to add a page):

* ``state``      - the session model: typed data, schedule and solver specs, the model, each page's
  settings, the named actions that change them, ``bind`` for widgets, and the shareable URL.
* ``navigation`` - the pages in menu order (``PAGES``), each with the defaults of its own settings.
* ``jobs``       - the one job runner: queue, server-wide caps, progress, cancel, orphan watchdog.
* ``adapters``   - the one result cache (server-wide, single flight) and the cached calls into inflow_core.
* ``layout``     - the frame around every page, the legacy-folder-mode workaround, the active-flow guard.
* ``sidebar``    - the shared sidebar: current data, schedule, model, jobs and device.
* ``home``, ``lessons``, ``autoplay`` - the home page, the class lesson, autoplay of the home animation.
* ``text``       - untrusted strings (file names, CSV headers, model cards, links) as plain text.
"""
