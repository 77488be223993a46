"""The session model: one typed ``Session`` per browser session, and the only functions that change it.

Everything a user chose lives in ``st.session_state["session"]``: the data, schedule and solver specs
(frozen dataclasses, replaced whole so a bad value never half-applies), the model, the uploaded table,
each page's own settings (declared in ``explorer.navigation``), the lesson step and the results the
session has on screen. Pages read it with ``session()`` and ``selection()`` and change it only through
the named functions below or through ``bind``, the one way a widget edits a setting; a page never
writes another page's settings.

Widget keys follow one scheme, ``w.<group>.<field>``. Canonical values never live in widget keys,
because Streamlit drops a widget's key when its page is not shown; ``bind`` copies the canonical value
into the widget on every run and back on change, so switching pages loses nothing.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import streamlit as st

import inflow_core as ic
from explorer import adapters
from explorer.navigation import PAGES, page_defaults
from explorer.text import plain
from inflow_core.flow import DEFAULT_METHOD, DEFAULT_TOL
from inflow_core.schedules import DEFAULT_GAMMA0, DEFAULT_KAPPA, DEFAULT_RHO

DEFAULT_DATASET = "circles"
RESULTS_PER_SESSION = 8  # computed results a session keeps on screen (the server cache holds more)


# --------------------------------------------------------------------------- the typed model
@dataclass(frozen=True)
class DataSpec:
    """Which data: a built-in dataset with its size, seed and noise, or ``dataset="upload"``."""

    dataset: str = DEFAULT_DATASET
    n: int = 2000
    seed: int = 0
    noise: float | None = None

    @classmethod
    def default_for(cls, name: str, seed: int = 0) -> DataSpec:
        return cls(name, ic.datasets.info(name).default_n, seed, None)


@dataclass(frozen=True)
class ScheduleSpec:
    """The schedule's settings; ``None`` means auto (inflation gap D/(D-d), end time from kappa)."""

    family: str = "isotropic"
    dims_to_keep: int = 1
    inflation_gap: float | None = None
    gamma0: float = DEFAULT_GAMMA0
    rho: float = DEFAULT_RHO
    kappa: float = DEFAULT_KAPPA
    t_max: float | None = None

    @classmethod
    def recommended(cls, dim: int, dataset: str | None = None) -> ScheduleSpec:
        """A dataset's recommended schedule (isotropic for uploads), gap and end time on auto."""
        meta = ic.datasets.REGISTRY.get(dataset) if dataset else None
        family = meta.default_schedule if meta and dim > 1 else "isotropic"
        keep = meta.dims_to_keep if meta else 2
        return cls(family, min(keep, max(1, dim - 1)))

    @classmethod
    def from_card(cls, card_schedule: dict) -> ScheduleSpec:
        """Settings that rebuild a model card's schedule exactly (end time pinned)."""
        known = {f.name for f in fields(cls)}
        spec = cls(**{k: v for k, v in card_schedule.items() if k in known and v is not None})
        if spec.family != "reducing":
            return replace(spec, dims_to_keep=1, inflation_gap=None)
        return spec

    def params(self) -> dict:
        """Keyword arguments of ``Schedule.create`` (auto values left out)."""
        params = {"gamma0": self.gamma0, "rho": self.rho, "kappa": self.kappa}
        if self.t_max is not None:
            params["t_max"] = self.t_max
        if self.family == "reducing":
            params["dims_to_keep"] = self.dims_to_keep
            if self.inflation_gap is not None:
                params["inflation_gap"] = self.inflation_gap
        return params

    def build(self, basis: ic.EigenBasis) -> ic.Schedule:
        """The schedule for this data's eigenvalues, or ValueError naming the impossible setting, also
        when it is too stiff for any solve (refused here in microseconds rather than after minutes)."""
        schedule = ic.Schedule.create(self.family, basis.eigenvalues, **self.params())
        ic.schedules.check_solvable(schedule)
        return schedule


# One solve's wall-clock budget in the app: a stiff field under the step cap could otherwise hold a worker
# for many minutes (healthy solves take seconds; a whole coverage run is many solves).
SOLVE_SECONDS = 180.0


@dataclass(frozen=True)
class SolverSpec:
    """How the pages integrate: an adaptive method and one tolerance for rtol and atol."""

    method: str = DEFAULT_METHOD
    tol: float = DEFAULT_TOL

    def options(self) -> dict:
        return {"method": self.method, "rtol": self.tol, "atol": self.tol, "max_seconds": SOLVE_SECONDS}


@dataclass
class Model:
    """A trained or loaded network flow with its card (what it was trained on, how, how good)."""

    flow: ic.InflationaryFlow
    card: dict
    source: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    history: list | None = None


@dataclass
class Upload:
    """A validated uploaded table, or a drawing made on the Data page (kept in this session only)."""

    X: np.ndarray
    labels: np.ndarray | None
    columns: list[str]
    filename: str
    sha256: str
    title: str = ""  # what the pages call it; "" means "upload <filename>"
    drawn: bool = False  # drawn on the Data page rather than uploaded


@dataclass
class Data:
    """The data every page works on, with a key that identifies it for caches and model cards."""

    X: np.ndarray
    labels: np.ndarray | None
    title: str
    key: str
    info: dict


@dataclass
class Session:
    """Everything one browser session chose and computed."""

    data: DataSpec = field(default_factory=lambda: DataSpec.default_for(DEFAULT_DATASET))
    sched: ScheduleSpec = field(default_factory=lambda: ScheduleSpec.recommended(2, DEFAULT_DATASET))
    solver: SolverSpec = field(default_factory=SolverSpec)
    model: Model | None = None
    use_model: bool = False  # integrate the model (when it fits) instead of the exact flow
    upload: Upload | None = None
    pages: dict = field(default_factory=page_defaults)  # each page's own settings, by url name
    results: OrderedDict = field(default_factory=OrderedDict)
    lesson: int | None = None
    jobs: dict = field(default_factory=dict)  # this session's background job of each kind
    notices: list = field(default_factory=list)  # messages for the next run (bad link values, ...)


# Setting groups of the session's specs (bind/get/change take them, or a page's url name), with the Session
# attribute each edits and the function that validates and applies a change.
_SPECS = {"dataset": "data", "sched": "sched", "solver": "solver"}


def session() -> Session:
    """This browser session's state (created by ``init``)."""
    return st.session_state["session"]


def init() -> bool:
    """Create the session once, reading a shared link's query parameters; True on that first run."""
    if "session" in st.session_state:
        return False
    st.session_state["session"] = Session()
    _read_query_params()
    return True


def notify(message: str) -> None:
    """A message shown once at the top of the next page drawn (as a warning)."""
    session().notices.append(message)


# --------------------------------------------------------------------------- the shareable URL
# URL parameter -> (group, field, parser). Short names: they end up in shared links.
_URL_FIELDS = {
    "dataset": ("dataset", "dataset", str),
    "n": ("dataset", "n", int),
    "seed": ("dataset", "seed", int),
    "noise": ("dataset", "noise", float),
    "family": ("sched", "family", str),
    "d": ("sched", "dims_to_keep", int),
    "gap": ("sched", "inflation_gap", float),
    "gamma0": ("sched", "gamma0", float),
    "rho": ("sched", "rho", float),
    "kappa": ("sched", "kappa", float),
    "T": ("sched", "t_max", float),
}


def _read_query_params() -> None:
    """Apply the link's data and schedule values, each validated like the widget that edits it; a bad one
    is reported (as plain text) and the default kept."""
    params, s = st.query_params, session()
    name = params.get("dataset")
    if name in ic.datasets.REGISTRY:
        s.data = DataSpec.default_for(name)
        s.sched = ScheduleSpec.recommended(ic.datasets.info(name).dim, name)
    elif name:
        notify(f"Ignored dataset={name!r} in the link: not a built-in dataset; showing {DEFAULT_DATASET}.")
    for key, (group, name_, parse) in _URL_FIELDS.items():
        if key == "dataset" or key not in params:
            continue
        raw = params[key]
        try:
            value = None if raw in ("", "auto", "None") else parse(raw)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError
        except ValueError:
            notify(f"Ignored {key}={raw!r} in the link: not a valid value.")
            continue
        problem = _apply(group, name_, value)
        if problem:
            notify(f"Ignored {key}={raw!r} in the link ({problem}); kept the default.")


def write_query_params(page_url: str) -> None:
    """Mirror the current state into the URL so the address bar is always a shareable link."""
    s = session()
    wanted = {"page": page_url or "home"}
    if s.data.dataset != "upload":  # an upload cannot travel in a link
        wanted.update({k: v for k, v in asdict(s.data).items() if v is not None})
    for key, (group, name, _) in _URL_FIELDS.items():
        value = getattr(s.sched, name) if group == "sched" else None
        if value is None:
            continue
        if name in ("dims_to_keep", "inflation_gap") and s.sched.family != "reducing":
            continue
        wanted[key] = value
    wanted = {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in wanted.items()}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def page_from_url() -> str | None:
    """The page file a shared link asks for (``?page=flow``), when it names one of the pages."""
    wanted = st.query_params.get("page")
    return next((p.path for p in PAGES if p.url_path == wanted), None)


# --------------------------------------------------------------------------- settings and widgets
def settings(page: str) -> dict:
    """A page's own settings (declared with its ``PageSpec``); the page reads and edits only its own."""
    return session().pages[page]


def get(group: str, name: str) -> Any:
    s = session()
    return getattr(getattr(s, _SPECS[group]), name) if group in _SPECS else s.pages[group][name]


def change(group: str, name: str, value: Any, quiet: bool = False) -> bool:
    """Set one setting. Data, schedule and solver changes are validated (data by loading it, the schedule
    by building it); a bad value keeps the previous one and, unless ``quiet``, says why. True if applied."""
    problem = _apply(group, name, value)
    if problem and not quiet:
        notify(f"{name} = {value!r} was not applied: {problem}")
    return problem is None


def _apply(group: str, name: str, value: Any) -> str | None:
    """Set one setting after validating it; None, or why it was refused (the previous value stays)."""
    s = session()
    if group not in _SPECS:
        s.pages[group][name] = value
        return None
    try:
        spec = replace(getattr(s, _SPECS[group]), **{name: value})
        {"dataset": set_data, "sched": set_schedule, "solver": set_solver}[group](spec)
        return None
    except (ValueError, TypeError) as err:
        return str(err) or type(err).__name__


def bind(group: str, name: str, options: list | None = None) -> dict:
    """``key`` and ``on_change`` for the widget that edits setting ``name`` of ``group`` ("dataset", "sched",
    "solver" or a page's url name). With ``options``, a stored value no longer offered falls back to the
    first option."""
    key = f"w.{group}.{name}"
    value = get(group, name)
    if options is not None and value not in options:
        value = options[0]
        change(group, name, value, quiet=True)
    st.session_state[key] = value

    def store() -> None:
        change(group, name, st.session_state[key])

    return {"key": key, "on_change": store}


def preset(page: str, values: dict) -> None:
    """Preset some of a page's settings (a lesson step does this); unknown names are an error."""
    unknown = set(values) - set(page_defaults()[page])
    if unknown:
        raise ValueError(f"Page {page!r} has no settings {sorted(unknown)}.")
    session().pages[page].update(values)


# --------------------------------------------------------------------------- data
def load_data(spec: DataSpec) -> Data:
    """The Data for a spec: a built-in dataset (cached) or the session's validated upload."""
    if spec.dataset == "upload":
        up = session().upload
        if up is None:
            raise ValueError("No uploaded table in this session; upload one on the Data page.")
        return Data(
            up.X,
            up.labels,
            up.title or f"upload {up.filename}",
            f"upload|{up.sha256[:16]}",
            {"dataset": "upload", "sha256": up.sha256, "filename": up.filename},
        )
    X, labels = adapters.builtin_dataset(spec.dataset, spec.n, spec.seed, spec.noise)
    return Data(
        X,
        labels,
        ic.datasets.info(spec.dataset).title,
        f"{spec.dataset}|{spec.n}|{spec.seed}|{spec.noise}",
        asdict(spec),
    )


def current_data() -> Data:
    return load_data(session().data)


def set_data(spec: DataSpec) -> None:
    """Switch the data (ValueError keeps the previous); a new dataset brings its recommended schedule."""
    data = load_data(spec)
    s = session()
    new_dataset = spec.dataset != s.data.dataset or spec.dataset == "upload"
    s.data = spec
    if new_dataset:
        s.sched = ScheduleSpec.recommended(data.X.shape[1], spec.dataset)


def store_upload(content: bytes, filename: str, label_column: str | None) -> None:
    """Validate an uploaded table and make it the current data; ValueError keeps the previous data."""
    table = ic.datasets.load_table(content, filename, label_column=label_column or None)
    sha = hashlib.sha256(content + (label_column or "").encode()).hexdigest()
    _use_upload(Upload(table.X, table.labels, list(table.columns), filename, sha))


DRAWING_TITLE = "your drawing"


def use_drawn_points(X: np.ndarray, classes: np.ndarray) -> None:
    """Make points drawn on the Data page, with their class numbers (1, 2, ...), the current data.

    The drawing goes through the upload validation (``load_table`` on its CSV, so the same limits and
    messages apply); one class is enough, but at least ``MIN_ROWS`` points are needed. The labels are the
    class numbers, so "class 2" is label 2 everywhere. ValueError keeps the previous data.
    """
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    classes = np.asarray(classes, dtype=int).reshape(-1)
    if len(X) < ic.datasets.MIN_ROWS:
        raise ValueError(
            f"The drawing has {len(X)} point{'s' * (len(X) != 1)}; the flow needs at least "
            f"{ic.datasets.MIN_ROWS} (the same minimum as an uploaded table). Spray a lasso or "
            "click a few more."
        )
    content = ic.datasets.drawing_csv(X, classes)
    table = ic.datasets.load_table(content, "drawing.csv", label_column="class")
    _use_upload(
        Upload(
            table.X,
            classes,
            list(table.columns),
            "drawing.csv",
            hashlib.sha256(content).hexdigest(),
            title=DRAWING_TITLE,
            drawn=True,
        )
    )


def _use_upload(upload: Upload) -> None:
    """Make a validated table the current data; ValueError keeps the previous upload and data."""
    s = session()
    previous = s.upload
    s.upload = upload
    try:
        set_data(DataSpec("upload", len(upload.X), 0, None))
    except ValueError:
        s.upload = previous
        raise


# --------------------------------------------------------------------------- schedule and solver
def current_basis(data: Data) -> ic.EigenBasis:
    return adapters.basis_for(data.key, data.X)


def set_schedule(spec: ScheduleSpec) -> None:
    """Change the schedule; ValueError (naming the impossible setting) keeps the previous one."""
    if spec.family not in ic.schedules.FAMILIES:
        raise ValueError(f"Unknown family {spec.family!r}; choose one of {', '.join(ic.schedules.FAMILIES)}.")
    spec.build(current_basis(current_data()))
    session().sched = spec


def set_solver(spec: SolverSpec) -> None:
    ic.SolverOptions(spec.method, spec.tol, spec.tol)  # validates
    session().solver = spec


def selection() -> tuple[Data, ic.EigenBasis, ic.Schedule]:
    """What the pages work on: the current data, its eigenbasis (cached) and the current schedule."""
    data = current_data()
    basis = current_basis(data)
    return data, basis, session().sched.build(basis)


# --------------------------------------------------------------------------- model
def model_mismatch(model: Model, data: Data, schedule: ic.Schedule) -> str | None:
    """Why a model must not be used with the current data and schedule, or None when it matches."""
    trained_on = model.card.get("data") or {}
    keys = ("dataset", "n", "seed", "noise", "sha256")
    diffs = [k for k in keys if (k in trained_on or k in data.info) and trained_on.get(k) != data.info.get(k)]
    if model.flow.dim != data.X.shape[1]:
        return f"the model works in D = {model.flow.dim} but the current data has D = {data.X.shape[1]}"
    if diffs:
        theirs = ", ".join(f"{k}={trained_on.get(k)}" for k in diffs)
        ours = ", ".join(f"{k}={data.info.get(k)}" for k in diffs)
        return f"the model was trained on data with {theirs}; the current data has {ours}"
    theirs_s, ours_s = model.card.get("schedule") or {}, schedule.to_dict()
    for k in sorted(set(theirs_s) | set(ours_s)):
        a, b = theirs_s.get(k), ours_s.get(k)
        same = a == b or (
            isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-6)
        )
        if not same:
            return (
                f"the model was trained with schedule {k}={a}; the current schedule has {k}={b} "
                f"({schedule.describe()})"
            )
    return None


def install_model(flow: ic.InflationaryFlow, card: dict, source: str, history=None) -> None:
    """Make a trained or loaded model the session's model and the flow the pages integrate."""
    s = session()
    s.model = Model(flow, card, source, history=history)
    s.use_model = True


def use_exact_flow() -> None:
    """Integrate the exact empirical flow of the data; a loaded model stays loaded."""
    session().use_model = False


def use_learned_model() -> None:
    session().use_model = session().model is not None


def trained_settings(card: dict) -> tuple[DataSpec, ScheduleSpec]:
    """The data and schedule a model card says the model was trained on (built-in datasets only)."""
    trained_on = card.get("data") or {}
    name = trained_on.get("dataset")
    if name not in ic.datasets.REGISTRY:
        raise ValueError("The model was trained on an uploaded table: upload the same file on the Data page.")
    spec = DataSpec(name, trained_on.get("n"), trained_on.get("seed", 0), trained_on.get("noise"))
    load_data(spec)
    return spec, ScheduleSpec.from_card(card.get("schedule") or {})


def adopt_model_settings() -> None:
    """Switch data and schedule to the ones the session's model was trained on (built-in datasets only)."""
    s = session()
    s.data, s.sched = trained_settings(s.model.card)


def shipped_model(name: str) -> Model:
    """A shipped model, loaded once per server; its id is its name, so every session that uses it shares
    the cached results computed with it."""
    entry = next((m for m in ic.checkpoints.shipped_models() if m["name"] == name), None)
    if entry is None:
        raise ValueError(f"No shipped model {name!r}.")
    flow = adapters.shipped_flow(entry["path"])
    return Model(flow, flow.card, f"shipped model {name}", id=f"shipped-{name}")


def use_shipped_model(name: str) -> None:
    """Load a shipped model with the data and schedule it was trained on (ValueError keeps the previous)."""
    model = shipped_model(name)
    previous = (session().model, session().use_model)
    session().model, session().use_model = model, True
    try:
        adopt_model_settings()
    except ValueError:
        session().model, session().use_model = previous
        raise


@dataclass
class ActiveFlow:
    """The flow the pages integrate, a cache key that identifies it, and an honest name (``label``: the
    same, safe inside markdown; a model's source names an uploaded file)."""

    flow: ic.InflationaryFlow
    key: str
    name: str
    exact: bool

    @property
    def label(self) -> str:
        return plain(self.name, 300)


def active_flow(data: Data, basis: ic.EigenBasis, schedule: ic.Schedule) -> ActiveFlow:
    """The session's model when chosen and matching; the exact empirical flow otherwise.

    Raises ValueError with the reason when the chosen model belongs to other data or another
    schedule: a model is never silently used with data it was not trained on. The stored model is not
    changed: the page's solver settings apply to a copy.
    """
    s = session()
    return flow_for(data, basis, schedule, s.model if s.use_model else None, s.solver)


def flow_for(
    data: Data, basis: ic.EigenBasis, schedule: ic.Schedule, model: Model | None, solver: SolverSpec
) -> ActiveFlow:
    """``active_flow`` for given settings, without a session (the lesson warm-up uses it too): the model
    when given (ValueError if it does not fit), else the exact empirical flow."""
    options = solver.options()
    if model is not None:
        reason = model_mismatch(model, data, schedule)
        if reason:
            raise ValueError(f"The loaded model does not fit the current selection: {reason}.")
        flow = model.flow.with_solver(**options)
        return ActiveFlow(
            flow,
            f"model|{model.id}|{flow.solver.describe()}",
            f"learned network ({model.source})",
            exact=False,
        )
    flow = adapters.exact_flow(data.X, basis, schedule, **options)
    key = f"exact|{data.key}|{schedule.to_dict()}|{flow.solver.describe()}"
    return ActiveFlow(flow, key, "exact empirical flow of the data (no training)", exact=True)


# --------------------------------------------------------------------------- results on screen
def result(key: tuple) -> Any:
    """A result this session computed and still shows, or None."""
    return session().results.get(key)


def keep_result(key: tuple, value: Any) -> None:
    """Remember a computed result for this session (the newest ``RESULTS_PER_SESSION`` are kept)."""
    results = session().results
    results[key] = value
    results.move_to_end(key)
    while len(results) > RESULTS_PER_SESSION:
        results.popitem(last=False)
