"""The guided lesson for class (assets/lessons.json): each step sets up data, schedule, flow and view,
opens its page, and a banner on top of that page says what to press, what to point out and what to ask.

A step is also a link (``?lesson=3``) that a teacher can put on a slide: it opens the step in a fresh
session. The address bar keeps mirroring the live settings, so it stays an honest link to what is shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import streamlit as st

import inflow_core as ic
from explorer import state
from explorer.navigation import PAGES

LESSON_FILE: Path = ic.resources.asset_path("lessons.json")
# Session groups a step may preset (merged over what is there), and the schedule fields it may set.
SETTING_GROUPS = ("view", "cal")
SCHEDULE_FIELDS = ("family", "dims_to_keep", "inflation_gap")


@dataclass(frozen=True)
class Step:
    title: str
    goal: str          # one line: what the step shows
    page: str          # a page's url_path
    dataset: str
    schedule: dict
    settings: dict
    model: str | None  # a shipped model's name, loaded (with its data and schedule) for this step
    do: str
    notice: str
    ask: str


@dataclass(frozen=True)
class Lesson:
    title: str
    summary: str
    steps: tuple[Step, ...]


@cache
def lesson() -> Lesson:
    """The lesson, checked against the app: known pages, datasets, schedule fields and shipped models."""
    raw = json.loads(LESSON_FILE.read_text())
    models = {m["name"] for m in ic.checkpoints.shipped_models()}
    steps = tuple(Step(**s) for s in raw["steps"])
    for i, step in enumerate(steps, 1):
        problems = [f"schedule field {k!r}" for k in step.schedule if k not in SCHEDULE_FIELDS]
        problems += [f"settings group {g!r}" for g in step.settings if g not in SETTING_GROUPS]
        if page_path(step) is None:
            problems.append(f"page {step.page!r}")
        if step.dataset not in ic.datasets.REGISTRY:
            problems.append(f"dataset {step.dataset!r}")
        if step.model is not None and step.model not in models:
            problems.append(f"model {step.model!r}")
        if problems:
            raise ValueError(f"{LESSON_FILE.name}, step {i}: unknown {', '.join(problems)}.")
    return Lesson(raw["title"], raw["summary"], steps)


def page_path(step: Step) -> str | None:
    """The page file of a step (None when it names no page of the app)."""
    return next((p.path for p in PAGES if p.url_path == step.page), None)


def start(index: int) -> None:
    """Set the session up for step ``index`` (0-based): data, schedule, flow and page settings."""
    step = lesson().steps[index]
    ss = st.session_state
    if step.model:
        entry = next(m for m in ic.checkpoints.shipped_models() if m["name"] == step.model)
        flow = ic.load_flow(entry["path"])
        state.install_model(flow, flow.card, f"shipped model {step.model}")
        state.use_model_settings(ss.model)  # the data and schedule the model was trained on
    else:
        spec = state.data_defaults(step.dataset)
        state.set_dataset(spec)
        ss.sched = {**ss.sched, **step.schedule}
        ss.flow_source = "exact"  # a loaded model stays loaded, one click away on Train / Load
    ss.view = {**state.VIEW_DEFAULTS, **step.settings.get("view", {})}
    for group, values in step.settings.items():
        if group != "view":
            ss[group] = {**ss.get(group, {}), **values}
    ss.lesson = index


def apply_link() -> None:
    """Once per session: a link's ``?lesson=N`` (1-based) starts that step, on its page unless the link
    names another (a hand-typed ``?lesson=4`` opens the Schedule page like the banner's link does)."""
    ss = st.session_state
    if ss.get("lesson_link_applied"):
        return
    ss.lesson_link_applied = True
    raw = st.query_params.get("lesson")
    if raw is None:
        return
    steps = lesson().steps
    if not raw.isdigit() or not 1 <= int(raw) <= len(steps):
        ss.setdefault("url_warnings", []).append(
            f"Ignored lesson={raw!r} in the link: the lesson has steps 1 to {len(steps)}.")
        return
    index = int(raw) - 1
    start(index)
    if "page" not in st.query_params:
        st.query_params["page"] = steps[index].page


def link(index: int) -> str:
    """The address that opens step ``index`` (0-based) in a fresh session, from this app's address."""
    step = lesson().steps[index]
    return f"{st.context.url or ''}?lesson={index + 1}&page={step.page}"


def banner() -> None:
    """On top of every page while a lesson runs: the step, what to do, notice and ask, and navigation."""
    ss = st.session_state
    index = ss.get("lesson")
    if index is None:
        return
    steps = lesson().steps
    step = steps[index]
    with st.container(border=True, key="lesson_banner"):
        st.markdown(f"**Lesson, step {index + 1} of {len(steps)}: {step.title}**  \n"
                    f"**Do:** {step.do}  \n**Point out:** {step.notice}  \n**Ask the class:** {step.ask}")
        back, forward, end, where = st.columns([1, 1, 1, 3], vertical_alignment="center")
        target = None
        if back.button("← Previous step", key="lesson_back", disabled=index == 0,
                       help="Set up the previous step and open its page."):
            target = index - 1
        if forward.button("Next step →", key="lesson_next", disabled=index == len(steps) - 1, type="primary",
                          help="Set up the next step (data, schedule, flow and view) and open its page."):
            target = index + 1
        if end.button("End the lesson", key="lesson_end", help="Hide this box; everything else stays."):
            ss.lesson = None
            st.rerun()
        with where.popover("Link to this step", help="An address for slides: it opens this step in a new "
                                                      "session, set up as here."):
            st.code(link(index), language=None)
    if target is not None:
        go_to(target)


def go_to(index: int) -> None:
    """Start step ``index`` and open its page."""
    start(index)
    st.switch_page(page_path(lesson().steps[index]))
