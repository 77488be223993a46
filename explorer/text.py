"""Untrusted text (a file name, a CSV header or label, a model card, a link value) shown as plain text.

Streamlit renders markdown in titles, captions, messages and labels: a file named ``[log in](http://..)``
would become a link, ``![x](http://..)`` an image every visitor's browser fetches. ``plain`` escapes
every character markdown (and Streamlit's extensions) give a meaning to, and caps the length.
"""

from __future__ import annotations

import re

MAX_CHARS = 200
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&])")


def plain(value, max_chars: int = MAX_CHARS) -> str:
    """``value`` as text that markdown shows literally: specials escaped, newlines folded, length capped."""
    text = " ".join(str(value).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text)
