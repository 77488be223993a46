"""Start a Plotly animation as soon as it is drawn, so the home page moves without a click.

``st.plotly_chart`` has no autoplay option; a tiny script (``st.html`` with JavaScript allowed, our own
constant code, never user input) presses the chart's own Play button once it exists. This keeps the
page light: no second copy of plotly.js, unlike an HTML export in an iframe.
"""

from __future__ import annotations

import re

import streamlit as st

_SCRIPT = """<script>
(function press(tries) {
  const button = document.querySelector('.st-key-%s .updatemenu-button');
  if (!button) { if (tries > 0) { setTimeout(() => press(tries - 1), 200); } return; }
  button.dispatchEvent(new MouseEvent('click', {bubbles: true}));
})(150);
</script>"""


def play_on_arrival(container_key: str) -> None:
    """Press Play on the first animated Plotly chart inside ``st.container(key=container_key)``."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", container_key):
        raise ValueError(f"container_key must be a plain identifier; got {container_key!r}.")
    st.html(_SCRIPT % container_key, unsafe_allow_javascript=True)
