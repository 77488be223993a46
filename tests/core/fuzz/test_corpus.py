"""Issue 12: every hostile model file, table and parameter of the corpus gives a ValueError (valid ones
load), and loading any corpus file never raises the process's peak memory by 300 MB."""

import sys

import hostile_corpus as hc
import numpy as np
import pytest

import inflow_core as ic
from inflow_core import checkpoints, datasets

MODELS, TABLES = hc.model_files(), hc.tables()
SCHEDULES, DATASETS = hc.schedule_params(), hc.dataset_params()


@pytest.mark.parametrize("name", list(MODELS))
def test_model_file(name):
    case = MODELS[name]
    if not case.valid:
        with pytest.raises(ValueError):
            ic.load_flow(case.data)
        return
    flow = ic.load_flow(case.data)
    assert all(isinstance(flow.card[s], dict) for s in checkpoints.CARD_SECTIONS)
    assert np.all(np.isfinite(flow.encode(np.zeros((3, 2)))))


@pytest.mark.parametrize("name", list(TABLES))
def test_table(name):
    case = TABLES[name]
    if not case.valid:
        with pytest.raises(ValueError):
            datasets.load_table(case.data, case.filename, case.label_column)
        return
    table = datasets.load_table(case.data, case.filename, case.label_column)
    assert table.X.shape[0] >= datasets.MIN_ROWS and table.X.shape[1] == len(table.columns) >= 2
    assert np.all(np.isfinite(table.X)) and table.X.dtype == np.float64
    assert all(type(c) is str and len(c) <= datasets.MAX_NAME_CHARS for c in table.columns)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_parameters(name):
    case = SCHEDULES[name]
    if case.valid:
        assert ic.Schedule.create(eigenvalues=np.array([1.0, 0.5]), **case.kwargs).t_max > 0
        return
    with pytest.raises(ValueError) as err:
        ic.Schedule.create(eigenvalues=np.array([1.0, 0.5]), **case.kwargs)
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_parameters(name):
    case = DATASETS[name]
    if case.valid:
        X, _ = datasets.load(**case.kwargs)
        assert np.all(np.isfinite(X))
        return
    with pytest.raises(ValueError):
        datasets.load(**case.kwargs)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_loading_any_corpus_file_stays_under_300_mb_above_idle():
    rises = hc.peak_memory_of_loading()
    assert len(rises) == len(MODELS) + len(TABLES)
    worst = max(rises, key=rises.get)
    assert rises[worst] < 300 * 2**20, f"{worst} raised the peak memory by {rises[worst] / 2**20:.0f} MB"
