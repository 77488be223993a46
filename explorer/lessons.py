"""The guided lesson for class (assets/lessons.json): each step sets up data, schedule, flow and view,
opens its page, and a banner on top of that page says what to press, what to point out and what to ask.

A step is also a link (``?lesson=3``) that a teacher can put on a slide: it opens the step in a fresh
session. The address bar keeps mirroring the live settings, so it stays an honest link to what is shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import streamlit as st

import inflow_core as ic
from explorer import adapters, jobs, state
from explorer.navigation import PAGES, page_defaults

LESSON_FILE: Path = ic.resources.asset_path("lessons.json")
# The schedule fields a step may set; its "settings" preset pages' own settings, by page url name.
SCHEDULE_FIELDS = ("family", "dims_to_keep", "inflation_gap")
PRESENTER_FIGURE_HEIGHT = 380  # px: banner, title and figure fit a 1024x768 projector without scrolling
_KEY = re.compile(r"[A-Za-z0-9_.]+")
# Presenter mode: no sidebar or app header, larger text, less padding, the page's title (the banner names
# the step) and explanation hidden (the teacher speaks it), and every input control hidden except those
# the step names (KEEP, keys filled in) and the banner's own. Constant CSS from this file and keys checked
# against _KEY: no user input.
_INPUTS = (
    ":is(.stButton, .stDownloadButton, .stSlider, .stSelectbox, .stRadio, .stNumberInput, "
    ".stMultiSelect, .stCheckbox, .stTextInput, .stFileUploader, .stPopover)"
)
_PRESENTER_CSS = """<style>
[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl], [data-testid=stHeader],
.st-key-page_intro {display: none !important;}
[data-testid=stMainBlockContainer] {padding: 0.75rem 1.5rem 1rem; max-width: 100%;}
html {font-size: 18px;}
[data-testid=stMain] h1 {display: none;}
[data-testid=stMain] .stElementContainer:has(INPUTS):not(.st-key-lesson_banner *):not(KEEP) {display: none;}
</style>"""


@dataclass(frozen=True)
class Step:
    title: str
    goal: str  # one line: what the step shows
    page: str  # a page's url_path
    dataset: str
    schedule: dict
    settings: dict
    model: str | None  # a shipped model's name, loaded (with its data and schedule) for this step
    do: str
    notice: str
    ask: str
    controls: tuple[str, ...]  # widget keys of the controls ``do`` names: the only ones presenter mode shows


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
    steps = tuple(Step(**{**s, "controls": tuple(s.get("controls", ()))}) for s in raw["steps"])
    for i, step in enumerate(steps, 1):
        problems = [f"schedule field {k!r}" for k in step.schedule if k not in SCHEDULE_FIELDS]
        pages = page_defaults()
        problems += [f"settings of page {g!r}" for g in step.settings if g not in pages]
        problems += [
            f"setting {g}.{k}"
            for g, values in step.settings.items()
            if g in pages
            for k in values
            if k not in pages[g]
        ]
        if page_path(step) is None:
            problems.append(f"page {step.page!r}")
        if step.dataset not in ic.datasets.REGISTRY:
            problems.append(f"dataset {step.dataset!r}")
        if step.model is not None and step.model not in models:
            problems.append(f"model {step.model!r}")
        problems += [f"control key {k!r}" for k in step.controls if not _KEY.fullmatch(k)]
        if problems:
            raise ValueError(f"{LESSON_FILE.name}, step {i}: unknown {', '.join(problems)}.")
    return Lesson(raw["title"], raw["summary"], steps)


def page_path(step: Step) -> str | None:
    """The page file of a step (None when it names no page of the app)."""
    return next((p.path for p in PAGES if p.url_path == step.page), None)


def start(index: int) -> None:
    """Set the session up for step ``index`` (0-based): data, schedule, flow and page settings."""
    step = lesson().steps[index]
    if step.model:
        state.use_shipped_model(step.model)  # with the data and schedule the model was trained on
    else:
        state.set_data(state.DataSpec.default_for(step.dataset))
        state.set_schedule(replace(state.session().sched, **step.schedule))
        state.use_exact_flow()  # a loaded model stays loaded, one click away on Train / Load
    defaults = page_defaults()
    for page, values in {"flow": {}, **step.settings}.items():  # the Flow page's view starts afresh
        state.preset(page, {**defaults[page], **values} if page == "flow" else values)
    state.session().lesson = index


def apply_link() -> None:
    """A link's ``?lesson=N`` (1-based) starts that step, on its page unless the link names another (a
    hand-typed ``?lesson=4`` opens the Schedule page like the banner's link does). Called once per
    session, by ``app.py``."""
    raw = st.query_params.get("lesson")
    if raw is None:
        return
    steps = lesson().steps
    if not raw.isdigit() or not 1 <= int(raw) <= len(steps):
        state.notify(f"Ignored lesson={raw!r} in the link: the lesson has steps 1 to {len(steps)}.")
        return
    index = int(raw) - 1
    start(index)
    state.settings("lesson")["present"] = st.query_params.get("present") == "1"
    if "page" not in st.query_params:
        st.query_params["page"] = steps[index].page


def link(index: int) -> str:
    """The address that opens step ``index`` (0-based) in a fresh session, from this app's address (in
    presenter mode when it is on)."""
    step = lesson().steps[index]
    present = "&present=1" if presenting() else ""
    return f"{st.context.url or ''}?lesson={index + 1}&page={step.page}{present}"


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the element of a widget with this key."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def presenting() -> bool:
    """Whether a lesson runs in presenter mode."""
    return state.session().lesson is not None and state.settings("lesson")["present"]


def banner() -> None:
    """On top of every page while a lesson runs: the step, what to do, notice and ask, and navigation."""
    index = state.session().lesson
    if index is None:
        return
    steps = lesson().steps
    step = steps[index]
    present = presenting()
    if present:
        keep = "".join(f":not(.{key_class(key)})" for key in step.controls)
        st.html(_PRESENTER_CSS.replace("INPUTS", _INPUTS).replace(":not(KEEP)", keep))
    with st.container(border=True, key="lesson_banner"):
        heading = f"**Lesson, step {index + 1} of {len(steps)}: {step.title}**  \n**Do:** {step.do}"
        st.markdown(
            heading
            if present
            else f"{heading}  \n**Point out:** {step.notice}  \n**Ask the class:** {step.ask}"
        )
        # Short labels, columns sized to them: the whole row fits a 1024-px projector at presenter size.
        back, forward, end, mode, where, notes = st.columns(
            [1.2, 0.85, 1.2, 1.45, 1.35, 1.7], vertical_alignment="center"
        )
        if present:  # the projector shows what to do; the teacher keeps the rest one click away
            with notes.popover("Teacher notes", help="What to point out and what to ask the class."):
                st.markdown(f"**Point out:** {step.notice}  \n**Ask the class:** {step.ask}")
        target = None
        if back.button(
            "← Previous",
            key="lesson_back",
            disabled=index == 0,
            help="Set up the previous step and open its page.",
        ):
            target = index - 1
        if forward.button(
            "Next →",
            key="lesson_next",
            disabled=index == len(steps) - 1,
            type="primary",
            help="Set up the next step (data, schedule, flow and view) and open its page.",
        ):
            target = index + 1
        if end.button("End lesson", key="lesson_end", help="Hide this box; everything else stays."):
            state.session().lesson = None
            st.rerun()
        mode.toggle(
            "Presenter",
            **state.bind("lesson", "present"),
            help="For a projector: hides the sidebar, the page's explanation and every control this "
            "step does not name, and enlarges the text. A link with &present=1 opens it so.",
        )
        with where.popover(
            "Step link",
            help="An address for slides: it opens this step in a new session, set up as here.",
        ):
            st.code(link(index), language=None)
    if target is not None:
        go_to(target)


def step_animation(step: Step) -> tuple:
    """What a Flow-page step draws when its button is pressed in a fresh session: the active flow, the data,
    the ``adapters.FlowRequest`` and the page's view settings (so the warm-up below fills exactly the cache
    entries a class will ask for)."""
    if step.model:
        model = state.shipped_model(step.model)
        data_spec, sched_spec = state.trained_settings(model.card)
    else:
        model, data_spec = None, state.DataSpec.default_for(step.dataset)
        sched_spec = replace(
            state.ScheduleSpec.recommended(ic.datasets.info(step.dataset).dim, step.dataset), **step.schedule
        )
    data = state.load_data(data_spec)
    basis = adapters.basis_for(data.key, data.X)
    active = state.flow_for(data, basis, sched_spec.build(basis), model, state.SolverSpec())
    view = {**page_defaults()["flow"], **step.settings.get("flow", {})}
    request = adapters.FlowRequest.of_view(view, data_spec.seed, basis.dim, len(data.X))
    return active, data, request, view


@st.cache_resource
def warm_up() -> list:
    """Once per server: compute the Flow-page steps' animations in the background (the job runner's
    queue), so a class that opens a step's link and presses Compute gets the cached result at once."""
    steps = [step for step in lesson().steps if step.page == "flow"]
    return [
        jobs.runner().submit("warm-up", f"Lesson step: {step.title}", lambda job, step=step: warm(step))
        for step in steps
    ]


def warm(step: Step) -> None:
    """Compute a Flow-page step's animation and build its figure as a fresh session and a presenter draw
    it: pressing Compute in that step is then two cache hits."""
    active, data, request, view = step_animation(step)
    result = adapters.compute_flow(active.key, active.flow, data.key, data.X, data.labels, request)
    dims = adapters.shown_dims(data.X.shape[1], view["three_d"], view["dims"])
    title, subtitle = adapters.animation_title(request.direction, data.title, active.flow.schedule)
    for height in {adapters.ANIMATION_HEIGHT, min(adapters.ANIMATION_HEIGHT, PRESENTER_FIGURE_HEIGHT)}:
        adapters.animation_view(result, dims, view["colour"], view["trails"], title, height, subtitle)


def go_to(index: int) -> None:
    """Start step ``index`` and open its page."""
    start(index)
    st.switch_page(page_path(lesson().steps[index]))
