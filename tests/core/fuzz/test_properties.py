"""Issue 12, property-based: whatever the card metadata, schedule fields, header bytes, table contents or
parameters, the library answers with a result or a ValueError, never another exception."""

import io
import json

import hostile_corpus as hc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import inflow_core as ic
from inflow_core import checkpoints, datasets, schedules

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=70) | st.dictionaries(st.text(max_size=70), inner, max_size=8),
    max_leaves=150,
)


def loads_or_value_error(data: bytes):
    try:
        return ic.load_flow(data)
    except ValueError:
        return None


@FUZZ
@given(json_values)
def test_validate_card_gives_a_plain_card_or_a_value_error(card):
    try:
        clean = checkpoints.validate_card(card)
    except ValueError:
        return
    assert all(isinstance(clean[s], dict) for s in checkpoints.CARD_SECTIONS)
    json.dumps(clean, allow_nan=False)
    assert checkpoints.validate_card(clean) == clean


@FUZZ
@given(st.dictionaries(st.sampled_from(list(checkpoints.CARD_SECTIONS) + ["note"]), json_values, max_size=5))
def test_any_card_in_a_model_file_loads_or_is_refused(card):
    flow = loads_or_value_error(hc.with_meta(hc.base_model(), card=json.dumps(card)))
    assert flow is None or all(isinstance(flow.card[s], dict) for s in checkpoints.CARD_SECTIONS)


@FUZZ
@given(st.sampled_from(["family", *schedules.PARAMETERS, "exec"]), json_values)
def test_any_schedule_field_in_a_model_file_loads_or_is_refused(key, value):
    params = {**json.loads(hc.split(hc.base_model())[0]["__metadata__"]["schedule"]), key: value}
    flow = loads_or_value_error(hc.with_meta(hc.base_model(), schedule=json.dumps(params)))
    assert flow is None or flow.schedule.stiffness() <= schedules.MAX_STIFFNESS


@FUZZ
@given(st.sampled_from(["dim", "width", "depth", "t_max", "n_freq", "architecture"]), json_values)
def test_any_network_field_in_a_model_file_loads_or_is_refused(key, value):
    config = {**json.loads(hc.split(hc.base_model())[0]["__metadata__"]["network"]), key: value}
    loads_or_value_error(hc.with_meta(hc.base_model(), network=json.dumps(config)))


@FUZZ
@given(st.data())
def test_corrupted_header_bytes_load_or_are_refused(data):
    base = bytearray(hc.base_model())
    end = 8 + int.from_bytes(base[:8], "little")
    for _ in range(data.draw(st.integers(1, 8))):
        base[data.draw(st.integers(0, end - 1))] = data.draw(st.integers(0, 255))
    loads_or_value_error(bytes(base))


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused(data):
    with pytest.raises(ValueError):
        ic.load_flow(data)


cells = (
    st.sampled_from(
        [
            "1",
            "-2.5",
            "1e300",
            "1e-300",
            "nan",
            "",
            "True",
            "abc",
            "1,5",
            "inf",
            '"q"',
            "10" * 30,
            " ",
            "\t",
            ";",
            "é",
            "NA",
            "-",
        ]
    )
    | st.floats().map(repr)
    | st.integers().map(str)
    | st.text(max_size=8)
)


@FUZZ
@given(
    st.lists(st.lists(cells, min_size=1, max_size=5), max_size=25),
    st.sampled_from([",", ";", "\t", " "]),
    st.sampled_from(["t.csv", "t.txt"]),
    st.sampled_from([None, "x2", "b", "kind"]),
)
def test_any_csv_gives_a_finite_table_or_a_value_error(rows, sep, filename, label):
    text = "\n".join(sep.join(row) for row in rows)
    try:
        table = datasets.load_table(text.encode(), filename, label)
    except ValueError:
        return
    assert table.X.shape[0] >= datasets.MIN_ROWS and table.X.shape[1] == len(table.columns)
    assert np.all(np.isfinite(table.X))


@FUZZ
@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=2),
        min_size=10,
        max_size=30,
    )
)
def test_finite_numeric_csvs_load_or_are_refused_as_unfittable(rows):
    text = "a,b\n" + "\n".join(f"{x!r},{y!r}" for x, y in rows)
    try:
        table = datasets.load_table(text.encode(), "t.csv")
    except ValueError as err:
        assert "identical" in str(err) or "compute with" in str(err) or "constant" in str(err)
        return
    np.testing.assert_array_equal(table.X, np.array(rows))


@FUZZ
@given(
    hnp.arrays(
        hnp.scalar_dtypes() | hnp.array_dtypes(max_size=2),
        hnp.array_shapes(min_dims=0, max_dims=3, max_side=20),
    )
)
def test_any_npy_array_gives_a_finite_table_or_a_value_error(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    try:
        table = datasets.load_table(buf.getvalue(), "t.npy")
    except ValueError:
        return
    assert arr.dtype.kind in "iuf" and np.all(np.isfinite(table.X))


@FUZZ
@given(st.binary(max_size=300))
def test_npy_bytes_after_the_magic_are_refused_or_read(body):
    try:
        datasets.load_table(b"\x93NUMPY" + body, "t.npy")
    except ValueError:
        pass


@FUZZ
@given(
    st.sampled_from([*schedules.FAMILIES, "spiral"]),
    st.dictionaries(st.sampled_from(list(schedules.PARAMETERS)), scalars, max_size=4),
)
def test_any_schedule_parameters_give_a_solvable_schedule_or_a_value_error(family, params):
    try:
        sched = ic.Schedule.create(family, np.array([2.0, 1.0, 0.1]), **params)
    except ValueError:
        return
    assert 0 < sched.t_max < np.inf and sched.stiffness() <= schedules.MAX_STIFFNESS
    assert np.all(np.isfinite(sched.noise(np.linspace(0, sched.t_max, 5))))


@FUZZ
@given(
    st.sampled_from(list(datasets.REGISTRY)),
    st.dictionaries(st.sampled_from(["n", "seed", "noise"]), scalars, max_size=3),
)
def test_any_dataset_parameters_give_finite_data_or_a_value_error(name, params):
    try:
        X, _ = datasets.load(name, **params)
    except ValueError:
        return
    assert np.all(np.isfinite(X))
