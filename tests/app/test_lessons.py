"""AppTest: the class lesson. Every step opens from its link with its data, schedule, flow and view set
up, shows its banner, and the button it tells the teacher to press works; the home page starts steps;
the banner moves between steps; a broken lesson file is refused with the step and field named."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer import lessons

APP = str(Path(__file__).resolve().parents[2] / "app.py")
STEPS = lessons.lesson().steps
# The button each page's step tells the teacher to press ("Do: Press **...**"), by page.
ACTION = {
    "flow": "compute_flow",
    "uncertainty": "unc_run",
    "calibration": "cal_run",
    "inspect": "insp_encode",
    "inference": "inf_simulate",
}


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_step(number: int) -> AppTest:
    """A fresh session opened from step ``number``'s link (1-based), as a slide would open it."""
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"lesson": str(number), "page": STEPS[number - 1].page})
    return at.run()


def banner_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Lesson, step"))


@pytest.mark.slow
@pytest.mark.parametrize("number", range(1, len(STEPS) + 1))
def test_every_step_opens_from_its_link_and_its_button_works(number, wait_for_coverage, page_controls):
    step = STEPS[number - 1]
    at = open_step(number)
    clean(at)
    assert at.session_state["session"].lesson == number - 1
    assert banner_text(at).startswith(f"**Lesson, step {number} of {len(STEPS)}: {step.title}**")
    assert at.session_state["session"].data.dataset == step.dataset
    for field, value in step.schedule.items():
        assert getattr(at.session_state["session"].sched, field) == value
    for field, value in step.settings.get("flow", {}).items():
        assert at.session_state["session"].pages["flow"][field] == value
    if step.model:
        assert at.session_state["session"].use_model
        assert step.model in at.session_state["session"].model.source
    labels = {control.label for control in page_controls(at)}
    if step.page in ACTION:
        assert f"**{at.button(key=ACTION[step.page]).label}**" in step.do  # the text names the button
        at.button(key=ACTION[step.page]).click().run()
        if step.page == "calibration":
            wait_for_coverage(at)
            job = at.session_state["session"].jobs["coverage"]
            assert job.error is None and len(job.result) == len(step.settings["calibration"]["choices"])
        clean(at)
        assert at.get("plotly_chart"), "the action drew its figures"
        # Controls that appear only with results, e.g. Compute UMAP.
        labels |= {control.label for control in page_controls(at)}
    # Every control the step names in bold exists on the page (Play is the animation's own button).
    named = set(re.findall(r"\*\*(.+?)\*\*", step.do)) - {"Play"}
    assert named <= labels, named - labels


def test_home_lists_the_steps_and_a_button_sets_one_up():
    at = AppTest.from_file(APP, default_timeout=120).run()
    clean(at)
    keys = [b.key for b in at.button if b.key and b.key.startswith("lesson_start_")]
    assert len(keys) == len(STEPS) == 8
    at.button(key="lesson_start_2").click().run()  # step 3: circles reduced to one dimension
    clean(at)
    assert at.title[0].value == "Flow"
    sched = at.session_state["session"].sched
    assert sched.family == "reducing" and sched.dims_to_keep == 1
    assert banner_text(at).startswith("**Lesson, step 3 of 8")


def test_banner_moves_between_steps_and_ends():
    # AppTest loses clicks on a page that the script itself switched to (st.switch_page: a link's ?page=,
    # the banner's buttons), so each page is re-entered through AppTest's own switch before a click; the
    # browser test clicks through from a link.
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/flow.py").run()
    at.session_state["session"].lesson = 2
    at.run()
    assert at.button(key="lesson_back").disabled is False
    at.button(key="lesson_next").click().run()
    clean(at)
    assert at.session_state["session"].lesson == 3 and at.title[0].value == "Schedule"
    at.switch_page("pages/schedule.py").run()
    at.button(key="lesson_back").click().run()
    assert at.session_state["session"].lesson == 2 and at.title[0].value == "Flow"
    at.switch_page("pages/flow.py").run()
    at.button(key="lesson_end").click().run()
    assert at.session_state["session"].lesson is None
    assert not [m for m in at.markdown if m.value.startswith("**Lesson, step")]
    assert at.session_state["session"].sched.family == "reducing"  # ending keeps the settings


def test_last_step_has_no_next_and_a_bad_link_is_reported():
    at = open_step(len(STEPS))
    assert at.button(key="lesson_next").disabled is True
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": "99"})
    at.run()
    assert not at.exception
    assert any("lesson='99'" in w.value for w in at.warning)
    assert at.session_state["session"].lesson is None


def test_a_hand_typed_link_without_a_page_opens_the_steps_page():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": "4"})
    at.run()
    clean(at)
    assert at.title[0].value == "Schedule"
    assert banner_text(at).startswith("**Lesson, step 4 of")


def test_a_broken_lesson_file_names_the_step_and_the_field(tmp_path, monkeypatch):
    raw = json.loads(lessons.LESSON_FILE.read_text())
    raw["steps"][1]["model"] = "no_such_model"
    raw["steps"][1]["page"] = "nowhere"
    path = tmp_path / "lessons.json"
    path.write_text(json.dumps(raw))
    monkeypatch.setattr(lessons, "LESSON_FILE", path)
    lessons.lesson.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"step 2: unknown page 'nowhere', model 'no_such_model'"):
            lessons.lesson()
    finally:
        lessons.lesson.cache_clear()


def test_the_flow_steps_are_warm_before_class():
    """The server computes the Flow-page steps' animations and builds their figures in the background at
    start: pressing Compute in a step opened from its link is then a cache hit (no new solve, no new figure),
    the same objects every session gets."""
    from explorer import adapters

    for job in lessons.warm_up():
        assert job.wait(600) and job.error is None, job.error
    for number, step in enumerate(STEPS, 1):
        if step.page != "flow":
            continue
        at = open_step(number)
        before = adapters.cache().computed_by.copy()
        at.button(key="compute_flow").click().run()
        clean(at)
        after = adapters.cache().computed_by
        assert after["flow_result"] == before["flow_result"], f"step {number} solved again"
        assert after["animation_view"] == before["animation_view"], f"step {number} built its figure again"
        assert any(json.loads(c.proto.spec).get("frames") for c in at.get("plotly_chart"))
