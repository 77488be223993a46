"""Text from a link, a file name, a CSV header or a model card is shown as plain text: a markdown link or
image in it never becomes a link or an image (the browser check is tests/browser/test_hostile_browser.py)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import inflow_core as ic
from explorer.text import for_figure, plain
from inflow_core import checkpoints, training

APP = str(Path(__file__).resolve().parents[2] / "app.py")
URL = "http://127.0.0.1:9/x.png"
PAYLOADS = [
    f"[Your session expired: log in again]({URL})",
    f"![p]({URL})",
    f"<img src='{URL}'>",
    "www.example.com",
    "see http://example.com/x.png now",
    "mail me@example.com",
    "1. a list",
    "# a heading",
    ":red[coloured] :material/home:",
]
# What markdown turns into a link, an image, HTML, a heading or a list: none may survive escaping. Bare
# links are found after escapes are undone, so "://", "www." and "x@" must not appear whole at all.
ACTIVE = re.compile(r"(?<!\\)\]\((?!\\)|(?<!\\)!\[|(?<!\\)<|^#|^\d+\.|www\.|://|\w\\?@|(?<!\\):[a-z]")
MARKER = "x.png"  # in every payload: text that shows it must show it inactive


def rendered_text(at: AppTest) -> list[str]:
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "subheader", "title")
    return [el.value for kind in kinds for el in getattr(at, kind)]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_plain_leaves_nothing_active(payload):
    assert not ACTIVE.search(plain(payload)), plain(payload)
    assert "<" not in for_figure(payload) and ">" not in for_figure(payload)


@pytest.mark.parametrize("name", ["dataset", "family", "n", "lesson", "gamma0"])
def test_link_values_are_quoted_as_plain_text(name):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({name: f"![p]({URL})"})
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("Ignored" in w for w in warnings), warnings
    for text in rendered_text(at):
        assert MARKER not in text or not ACTIVE.search(text), text


def test_uploaded_file_and_header_names_are_plain_text():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/data.py").run()
    at.radio(key="w.data.source").set_value("upload").run()
    rows = np.random.default_rng(0).standard_normal((30, 2))
    header = f"[a]({URL}),![b]({URL})"
    csv = (header + "\n" + "\n".join(f"{x:.4f},{y:.4f}" for x, y in rows)).encode()
    at.file_uploader(key="w.data.upload").set_value((f"![p]({URL}).csv", csv, "text/csv")).run()
    assert not at.exception
    assert at.session_state["session"].data.dataset == "upload"
    for page in ("pages/data.py", "pages/flow.py", "pages/train.py", "pages/calibration.py"):
        at.switch_page(page).run()
        assert not at.exception
        for text in rendered_text(at) + [m.value for m in at.sidebar.markdown]:
            assert MARKER not in text or not ACTIVE.search(text), (page, text)


def tiny_model(**data_info) -> bytes:
    """A 3-step model of 300 circles points (isotropic) as a .safetensors file, its card's data fields
    ``data_info``."""
    X, _ = ic.datasets.load("circles", n=300, seed=0)
    basis = ic.EigenBasis.fit(X)
    result = training.train(
        X,
        basis,
        ic.Schedule.isotropic(basis.eigenvalues),
        training.TrainConfig(steps=3, batch_size=64, width=32, depth=2, device="cpu"),
        data_info=data_info,
    )
    return checkpoints.to_bytes(result.flow, result.card)


def test_model_card_fields_are_plain_text():
    content = tiny_model(dataset=f"![p]({URL})", note=f"[x]({URL})")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.file_uploader(key="w.train.upload").set_value(
        (f"[m]({URL}).safetensors", content, "application/octet-stream")
    ).run()
    assert not at.exception
    for page in ("pages/train.py", "pages/flow.py", "pages/calibration.py"):
        at.switch_page(page).run()
        assert not at.exception
        for text in rendered_text(at) + [m.value for m in at.sidebar.markdown]:
            assert MARKER not in text or not ACTIVE.search(text), (page, text)


def test_calibration_names_an_uploaded_model_plainly_in_each_place(run_coverage):
    """A model file's name reaches the Calibration page's legends, table, radio and messages: each shows it
    as text (a legend escapes HTML, markdown escapes markdown, the table shows it as it is), never as a
    link and never with markdown's backslashes in a legend or the table."""
    content = tiny_model(dataset="circles", n=300, seed=0)  # fits the page's data below
    name = f"my_model <a href='{URL}'>[x]({URL})</a>.safetensors"
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"n": "300"})
    at.run()
    at.switch_page("pages/train.py").run()
    at.file_uploader(key="w.train.upload").set_value((name, content, "application/octet-stream")).run()
    at.switch_page("pages/calibration.py").run()
    run_coverage(at, choices=["model"])
    assert not at.exception, [e.value for e in at.exception]
    legends = [
        trace["name"]
        for chart in at.get("plotly_chart")
        for trace in json.loads(chart.proto.spec)["data"]
        if "learned model" in trace.get("name", "")
    ]
    assert legends and all("my_model &lt;a href=" in n and "<" not in n and "\\" not in n for n in legends)
    flows = list(at.dataframe[0].value["flow"])
    assert flows == [f"learned model (uploaded {name})"]
    labels = at.radio(key="cal_pick").options
    assert len(labels) == 1 and "my\\_model" in labels[0] and not ACTIVE.search(labels[0])
    for text in rendered_text(at):
        assert MARKER not in text or not ACTIVE.search(text), text
