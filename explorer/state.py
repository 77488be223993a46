"""Per-session state: the current data, schedule, model and solver, and the shareable URL.

Canonical values live in plain ``st.session_state`` entries ("data", "sched", "solver", "model"),
never in widget keys, because Streamlit drops a widget's key when its page is not shown; ``bind``
copies a canonical value into a widget and back, so switching pages loses nothing.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

import inflow_core as ic
from explorer import adapters
from explorer.navigation import PAGES

DEFAULT_DATASET = "circles"
SOLVER_DEFAULTS = {"method": "dopri5", "tol": 1e-5}
# Flow page view settings, kept in the session so a computed animation is found again after a page switch.
VIEW_DEFAULTS = {"direction": "inflate", "particles": 1000, "frames": 60, "colour": "label",
                 "prior": "gaussian", "three_d": True, "dims": [0, 1], "trails": 0, "blur": True}
# URL parameter -> (state group, field, parser). Keep the names short: they end up in shared links.
_URL_FIELDS = {
    "dataset": ("data", "dataset", str), "n": ("data", "n", int), "seed": ("data", "seed", int),
    "noise": ("data", "noise", float), "family": ("sched", "family", str),
    "d": ("sched", "dims_to_keep", int), "gap": ("sched", "inflation_gap", float),
    "gamma0": ("sched", "gamma0", float), "rho": ("sched", "rho", float), "kappa": ("sched", "kappa", float),
    "T": ("sched", "t_max", float),
}


# Widget keyword arguments that keep a page's settings when the user visits another page and comes back
# (Streamlit otherwise drops the state of widgets that are not on the current page).
KEEP = {"persist_state": "session"}


@dataclass
class Data:
    """The data every page works on, with a key that identifies it for caches and model cards."""

    X: np.ndarray
    labels: np.ndarray | None
    title: str
    key: str
    info: dict


def data_defaults(name: str) -> dict:
    return {"dataset": name, "n": ic.datasets.info(name).default_n, "seed": 0, "noise": None}


def schedule_defaults(dim: int, dataset: str | None = None) -> dict:
    """A dataset's recommended schedule (isotropic for uploads); inflation gap and end time on auto."""
    meta = ic.datasets.REGISTRY.get(dataset) if dataset else None
    family = meta.default_schedule if meta else "isotropic"
    keep = meta.dims_to_keep if meta else max(1, min(2, dim - 1))
    return {"family": family if dim > 1 else "isotropic", "dims_to_keep": min(keep, max(1, dim - 1)),
            "inflation_gap": None, "gamma0": 5e-4, "rho": 1.0, "kappa": 1000.0, "t_max": None}


def init() -> None:
    """Fill defaults once per session, reading a shared link's query parameters first."""
    ss = st.session_state
    if "data" in ss:
        return
    ss.data = data_defaults(DEFAULT_DATASET)
    ss.sched = schedule_defaults(2, DEFAULT_DATASET)
    ss.solver = dict(SOLVER_DEFAULTS)
    ss.view = dict(VIEW_DEFAULTS)
    ss.model = None
    ss.results = {}
    ss.url_warnings = _read_query_params()


def _read_query_params() -> list[str]:
    """Apply the URL's parameters to the fresh state; return a warning per parameter that was ignored."""
    params, warnings = st.query_params, []
    dataset = params.get("dataset")
    if dataset in ic.datasets.REGISTRY:
        st.session_state.data = data_defaults(dataset)
        st.session_state.sched = schedule_defaults(ic.datasets.info(dataset).dim, dataset)
    elif dataset:
        warnings.append(f"Unknown dataset {dataset!r} in the link; showing {DEFAULT_DATASET}.")
    for name, (group, field, parse) in _URL_FIELDS.items():
        if name == "dataset" or name not in params:
            continue
        raw = params[name]
        try:
            value = None if raw in ("", "auto", "None") else parse(raw)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError
        except ValueError:
            warnings.append(f"Ignored {name}={raw!r} in the link: not a valid number.")
            continue
        st.session_state[group] = {**st.session_state[group], field: value}
    try:
        load_data(st.session_state.data)
    except ValueError as err:
        warnings.append(f"The link's data settings were not valid ({err}); using the defaults.")
        st.session_state.data = data_defaults(st.session_state.data["dataset"])
    return warnings


def write_query_params(page_url: str) -> None:
    """Mirror the current state into the URL so the address bar is always a shareable link."""
    data, sched = st.session_state.data, st.session_state.sched
    wanted = {"page": page_url or "home"}
    if data["dataset"] != "upload":  # an upload cannot travel in a link
        for name in ("dataset", "n", "seed", "noise"):
            if data[name] is not None:
                wanted[name] = data[name]
    for name, (group, field, _) in _URL_FIELDS.items():
        if group == "sched" and sched[field] is not None:
            if field in ("dims_to_keep", "inflation_gap") and sched["family"] != "reducing":
                continue
            wanted[name] = sched[field]
    wanted = {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in wanted.items()}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def page_from_url() -> str | None:
    """The page a shared link asks for (``?page=flow``), when it names one of the pages."""
    wanted = st.query_params.get("page")
    return next((p.path for p in PAGES if p.url_path == wanted), None)


# --------------------------------------------------------------------------- widgets
def bind(group: str, field: str) -> dict:
    """``key`` and ``on_change`` for a widget that edits ``st.session_state[group][field]``."""
    widget_key = f"w.{group}.{field}"
    st.session_state[widget_key] = st.session_state[group][field]

    def store() -> None:
        st.session_state[group] = {**st.session_state[group], field: st.session_state[widget_key]}

    return {"key": widget_key, "on_change": store}


# --------------------------------------------------------------------------- data
def load_data(spec: dict) -> Data:
    """Build the Data for a spec: a built-in dataset (cached) or the session's validated upload."""
    if spec["dataset"] == "upload":
        up = st.session_state.get("upload")
        if up is None:
            raise ValueError("No uploaded table in this session; upload one on the Data page.")
        return Data(up["X"], up["labels"], f"upload {up['filename']}", f"upload|{up['sha256'][:16]}",
                    {"dataset": "upload", "sha256": up["sha256"], "filename": up["filename"]})
    X, labels = adapters.builtin_dataset(spec["dataset"], spec["n"], spec["seed"], spec["noise"])
    meta = ic.datasets.info(spec["dataset"])
    key = f"{spec['dataset']}|{spec['n']}|{spec['seed']}|{spec['noise']}"
    info = {"dataset": spec["dataset"], "n": spec["n"], "seed": spec["seed"], "noise": spec["noise"]}
    return Data(X, labels, meta.title, key, info)


def current_data() -> Data:
    return load_data(st.session_state.data)


def set_dataset(spec: dict) -> None:
    """Switch to another dataset; the schedule goes back to that dataset's recommended one."""
    data = load_data(spec)
    st.session_state.data = spec
    st.session_state.sched = schedule_defaults(data.X.shape[1], spec["dataset"])


def store_upload(content: bytes, filename: str, label_column: str | None) -> None:
    """Validate an uploaded table and make it the current data; ValueError keeps the previous data."""
    table = ic.datasets.load_table(content, filename, label_column=label_column or None)
    sha = hashlib.sha256(content + (label_column or "").encode()).hexdigest()
    st.session_state.upload = {"X": table.X, "labels": table.labels, "columns": table.columns,
                               "filename": filename, "sha256": sha}
    set_dataset({"dataset": "upload", "n": len(table.X), "seed": 0, "noise": None})


# --------------------------------------------------------------------------- schedule
def schedule_params() -> dict:
    """The current schedule's parameters as ``Schedule.create`` takes them (auto values left out)."""
    sched = st.session_state.sched
    params = {k: sched[k] for k in ("gamma0", "rho", "kappa")}
    if sched["t_max"] is not None:
        params["t_max"] = sched["t_max"]
    if sched["family"] == "reducing":
        params["dims_to_keep"] = sched["dims_to_keep"]
        if sched["inflation_gap"] is not None:
            params["inflation_gap"] = sched["inflation_gap"]
    return params


def current_schedule(basis: ic.EigenBasis) -> ic.Schedule:
    """The schedule for the current settings, or ValueError saying which setting is impossible."""
    return ic.Schedule.create(st.session_state.sched["family"], basis.eigenvalues, **schedule_params())


def selection() -> tuple[Data, ic.EigenBasis, ic.Schedule]:
    """What the pages work on: the current data, its eigenbasis (cached) and the current schedule."""
    data = current_data()
    basis = adapters.basis_for(data.key, data.X)
    return data, basis, current_schedule(basis)


def schedule_from_card(card_schedule: dict) -> dict:
    """Session schedule settings that rebuild a model card's schedule exactly (end time pinned)."""
    sched = schedule_defaults(2)
    keys = ("family", "gamma0", "rho", "kappa", "t_max")
    sched.update({k: card_schedule[k] for k in keys if k in card_schedule})
    if card_schedule.get("family") == "reducing":
        sched["dims_to_keep"] = int(card_schedule["dims_to_keep"])
        sched["inflation_gap"] = float(card_schedule["inflation_gap"])
    return sched


# --------------------------------------------------------------------------- model
def model_mismatch(model: dict, data: Data, schedule: ic.Schedule) -> str | None:
    """Why a model must not be used with the current data and schedule, or None when it matches."""
    card = model.get("card") or {}
    trained_on = card.get("data") or {}
    keys = ("dataset", "n", "seed", "noise", "sha256")
    diffs = [k for k in keys if (k in trained_on or k in data.info) and trained_on.get(k) != data.info.get(k)]
    if model["flow"].dim != data.X.shape[1]:
        return f"the model works in D = {model['flow'].dim} but the current data has D = {data.X.shape[1]}"
    if diffs:
        theirs = ", ".join(f"{k}={trained_on.get(k)}" for k in diffs)
        ours = ", ".join(f"{k}={data.info.get(k)}" for k in diffs)
        return f"the model was trained on data with {theirs}; the current data has {ours}"
    theirs_s, ours_s = card.get("schedule") or {}, schedule.to_dict()
    for k in sorted(set(theirs_s) | set(ours_s)):
        a, b = theirs_s.get(k), ours_s.get(k)
        same = a == b or (isinstance(a, int | float) and isinstance(b, int | float)
                          and math.isclose(a, b, rel_tol=1e-6))
        if not same:
            return (f"the model was trained with schedule {k}={a}; the current schedule has {k}={b} "
                    f"({schedule.describe()})")
    return None


def install_model(flow: ic.InflationaryFlow, card: dict, source: str, history=None) -> None:
    """Make a trained or loaded model the session's model, and the flow the pages integrate."""
    st.session_state.model = {"flow": flow, "card": card, "source": source, "id": uuid.uuid4().hex[:12],
                              "history": history}
    st.session_state.flow_source = "model"


def use_model_settings(model: dict) -> None:
    """Switch data and schedule to the ones a model was trained on (built-in datasets only)."""
    trained_on = (model.get("card") or {}).get("data") or {}
    name = trained_on.get("dataset")
    if name not in ic.datasets.REGISTRY:
        raise ValueError("The model was trained on an uploaded table: upload the same file on the Data page.")
    spec = {"dataset": name, "n": trained_on.get("n"), "seed": trained_on.get("seed", 0),
            "noise": trained_on.get("noise")}
    load_data(spec)
    st.session_state.data = spec
    st.session_state.sched = schedule_from_card(model["card"]["schedule"])


@dataclass
class ActiveFlow:
    """The flow the pages integrate, a cache key that identifies it, and an honest label."""

    flow: ic.InflationaryFlow
    key: str
    label: str
    exact: bool


def active_flow(data: Data, basis: ic.EigenBasis, schedule: ic.Schedule) -> ActiveFlow:
    """The session's model when chosen and matching; the exact empirical flow otherwise.

    Raises ValueError with the reason when the chosen model belongs to other data or another
    schedule: a model is never silently used with data it was not trained on.
    """
    solver = st.session_state.solver
    model = st.session_state.model
    if model is not None and st.session_state.get("flow_source", "exact") == "model":
        reason = model_mismatch(model, data, schedule)
        if reason:
            raise ValueError(f"The loaded model does not fit the current selection: {reason}.")
        flow = model["flow"]
        flow.solver = ic.SolverOptions(solver["method"], solver["tol"], solver["tol"])
        return ActiveFlow(flow, f"model|{model['id']}|{flow.solver.describe()}",
                          f"learned network ({model['source']})", exact=False)
    flow = adapters.exact_flow(data.X, basis, schedule, solver["tol"], solver["method"])
    key = f"exact|{data.key}|{schedule.to_dict()}|{flow.solver.describe()}"
    return ActiveFlow(flow, key, "exact empirical flow of the data (no training)", exact=True)
