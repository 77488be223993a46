"""A corpus of hostile (and a few valid) inputs, crafted in code: model files, tables, schedule and
dataset parameters. Used by tests/core/fuzz/test_corpus.py and bench/hostile_input.py.

Every generator returns a dict name -> case; a case is valid (must load) or must give a ValueError.
Model files are built from one tiny valid model (D = 2, width 8, depth 1), so each case changes one
thing in an otherwise loadable file.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import inflow_core as ic
from inflow_core import checkpoints
from inflow_core.networks import NetworkDenoiser

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ModelCase:
    data: bytes
    valid: bool = False


@dataclass(frozen=True)
class TableCase:
    data: bytes
    filename: str
    label_column: str | None = None
    valid: bool = False


@dataclass(frozen=True)
class ParamCase:
    kwargs: dict
    valid: bool = False


# --------------------------------------------------------------------------- model files
@cache
def base_model(family: str = "reducing") -> bytes:
    """The bytes of a tiny valid model file (deterministic)."""
    X, _ = ic.datasets.load("gaussian", n=200, seed=0, dim=2)
    basis = ic.EigenBasis.fit(X)
    params = {"dims_to_keep": 1} if family == "reducing" else {}
    sched = ic.Schedule.create(family, basis.eigenvalues, **params)
    torch.manual_seed(0)
    den = NetworkDenoiser(basis.eigenvalues, sched.t_max, width=8, depth=1)
    flow = ic.InflationaryFlow(basis, sched, den.double())
    card = {
        "data": {"dataset": "gaussian", "n": 200, "seed": 0, "noise": None, "dim": 2},
        "schedule": sched.to_dict(),
        "training": {"steps": 10, "seconds": 0.5, "stopped": False},
    }
    return checkpoints.to_bytes(flow, card)


def split(data: bytes) -> tuple[dict, bytes]:
    """(header dict, payload bytes) of a safetensors file."""
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def join(header, payload: bytes, raw: str | bytes | None = None) -> bytes:
    """A safetensors file from a header (or raw header text) and a payload."""
    text = raw if isinstance(raw, bytes) else (raw if raw is not None else json.dumps(header)).encode()
    return struct.pack("<Q", len(text)) + text + payload


def with_meta(data: bytes, **changes) -> bytes:
    """The file with metadata entries replaced; a dict or list value is stored as JSON text."""
    header, payload = split(data)
    for key, value in changes.items():
        header["__metadata__"][key] = value if isinstance(value, str) else json.dumps(value)
    return join(header, payload)


def with_entry(data: bytes, name: str, **changes) -> bytes:
    """The file with one tensor entry's fields replaced (raw JSON values, may be malformed)."""
    header, payload = split(data)
    header[name] = {**header[name], **changes}
    return join(header, payload)


def with_tensors(data: bytes, change) -> bytes:
    """The file re-saved after ``change(tensors)`` edits its tensors in place."""
    tensors = st_load(data)
    change(tensors)
    return st_save(tensors, metadata=split(data)[0]["__metadata__"])


def _schedule(data: bytes) -> dict:
    return json.loads(split(data)[0]["__metadata__"]["schedule"])


def _network(data: bytes) -> dict:
    return json.loads(split(data)[0]["__metadata__"]["network"])


def _deep(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def model_files() -> dict[str, ModelCase]:
    """Model-file cases: three valid ones and ~90 hostile ones."""
    base = base_model()
    header, payload = split(base)
    sched, net = _schedule(base), _network(base)
    offsets = {k: v["data_offsets"] for k, v in header.items() if k != "__metadata__"}
    cases = {
        "valid reducing": ModelCase(base, True),
        "valid isotropic": ModelCase(base_model("isotropic"), True),
        "valid float16 weights": ModelCase(
            with_tensors(
                base, lambda t: t.update({k: v.half() for k, v in t.items() if k.startswith("net.")})
            ),
            True,
        ),
    }
    bad = {
        # foreign files
        "empty": b"",
        "four bytes": b"\x01\x02\x03\x04",
        "pickle": pickle.dumps({"weights": [1, 2, 3]}),
        "torch zip": _zip(),
        "png": b"\x89PNG\r\n\x1a\n" + bytes(100),
        "json text": b'{"format": "inflow-flow"}',
        "random bytes": np.random.default_rng(0).bytes(3000),
        "safetensors without metadata": st_save({"w": torch.zeros(2)}),
        # the length prefix and the header text
        "header length 0": struct.pack("<Q", 0) + payload,
        "header length 2^63": struct.pack("<Q", 2**63) + base[8:],
        "header longer than file": struct.pack("<Q", len(base)) + base[8:],
        "header 1 MB of spaces": join(None, payload, json.dumps(header) + " " * 2**20),
        "header not utf-8": join(None, payload, b"\xff\xfe{}"),
        "header is a list": join([1, 2], payload),
        "header nested 100k deep": join(None, payload, "[" * 100_000 + "]" * 100_000),
        "header nested 5k deep in a tensor entry": join(
            None, payload, json.dumps(header)[:-1] + ', "x": ' + _deep(5000) + "}"
        ),
        "truncated payload": base[:-10],
        "trailing bytes": base + b"\x00" * 16,
        "metadata not text": join(
            {**header, "__metadata__": {**header["__metadata__"], "card": {"a": 1}}}, payload
        ),
        "metadata is a list": join({**header, "__metadata__": [1]}, payload),
        "format version 99": with_meta(base, format_version="99"),
        "format version list": join(
            {**header, "__metadata__": {**header["__metadata__"], "format_version": [1]}}, payload
        ),
        "300 tensors": join(
            {
                **header,
                **{f"x{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(300)},
            },
            payload,
        ),
        # tensor entries
        "data_offsets null": with_entry(base, "basis.mean", data_offsets=None),
        "data_offsets 1e400": join(
            None, payload, json.dumps(header).replace(json.dumps(offsets["basis.mean"]), "[0, 1e400]", 1)
        ),
        "data_offsets [0]": with_entry(base, "basis.mean", data_offsets=[0]),
        "data_offsets reversed": with_entry(base, "basis.mean", data_offsets=offsets["basis.mean"][::-1]),
        "data_offsets negative": with_entry(base, "basis.mean", data_offsets=[-16, 0]),
        "data_offsets text": with_entry(base, "basis.mean", data_offsets=["0", "16"]),
        "data_offsets booleans": with_entry(base, "basis.mean", data_offsets=[False, True]),
        "data_offsets past the end": with_entry(base, "basis.mean", data_offsets=[0, 2**40]),
        "data_offsets overlap": with_entry(base, "basis.scale", data_offsets=offsets["basis.mean"]),
        "shape null": with_entry(base, "basis.mean", shape=None),
        "shape negative": with_entry(base, "basis.mean", shape=[-2]),
        "shape huge": with_entry(base, "basis.vectors", shape=[2**20, 2**20]),
        "shape text": with_entry(base, "basis.mean", shape=["2"]),
        "shape 1e400": join(None, payload, json.dumps(header).replace('"shape": [2]', '"shape": [1e400]', 1)),
        "dtype I32": with_entry(base, "basis.mean", dtype="I32", shape=[4]),
        "dtype null": with_entry(base, "basis.mean", dtype=None),
        "entry with an extra key": with_entry(base, "basis.mean", extra=1),
        "entry is a list": join({**header, "basis.mean": [1, 2]}, payload),
        "integer weights": with_tensors(
            base, lambda t: t.update({"net.net.out.bias": torch.zeros(2, dtype=torch.int32)})
        ),
        "missing tensor": with_tensors(base, lambda t: t.pop("basis.scale")),
        "extra tensor": with_tensors(base, lambda t: t.update({"evil": torch.zeros(3)})),
        "long tensor name": with_tensors(base, lambda t: t.update({"x" * 10_000: torch.zeros(1)})),
        "wrong weight shape": with_tensors(base, lambda t: t.update({"net.net.out.weight": torch.ones(2)})),
        "wrong basis shape": with_tensors(base, lambda t: t.update({"basis.vectors": torch.zeros(3, 3)})),
        "NaN weight": with_tensors(base, lambda t: t["net.net.inp.weight"].__setitem__((0, 0), float("nan"))),
        "inf basis": with_tensors(base, lambda t: t["basis.mean"].__setitem__(0, float("inf"))),
        "negative eigenvalue": with_tensors(base, lambda t: t["basis.eigenvalues"].__setitem__(1, -1.0)),
        "ascending eigenvalues": with_tensors(
            base, lambda t: t.update({"basis.eigenvalues": t["basis.eigenvalues"].flip(0).contiguous()})
        ),
        "zero scale": with_tensors(base, lambda t: t["basis.scale"].__setitem__(0, 0.0)),
        # network configuration
        "width 4096 depth 64 (2.4 KB file)": with_meta(base, network={**net, "width": 4096, "depth": 64}),
        "width 4096": with_meta(base, network={**net, "width": 4096}),
        "dim 1024": with_meta(base, network={**net, "dim": 1024}),
        "dim 10^6": with_meta(base, network={**net, "dim": 10**6}),
        "depth 0": with_meta(base, network={**net, "depth": 0}),
        "width text": with_meta(base, network={**net, "width": "8"}),
        "width true": with_meta(base, network={**net, "width": True}),
        "width 8.5": with_meta(base, network={**net, "width": 8.5}),
        "t_max NaN": with_meta(base, network=json.dumps(net).replace(str(net["t_max"]), "NaN")),
        "t_max 1e400": with_meta(base, network=json.dumps(net).replace(str(net["t_max"]), "1e400")),
        "t_max -1": with_meta(base, network={**net, "t_max": -1}),
        "architecture list": with_meta(base, network={**net, "architecture": ["resmlp-v1"]}),
        "n_freq 9": with_meta(base, network={**net, "n_freq": 9}),
        "network nested 100k deep": with_meta(base, network="[" * 100_000 + "]" * 100_000),
        "network not JSON": with_meta(base, network="{not json"),
        "network missing": join(
            {**header, "__metadata__": {k: v for k, v in header["__metadata__"].items() if k != "network"}},
            payload,
        ),
        # schedule
        "schedule nested 100k deep": with_meta(base, schedule="[" * 100_000 + "]" * 100_000),
        "schedule nested 20 deep": with_meta(base, schedule=_deep(20)),
        "schedule is a list": with_meta(base, schedule=[1, 2]),
        "schedule is a string": with_meta(base, schedule=json.dumps("reducing")),
        "gamma0 abc": with_meta(base, schedule={**sched, "gamma0": "abc"}),
        "kappa null": with_meta(base, schedule={**sched, "kappa": None}),
        "dims_to_keep [1]": with_meta(base, schedule={**sched, "dims_to_keep": [1]}),
        "dims_to_keep true": with_meta(base, schedule={**sched, "dims_to_keep": True}),
        "dims_to_keep 999": with_meta(base, schedule={**sched, "dims_to_keep": 999}),
        "family script": with_meta(base, schedule={**sched, "family": "<script>alert(1)</script>"}),
        "family missing": with_meta(base, schedule={k: v for k, v in sched.items() if k != "family"}),
        "family a dict": with_meta(base, schedule={**sched, "family": {"a": 1}}),
        "inflation gap 1e6": with_meta(base, schedule={**sched, "inflation_gap": 1e6}),
        "t_max 1e6": with_meta(base, schedule={**sched, "t_max": 1e6}),
        "gamma0 1e6": with_meta(base, schedule={**sched, "gamma0": 1e6}),
        "isotropic with dims_to_keep": with_meta(base, schedule={**sched, "family": "isotropic"}),
        "unknown schedule key": with_meta(base, schedule={**sched, "exec": "import os"}),
        # basis metadata
        "basis standardize text": with_meta(base, basis={"standardize": "yes"}),
        "basis is a list": with_meta(base, basis=[True]),
        # model card
        "card data is a list": with_meta(base, card={"data": [1, 2]}),
        "card data is a string": with_meta(base, card={"data": "circles"}),
        "card is a list": with_meta(base, card=[1, 2]),
        "card nested 100k deep": with_meta(base, card=_deep(100_000)),
        "card nested 6 deep": with_meta(base, card=_deep(6)),
        "card string of 100k characters": with_meta(base, card={"note": "x" * 100_000}),
        "card string of 1000 characters": with_meta(base, card={"data": {"filename": "x" * 1000}}),
        "card list of 1000 items": with_meta(base, card={"quality": {"x": list(range(1000))}}),
        "card with 5000 entries": with_meta(base, card={"quality": {f"k{i}": i for i in range(5000)}}),
        "card key of 1000 characters": with_meta(base, card={"k" * 1000: 1}),
        "card NaN": with_meta(base, card='{"quality": {"energy": NaN}}'),
        "card 1e400": with_meta(base, card='{"quality": {"energy": 1e400}}'),
        "card integer 10^30": with_meta(base, card={"training": {"steps": 10**30}}),
        "card data.n text": with_meta(base, card={"data": {"n": "2000"}}),
        "card training.stopped text": with_meta(base, card={"training": {"stopped": "no"}}),
        "card reducing schedule without dims_to_keep": with_meta(
            base,
            card={
                "schedule": {"family": "reducing", "gamma0": 5e-4, "rho": 1.0, "t_max": 7.0, "kappa": 1000.0}
            },
        ),
        "card schedule family script": with_meta(base, card={"schedule": {"family": "<b>x</b>"}}),
        "card schedule rho text": with_meta(base, card={"schedule": {**sched, "rho": "1"}}),
        "card not JSON": with_meta(base, card="{"),
    }
    cases.update({name: ModelCase(data) for name, data in bad.items()})
    return cases


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
    return buf.getvalue()


# --------------------------------------------------------------------------- tables
def _csv(rows, header: str | None = "a,b", sep: str = ",") -> bytes:
    lines = ([header] if header is not None else []) + [sep.join(str(v) for v in row) for row in rows]
    return "\n".join(lines).encode()


def _npy(arr, **kwargs) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kwargs)
    return buf.getvalue()


def _big_csv(X: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savetxt(
        buf, X, fmt="%.3f", delimiter=",", header=",".join(f"c{i}" for i in range(X.shape[1])), comments=""
    )
    return buf.getvalue()


def _npy_header(shape, descr: str = "<f8", fortran: bool = False, body: bytes = b"") -> bytes:
    """A .npy file whose header says ``shape`` and ``descr`` whatever the body holds."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + body


def tables() -> dict[str, TableCase]:
    """Table cases: valid ones in every accepted dialect and ~50 hostile ones."""
    rng = np.random.default_rng(0)
    normal = rng.standard_normal((30, 3))
    cases = {
        "valid csv": TableCase(_csv(normal, "x,y,z"), "t.csv", valid=True),
        "valid csv without header": TableCase(_csv(normal, None), "t.csv", valid=True),
        "valid semicolon decimal comma": TableCase(
            _csv([[f"{v:.4f}".replace(".", ",") for v in row] for row in normal], "x;y;z", ";"),
            "t.csv",
            valid=True,
        ),
        "valid tab": TableCase(_csv(normal, "x\ty\tz", "\t"), "t.txt", valid=True),
        "valid spaces": TableCase(_csv(normal, "x y z", "   "), "t.txt", valid=True),
        "valid label column": TableCase(
            _csv([[*r, "ab"[i % 2]] for i, r in enumerate(normal)], "x,y,z,kind"), "t.csv", "kind", valid=True
        ),
        "valid headerless with text labels": TableCase(
            _csv([[*r, "ab"[i % 2]] for i, r in enumerate(normal)], None), "t.csv", "x4", valid=True
        ),
        "valid integers above 1e30": TableCase(
            _csv([[f"{i + 1}" + "0" * 35, i % 7] for i in range(30)]), "t.csv", valid=True
        ),
        "valid header of 10k characters": TableCase(_csv(normal, "x" * 10_000 + ",y,z"), "t.csv", valid=True),
        "valid npy float32": TableCase(_npy(normal.astype(np.float32)), "t.npy", valid=True),
        "valid npy int64": TableCase(_npy(rng.integers(0, 100, (30, 2))), "t.npy", valid=True),
        "valid npy fortran big-endian": TableCase(
            _npy(np.asfortranarray(normal).astype(">f8")), "t.npy", valid=True
        ),
        # The largest valid uploads: what memory a legitimate table may take.
        "valid 18.6 MB csv, 6,000 x 500": TableCase(
            _big_csv(rng.standard_normal((6000, 500))), "t.csv", valid=True
        ),
        "valid 19 MB npy, 50,000 x 50": TableCase(
            _npy(rng.standard_normal((50_000, 50))), "t.npy", valid=True
        ),
    }
    bad = {
        "all rows identical": (_csv(np.ones((30, 2))), "t.csv"),
        "True/False columns": (_csv([[bool(i % 2), bool(i % 3)] for i in range(30)]), "t.csv"),
        "values near 1e300": (_csv(normal[:, :2] * 1e300), "t.csv"),
        "values near 1e-300": (_csv(normal[:, :2] * 1e-300), "t.csv"),
        "one column near 1e200": (_csv(np.c_[normal[:, 0], normal[:, 1] * 1e200]), "t.csv"),
        "constant up to rounding": (_csv(5 + 1e-15 * normal[:, :2]), "t.csv"),
        "integers beyond float": (_csv([[10**400, i] for i in range(30)]), "t.csv"),
        "1e400 in a cell": (_csv([[1e300 if i else "1e400", i] for i in range(30)]), "t.csv"),
        "text column": (_csv([[i, f"n{i}"] for i in range(30)]), "t.csv"),
        "NaN cell": (_csv([[i, "nan" if i == 4 else i] for i in range(30)]), "t.csv"),
        "empty cell": (_csv([[i, "" if i == 4 else i] for i in range(30)]), "t.csv"),
        "one column": (_csv([[i] for i in range(30)], "a"), "t.csv"),
        "one row": (_csv([[1, 2]]), "t.csv"),
        "only a header": (b"a,b\n", "t.csv"),
        "600 columns": (_csv([list(range(600))] * 12, ",".join(f"c{i}" for i in range(600))), "t.csv"),
        "50,001 rows": (_csv([[i, i % 3] for i in range(50_001)]), "t.csv"),
        "ragged rows": (b"a,b\n" + b"1,2\n" * 12 + b"1,2,3,4\n", "t.csv"),
        "unbalanced quote": (b'a,b\n"1,2\n' + b"3,4\n" * 12, "t.csv"),
        "latin-1 bytes": ("a,b\n" + "\n".join(f"{i},é" for i in range(12))).encode("latin-1"),
        "NUL bytes": (b"\x00" * 1000, "t.csv"),
        "empty file": (b"", "t.csv"),
        "png": (b"\x89PNG\r\n\x1a\n" + bytes(100), "image.png"),
        "no extension": (_csv(normal), "table"),
        "unknown label column": (_csv(normal, "x,y,z"), "t.csv", "kind"),
        "label column name of 10k characters": (_csv(normal, "x,y,z"), "t.csv", "k" * 10_000),
        "label column only": (_csv([[i, "ab"[i % 2]] for i in range(30)], "x,kind"), "t.csv", "kind"),
        "npy complex": (_npy(normal[:, :2] + 1j), "t.npy"),
        "npy object (pickled)": (
            _npy(np.array([{"evil": 1}] * 12, dtype=object), allow_pickle=True),
            "t.npy",
        ),
        "npy structured": (_npy(np.zeros(30, dtype=[("a", float), ("b", float)])), "t.npy"),
        "npy bool": (_npy(normal > 0), "t.npy"),
        "npy strings": (_npy(np.array([["a", "b"]] * 12)), "t.npy"),
        "npy datetime": (_npy(np.zeros((12, 2), dtype="datetime64[s]")), "t.npy"),
        "npy 3-D": (_npy(np.zeros((12, 2, 2))), "t.npy"),
        "npy 1-D": (_npy(np.zeros(12)), "t.npy"),
        "npy 0-D": (_npy(np.float64(1.0)), "t.npy"),
        "npy header claims 10^6 x 10^6": (_npy_header((10**6, 10**6)), "t.npy"),
        "npy header claims 30 x 2, holds 10": (_npy_header((30, 2), body=bytes(80)), "t.npy"),
        "npy header claims 50,001 rows": (_npy_header((50_001, 2), body=bytes(16 * 50_001)), "t.npy"),
        "npy header claims 600 columns": (_npy_header((12, 600), body=bytes(8 * 12 * 600)), "t.npy"),
        "npy header is code": (
            b"\x93NUMPY\x01\x00"
            + struct.pack("<H", 54)
            + b"__import__('os').system('x')"
            + b" " * 25
            + b"\n",
            "t.npy",
        ),
        "npy version 9": (b"\x93NUMPY\x09\x00" + _npy(normal)[8:], "t.npy"),
        "npy NaN": (_npy(np.where(normal > 1, np.nan, normal)), "t.npy"),
        "npy float128 overflow": (_npy(np.full((12, 2), np.finfo(np.longdouble).max)), "t.npy"),
        "npy truncated": (_npy(normal)[:-8], "t.npy"),
        "npy garbage": (b"\x93NUMPY" + bytes(200), "t.npy"),
        "npy identical rows": (_npy(np.ones((30, 2))), "t.npy"),
        "npy 1e300": (_npy(normal * 1e300), "t.npy"),
    }
    for name, case in bad.items():
        data, filename, *label = case if isinstance(case, tuple) and len(case) > 1 else (case, "t.csv")
        cases[name] = TableCase(data, filename, label[0] if label else None)
    return cases


# --------------------------------------------------------------------------- parameters
def schedule_params() -> dict[str, ParamCase]:
    """Schedule.create cases (family plus parameters) for 2-D data with eigenvalues (1, 0.5)."""
    good = {
        "isotropic default": {"family": "isotropic"},
        "reducing default": {"family": "reducing"},
        "proportional default": {"family": "proportional"},
        "reducing gap 20": {"family": "reducing", "dims_to_keep": 1, "inflation_gap": 20.0},
        "isotropic extremes in range": {"family": "isotropic", "gamma0": 1e-6, "kappa": 1e6, "rho": 0.05},
        "numpy scalars": {"family": "reducing", "dims_to_keep": np.int64(1), "gamma0": np.float32(1e-3)},
    }
    bad = {
        "family script": {"family": "<script>alert(1)</script>"},
        "family None": {"family": None},
        "family list": {"family": ["isotropic"]},
        "family of 1 MB": {"family": "x" * 2**20},
        "dims_to_keep 999": {"family": "reducing", "dims_to_keep": 999},
        "dims_to_keep 0": {"family": "reducing", "dims_to_keep": 0},
        "dims_to_keep True": {"family": "reducing", "dims_to_keep": True},
        "dims_to_keep 1.5": {"family": "reducing", "dims_to_keep": 1.5},
        "dims_to_keep '1'": {"family": "reducing", "dims_to_keep": "1"},
        "dims_to_keep on isotropic": {"family": "isotropic", "dims_to_keep": 1},
        "inflation_gap 1e6": {"family": "reducing", "inflation_gap": 1e6},
        "inflation_gap 0": {"family": "reducing", "inflation_gap": 0.0},
        "inflation_gap nan": {"family": "reducing", "inflation_gap": float("nan")},
        "gamma0 1e6": {"family": "isotropic", "gamma0": 1e6},
        "gamma0 -1": {"family": "isotropic", "gamma0": -1},
        "gamma0 True": {"family": "isotropic", "gamma0": True},
        "gamma0 'abc'": {"family": "isotropic", "gamma0": "abc"},
        "gamma0 None": {"family": "isotropic", "gamma0": None},
        "rho -5": {"family": "isotropic", "rho": -5},
        "rho inf": {"family": "isotropic", "rho": float("inf")},
        "rho 1e308": {"family": "proportional", "rho": 1e308},
        "t_max -1": {"family": "isotropic", "t_max": -1},
        "t_max 1e6": {"family": "isotropic", "t_max": 1e6},
        "t_max [1]": {"family": "isotropic", "t_max": [1]},
        "kappa 0": {"family": "isotropic", "kappa": 0},
        "kappa 1e300": {"family": "isotropic", "kappa": 1e300},
        "final_scale 0": {"family": "isotropic", "final_scale": 0.0},
        "unknown parameter": {"family": "isotropic", "exec": "import os"},
        "stiff: gap 50, T 100": {"family": "reducing", "inflation_gap": 50.0, "t_max": 100.0},
        "stiff: T 1000": {"family": "isotropic", "t_max": 1000.0},
        "stiff: rho 10, T 100": {"family": "proportional", "rho": 10.0, "t_max": 100.0},
    }
    return {**{k: ParamCase(v, True) for k, v in good.items()}, **{k: ParamCase(v) for k, v in bad.items()}}


def dataset_params() -> dict[str, ParamCase]:
    """datasets.load cases."""
    good = {
        "circles default": {"name": "circles"},
        "moons noise 0": {"name": "moons", "noise": 0.0},
        "swiss roll noise 5": {"name": "swiss_roll", "noise": 5.0, "n": 10, "seed": 2**31 - 1},
    }
    bad = {
        "noise 1e308": {"name": "circles", "noise": 1e308},
        "noise -0.1": {"name": "circles", "noise": -0.1},
        "noise nan": {"name": "circles", "noise": float("nan")},
        "noise 'abc'": {"name": "circles", "noise": "abc"},
        "noise True": {"name": "circles", "noise": True},
        "n 10^9": {"name": "circles", "n": 10**9},
        "n 5": {"name": "circles", "n": 5},
        "n 2.5": {"name": "circles", "n": 2.5},
        "n '100'": {"name": "circles", "n": "100"},
        "seed -1": {"name": "circles", "seed": -1},
        "seed 2^100": {"name": "circles", "seed": 2**100},
        "seed None": {"name": "circles", "seed": None},
        "name script": {"name": "<script>"},
        "name list": {"name": ["circles"]},
        "dim on circles": {"name": "circles", "dim": 3},
        "gaussian dim 10^6": {"name": "gaussian", "dim": 10**6},
    }
    return {**{k: ParamCase(v, True) for k, v in good.items()}, **{k: ParamCase(v) for k, v in bad.items()}}


# --------------------------------------------------------------------------- memory
_MEASURE = """
import json, sys
sys.path[:0] = {paths!r}
import hostile_corpus as hc
import inflow_core as ic

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

def load(kind, case):
    if kind == "model":
        return ic.load_flow(case.data)
    return ic.datasets.load_table(case.data, case.filename, case.label_column)

cases = [("model", k, c) for k, c in hc.model_files().items()]
cases += [("table", k, c) for k, c in hc.tables().items()]
load(*cases[0][::2])   # the first load imports and initialises what every later one uses
result = {{}}
for kind, name, case in cases:
    with open("/proc/self/clear_refs", "w") as f:   # reset the peak resident size (VmHWM) to the current one
        f.write("5")
    before = status("VmRSS")
    try:
        load(kind, case)
    except Exception:   # which exception is test_corpus's concern; this measures memory only
        pass
    result[kind + ": " + name] = status("VmHWM") - before
print(json.dumps(result))
"""


def peak_memory_of_loading() -> dict[str, int]:
    """Bytes by which the peak resident size rose above the resident size just before loading each corpus
    model file and table, measured in a fresh process (Linux: /proc/self/clear_refs resets the peak)."""
    paths = [str(Path(__file__).resolve().parent), str(ROOT)]
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(paths=paths)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.splitlines()[-1])
