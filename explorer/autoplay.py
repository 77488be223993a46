"""Start a Plotly animation as soon as it is drawn and loop it until paused, so the home page moves
without a click.

``st.plotly_chart`` has no autoplay option; a tiny script (``st.html`` with JavaScript allowed, our own
constant code, never user input) presses the chart's own Play button once it exists, and again a second
after each run completes, unless Pause or the slider was used since the last Play. This
keeps the page light: no second copy of plotly.js, unlike an HTML export in an iframe.
"""

from __future__ import annotations

import re

import streamlit as st

_SCRIPT = """<script>
(function press(tries) {
  const retry = () => { if (tries > 0) { setTimeout(() => press(tries - 1), 200); } };
  const root = document.querySelector('.st-key-%s');
  const plot = root && root.querySelector('.js-plotly-plot');
  const ready = (gd) => gd && gd.isConnected && gd._transitionData && gd._transitionData._frames.length > 0
    && gd.querySelector('.updatemenu-button');
  if (!ready(plot)) { retry(); return; }
  // Press only once the chart's first renders have settled (same element 600 ms later): an animation
  // started on a plot that is then re-rendered keeps running and ignores Pause.
  setTimeout(() => {
    const now = root.querySelector('.js-plotly-plot');
    if (now !== plot || !ready(now)) { retry(); return; }
    const play = () => {
      const button = now.isConnected && now.querySelector('.updatemenu-button');
      if (button) { button.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
    };
    // Pause also ends in 'plotly_animated' (Plotly emits it for the empty pause animation), so the loop
    // follows the buttons: Play resumes it, Pause or dragging the slider stops it.
    let stopped = false;
    now.on('plotly_buttonclicked', (e) => { stopped = !(e && e.button && e.button.args[0] === null); });
    now.on('plotly_sliderchange', (e) => { if (e && e.interaction) { stopped = true; } });
    now.on('plotly_animated', () => setTimeout(() => { if (!stopped) { play(); } }, 1000));
    play();
  }, 600);
})(150);
</script>"""


def play_on_arrival(container_key: str) -> None:
    """Press Play on the first animated Plotly chart inside ``st.container(key=container_key)``."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", container_key):
        raise ValueError(f"container_key must be a plain identifier; got {container_key!r}.")
    st.html(_SCRIPT % container_key, unsafe_allow_javascript=True)
