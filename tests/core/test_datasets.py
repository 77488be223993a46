"""Built-in datasets and validated uploads."""

import io

import numpy as np
import pytest

from inflow_core import datasets


@pytest.mark.parametrize("name", list(datasets.REGISTRY))
def test_every_dataset_loads_deterministically(name):
    meta = datasets.info(name)
    n = min(300, meta.max_n)
    X, labels = datasets.load(name, n=n, seed=3)
    assert X.shape == (n, meta.dim) and X.dtype == np.float64 and np.all(np.isfinite(X))
    X2, _ = datasets.load(name, n=n, seed=3)
    np.testing.assert_array_equal(X, X2)
    X3, _ = datasets.load(name, n=n, seed=4)
    assert not np.array_equal(X, X3)
    if labels is not None:
        assert labels.shape == (n,)
    if name not in ("gaussian", "digits"):  # toy sets are z-scored per coordinate
        np.testing.assert_allclose(X.mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(X.std(0), 1, atol=1e-12)


def test_circles_angles_are_iid_not_evenly_spaced():
    X, labels = datasets.load("circles", n=2000, seed=0, noise=0.0)
    angles = np.sort(np.arctan2(X[labels == 0, 1], X[labels == 0, 0]))
    gaps = np.diff(angles)
    # Evenly spaced angles have (nearly) constant gaps; iid uniform angles have exponential gaps (CV ~ 1).
    assert gaps.std() / gaps.mean() > 0.5


def test_gaussian_dataset_has_its_documented_covariance():
    X, labels = datasets.load("gaussian", n=20000, seed=0, dim=4)
    assert labels is None
    np.testing.assert_allclose(np.cov(X, rowvar=False), datasets.gaussian_covariance(4), atol=0.03)


def test_digits_are_64_dimensional_with_labels():
    X, labels = datasets.load("digits")
    assert X.shape == (1797, 64) and set(labels) == set(range(10))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "spirals"}, "Unknown dataset"),
        ({"name": "circles", "n": 5}, "n must be"),
        ({"name": "circles", "n": 2.5}, "n must be"),
        ({"name": "circles", "seed": -1}, "seed"),
        ({"name": "circles", "dim": 3}, "dim only applies"),
        ({"name": "circles", "noise": -0.1}, "noise"),
        ({"name": "digits", "n": 5000}, "at most 1797"),
    ],
)
def test_bad_dataset_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.load(**kwargs)


def csv_bytes(text):
    return text.encode()


def test_valid_csv_with_label_column():
    rows = "\n".join(f"{i},{i * 0.5},{'a' if i % 2 else 'b'}" for i in range(12))
    table = datasets.load_table(csv_bytes("x,y,kind\n" + rows), "data.csv", label_column="kind")
    assert table.X.shape == (12, 2) and table.columns == ["x", "y"]
    assert set(table.labels) == {0, 1}


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,name\n" + "\n".join(f"{i},n{i}" for i in range(12)), "not numeric"),
        ("x,y\n" + "\n".join(f"{i},{'nan' if i == 4 else i}" for i in range(12)), "row 5"),
        ("x\n" + "\n".join(str(i) for i in range(12)), "at least 10 rows and 2 numeric columns"),
        ("x,y\n1,2\n3,4", "at least 10 rows"),
        ("", "empty"),
    ],
)
def test_invalid_csvs_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        datasets.load_table(csv_bytes(text) if text else b"", "bad.csv")


def test_npy_is_read_without_pickle_and_caps_apply():
    buf = io.BytesIO()
    np.save(buf, np.arange(40.0).reshape(20, 2))
    assert datasets.load_table(buf.getvalue(), "ok.npy").X.shape == (20, 2)
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"evil": 1}] * 12, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="never loaded"):
        datasets.load_table(pickled.getvalue(), "evil.npy")
    with pytest.raises(ValueError, match="limit is"):
        datasets.load_table(b"1,2\n" * 100, "big.csv", max_bytes=100)
    with pytest.raises(ValueError, match="rows; the limit"):
        datasets.load_table(buf.getvalue(), "ok.npy", max_rows=10)
    with pytest.raises(ValueError, match="Unsupported file type"):
        datasets.load_table(b"\x89PNG....", "image.png")
    with pytest.raises(ValueError, match="not a valid .npy"):
        datasets.load_table(b"garbage that is not npy", "x.npy")
