"""Untrusted text (a file name, a CSV header or label, a model card, a link value) shown as plain text.

Streamlit renders markdown in titles, captions, messages and labels: a file named ``[log in](http://..)``
would become a link, ``![x](http://..)`` an image every visitor's browser fetches. ``plain`` escapes
every character markdown (and Streamlit's extensions) give a meaning to, and caps the length.
"""

from __future__ import annotations

import re

MAX_CHARS = 200
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~$:@])")  # ":" and "@" also stop bare-URL / e-mail links
_WWW = re.compile(r"(www)\.", re.IGNORECASE)  # and "www." the third kind of bare link
_LIST_START = re.compile(r"^(\d+)([.)])|^([-+])")  # "1. " or "- " would start a list


def for_figure(value, max_chars: int = MAX_CHARS) -> str:
    """``value`` for a Plotly title or label, which understands a few HTML tags (links among them): the
    tag characters escaped, newlines folded, length capped."""
    text = " ".join(str(value).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(value, max_chars: int = MAX_CHARS) -> str:
    """``value`` as text that markdown shows literally: specials escaped, newlines folded, length capped."""
    text = " ".join(str(value).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    text = _WWW.sub(r"\1\\.", _SPECIAL.sub(r"\\\1", text))
    return _LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)
