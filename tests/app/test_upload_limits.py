"""AppTest: oversized, over-wide and non-table uploads are refused with a clear message before any parsing
work, the current data stays, and the other pages keep working."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import inflow_core as ic

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def big_csv() -> bytes:
    """A well-formed 50 MB CSV (two numeric columns, ~4.4 million rows)."""
    body = b"1.2345,6.7890\n" * (50 * 2**20 // 14)
    return b"a,b\n" + body


def wide_csv(columns: int = 1000, rows: int = 20) -> bytes:
    rng = np.random.default_rng(0)
    header = ",".join(f"c{i}" for i in range(columns))
    lines = [",".join(f"{v:.3f}" for v in row) for row in rng.standard_normal((rows, columns))]
    return ("\n".join([header, *lines]) + "\n").encode()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
CASES = {
    "50 MB CSV": ("big.csv", big_csv, "the limit is 20 MB"),
    "1,000 columns": ("wide.csv", wide_csv, "1000 columns; the limit is 512"),
    "image named .csv": ("photo.csv", lambda: PNG, "not UTF-8 text"),
    "PDF": ("paper.pdf", lambda: b"%PDF-1.4\n" + bytes(200), "upload a .csv or a .npy"),
    "image named .npy": ("photo.npy", lambda: PNG, "not a valid .npy file"),
    "a letter": ("letter.txt", lambda: b"Dear reader,\nthis is a letter, not a table.\n", "not numeric"),
}
# Streamlit's uploader itself refuses other extensions (type=[csv, npy, txt]) before the page sees them.
IN_APP = [case for case in CASES if CASES[case][0].rsplit(".", 1)[1] in ("csv", "npy", "txt")]


@pytest.mark.parametrize("case", list(CASES))
def test_load_table_refuses_with_a_message(case):
    filename, make, message = CASES[case]
    with pytest.raises(ValueError, match=message):
        ic.datasets.load_table(make(), filename)


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/data.py").run()
    at.radio[0].set_value("upload").run()
    return at


@pytest.mark.parametrize("case", IN_APP)
def test_bad_upload_shows_the_message_and_keeps_the_data(app, case):
    filename, make, message = CASES[case]
    at = app
    at.switch_page("pages/data.py").run()
    if at.radio[0].value != "upload":
        at.radio[0].set_value("upload").run()
    before = at.session_state["session"].data
    at.file_uploader(key="w.data.upload").set_value((filename, make(), "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert message in errors and "previous data is kept" in errors, errors
    assert at.session_state["session"].data == before
    # Nothing else broke: another page renders on the kept data.
    at.switch_page("pages/schedule.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
