"""Untrusted text (a file name, a CSV header or label, a model card, a link value) shown as plain text.

Streamlit renders markdown in titles, captions, messages and labels: a file named ``[log in](http://..)``
would become a link, ``![x](http://..)`` an image every visitor's browser fetches, and a bare
``http://..`` a link. ``plain`` escapes every character markdown (and Streamlit's extensions) give a
meaning to, breaks bare links with an invisible character, and caps the length.
"""

from __future__ import annotations

import re

from inflow_core.viz import style

MAX_CHARS = 200
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~$:@])")
# Bare links ("http://...", "www.", "name@host") are found by Streamlit's markdown in the text AFTER escapes
# are undone, so escaping cannot stop them: an invisible word joiner (U+2060) inside each pattern does.
_BARE_LINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)  # where a joiner goes
_JOINER = "\u2060"
_LIST_START = re.compile(r"^(\d+)([.)])|^([-+])")  # "1. " or "- " would start a list


def for_figure(value, max_chars: int = MAX_CHARS) -> str:
    """``value`` for a Plotly title or label, which understands a few HTML tags (links among them): the
    tag characters escaped, newlines folded, length capped."""
    return style.plotly_text(value, max_chars)


def plain(value, max_chars: int = MAX_CHARS) -> str:
    """``value`` as text that markdown shows literally: specials escaped, newlines folded, length capped."""
    text = _BARE_LINK.sub(_JOINER, style.one_line(value, max_chars))
    text = _SPECIAL.sub(r"\\\1", text)
    return _LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)
