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
        ({"name": "digits", "n": 5000}, "from 10 to 1797"),
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
    assert table.labels.tolist() == ["b", "a"] * 6  # the classes by name, as the file spells them


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


# --------------------------------------------------------------------------- hostile tables (issue 12)
def numbers(rows=20, cols=2, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


def as_csv(X, header="a,b", sep=",", fmt=repr):
    lines = ([header] if header else []) + [sep.join(fmt(float(v)) for v in row) for row in X]
    return "\n".join(lines).encode()


@pytest.mark.parametrize(
    "X, message, not_message",
    [
        (np.ones((20, 2)), "identical", None),
        (numbers() * 1e300, "too large to compute with.*Rescale", "identical"),
        (numbers() * 1e-300, "too little to compute with.*Rescale", "identical"),
    ],
)
def test_tables_that_cannot_be_fitted_are_refused_with_the_true_reason(X, message, not_message):
    with pytest.raises(ValueError, match=message) as err:
        datasets.load_table(as_csv(X), "t.csv")
    assert not_message is None or not_message not in str(err.value)


def test_true_false_columns_are_refused_as_not_numbers():
    rows = "\n".join(f"{bool(i % 2)},{bool(i % 3)}" for i in range(20))
    with pytest.raises(ValueError, match="True/False"):
        datasets.load_table(("a,b\n" + rows).encode(), "t.csv")


def test_csv_without_header_keeps_its_first_row():
    X = numbers()
    table = datasets.load_table(as_csv(X, header=None), "t.csv")
    np.testing.assert_array_equal(table.X, X)
    assert table.columns == ["x1", "x2"]
    labelled = "\n".join(f"{a},{b},{'ab'[i % 2]}" for i, (a, b) in enumerate(X.tolist()))
    table = datasets.load_table(labelled.encode(), "t.csv", label_column="x3")
    assert table.X.shape == (20, 2) and table.labels.tolist() == ["a", "b"] * 10


@pytest.mark.parametrize(
    "sep, decimal_comma",
    [(";", True), (";", False), ("\t", True), ("\t", False), (" ", False), ("  ", True), (",", False)],
)
def test_separators_and_decimal_commas_are_detected(sep, decimal_comma):
    X = np.round(numbers(), 6)
    fmt = (lambda v: repr(v).replace(".", ",")) if decimal_comma else repr
    table = datasets.load_table(as_csv(X, header=sep.join("ab"), sep=sep, fmt=fmt), "t.csv")
    np.testing.assert_array_equal(table.X, X)
    assert table.columns == ["a", "b"]


def test_complex_and_structured_npy_are_refused():
    with pytest.raises(ValueError, match="complex"):
        datasets.load_table(_npy(numbers() + 1j), "t.npy")
    with pytest.raises(ValueError, match="structured"):
        datasets.load_table(_npy(np.zeros(20, dtype=[("a", float), ("b", float)])), "t.npy")


def test_npy_header_is_checked_before_the_array_is_read():
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (30, 2), }".ljust(117) + "\n"
    data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(80)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        datasets.load_table(data, "t.npy")
    X = numbers().astype(">f4")
    np.testing.assert_array_equal(datasets.load_table(_npy(np.asfortranarray(X)), "t.npy").X, X)


def test_integers_beyond_int64_are_numbers():
    rows = "\n".join(f"{i + 1}{'0' * 35},{i % 3}" for i in range(20))
    table = datasets.load_table(("a,b\n" + rows).encode(), "t.csv")
    assert table.X[0, 0] == 1e35
    with pytest.raises(ValueError, match="beyond floating-point range"):
        datasets.load_table(("a,b\n" + f"{10**400},1\n" + rows).encode(), "t.csv")


def test_untrusted_names_are_capped_plain_strings():
    table = datasets.load_table(as_csv(numbers(), header="x" * 10_000 + "\t y,b"), "t.csv")
    assert all(isinstance(c, str) and len(c) <= datasets.MAX_NAME_CHARS for c in table.columns)
    with pytest.raises(ValueError, match="is not in the file") as err:
        datasets.load_table(as_csv(numbers()), "t.csv", label_column="k" * 10_000)
    assert len(str(err.value)) < 200


def test_dataset_parameter_table_and_noise_range():
    for meta in datasets.REGISTRY.values():
        if meta.default_noise is not None:
            assert datasets.PARAMETERS["noise"].check(meta.default_noise) == meta.default_noise
    with pytest.raises(ValueError, match="noise must be a number from 0 to 5"):
        datasets.load("circles", noise=1e308)
    with pytest.raises(ValueError, match="seed must be a whole number from 0 to 2147483647"):
        datasets.load("circles", seed=True)


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()
