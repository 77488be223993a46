"""The one job runner: every long computation of the explorer (training, coverage, flows, propagation)
runs here, never in a page.

One runner serves the whole server: a first-in-first-out queue, ``slots`` worker threads (one per CPU
core, each with one torch thread, set here and nowhere else; a job that asks for it gets every core
while it runs alone), per-kind caps (at most two training runs),
progress, cancel, and each waiting job's place in the queue. Workers never call Streamlit: a job's
function gets the ``Job`` and reports through it; pages poll it. A job whose browser session has gone
is cancelled by the watchdog, so a closed tab frees its slot.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch

from .text import plain

SLOTS = max(1, os.cpu_count() or 1)
KIND_CAPS = {"training": 2}  # queued + running jobs of a kind, server-wide
ORPHAN_SECONDS = 30.0  # a job is cancelled once its session has been gone this long
WATCH_EVERY = 5.0
_WORKER = "inflow-worker-"


class ServerBusy(ValueError):
    """The server already runs as many jobs of this kind as it allows."""


class Cancelled(Exception):
    """Raised inside a job's function (by ``Job.check``) once Cancel was pressed."""


@dataclass(eq=False)
class Job:
    """One background computation; written by its worker, read by pages."""

    kind: str
    title: str
    fn: Callable[[Job], Any]
    session_id: str | None = None
    share_idle_cores: bool = False  # while it runs alone, torch uses every core (see JobRunner.fit_threads)
    stop_event: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    fraction: float = 0.0
    message: str = "waiting"
    detail: Any = None  # kind-specific live data (a training run's progress and loss history)
    result: Any = None
    error: str | None = None
    finished_shown: bool = False  # the page that polls it has redrawn itself with the outcome
    _done: threading.Event = field(default_factory=threading.Event)
    _runner: JobRunner | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.started is not None and not self._done.is_set()

    @property
    def waiting(self) -> bool:
        return self.started is None and not self._done.is_set()

    @property
    def active(self) -> bool:
        """Waiting or running."""
        return not self._done.is_set()

    @property
    def cancelled(self) -> bool:
        return self.stop_event.is_set()

    def report(self, fraction: float, message: str) -> None:
        """Progress from the worker (0..1 and a short text); a job that shares idle cores also fits its
        thread count to the queue here."""
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), message
        if self.share_idle_cores and self._runner is not None:
            self._runner.fit_threads(self)

    def check(self) -> None:
        """Raise Cancelled if Cancel was pressed (for functions without their own stop flag)."""
        if self.stop_event.is_set():
            raise Cancelled

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - (self.started or time.monotonic())

    def _run(self) -> None:
        self.started = time.monotonic()
        self.message = "running"
        try:
            self.result = self.fn(self)
        except Cancelled:
            self.error = "Cancelled."
        except ValueError as err:  # bad settings, a solver that gave up: the message says what to change
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - the worker must always report back to the page
            self.error = f"{self.title} failed unexpectedly: {type(err).__name__}: {err}"
        finally:
            self.finished = time.monotonic()
            self._done.set()


class JobRunner:
    """The server-wide queue and workers."""

    def __init__(
        self,
        slots: int = SLOTS,
        kind_caps: dict | None = None,
        session_alive: Callable[[str], bool] | None = None,
    ):
        self.slots = slots
        self.kind_caps = dict(KIND_CAPS if kind_caps is None else kind_caps)
        self._session_alive = session_alive or _session_alive
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._running: list[Job] = []
        self._durations: dict[str, deque] = {}  # the latest run times of each kind, for wait estimates
        self._workers = [
            threading.Thread(target=self._work, name=f"{_WORKER}{i}", daemon=True) for i in range(slots)
        ]
        for worker in self._workers:
            worker.start()
        threading.Thread(target=self._watch, name="inflow-job-watchdog", daemon=True).start()
        atexit.register(self.shutdown)

    def shutdown(self, timeout: float = 120.0) -> None:
        """Cancel every job and wait (bounded) for the running ones: a worker killed inside torch at
        interpreter exit would abort the process."""
        with self._cond:
            jobs = [*self._queue, *self._running]
        for job in jobs:
            job.stop()
        deadline = time.monotonic() + timeout
        for job in jobs:
            job.wait(max(0.0, deadline - time.monotonic()))

    def submit(
        self,
        kind: str,
        title: str,
        fn: Callable[[Job], Any],
        session_id: str | None = None,
        share_idle_cores: bool = False,
    ) -> Job:
        """Queue ``fn(job)``; raise ServerBusy when the kind's server-wide cap is reached.
        ``share_idle_cores``: a large batched computation that may use every core while no other job
        runs or waits (it drops back to one thread as soon as another job starts)."""
        job = Job(kind, title, fn, session_id, share_idle_cores, _runner=self)
        with self._cond:
            cap = self.kind_caps.get(kind)
            same = sum(j.kind == kind for j in (*self._queue, *self._running))
            if cap is not None and same >= cap:
                raise ServerBusy(
                    f"{same} {kind} jobs are already running or waiting on this server (the "
                    "limit "
                    f"is {cap}); wait for one to finish."
                )
            self._queue.append(job)
            self._cond.notify()
        return job

    def run(
        self,
        kind: str,
        title: str,
        fn: Callable[[Job], Any],
        session_id: str | None = None,
        on_wait: Callable[[Job], None] | None = None,
    ) -> Any:
        """Submit and wait for the result (raising the job's error as ValueError); ``on_wait(job)`` is
        called about four times a second meanwhile, to show the place in the queue and the progress."""
        job = self.submit(kind, title, fn, session_id)
        while not job.wait(0.25):
            if on_wait is not None:
                on_wait(job)
        if job.error:
            raise ValueError(job.error)
        return job.result

    def place(self, job: Job) -> int:
        """1-based place of a waiting job in the queue; 0 when it runs or has finished."""
        with self._cond:
            return next((i + 1 for i, j in enumerate(self._queue) if j is job), 0)

    def estimate(self, job: Job) -> float | None:
        """Roughly how many seconds until a waiting job finishes: the typical run times (latest ten of each
        kind) of the jobs ahead of it, shared by the slots, plus its own (None before any job of those kinds
        has finished; the time the running jobs still need is not known, so it is left out)."""
        with self._cond:
            queue = list(self._queue)
            typical = {kind: sum(d) / len(d) for kind, d in self._durations.items() if d}
        ahead = queue[: queue.index(job)] if job in queue else []
        if any(j.kind not in typical for j in [*ahead, job]):
            return None
        return sum(typical[j.kind] for j in ahead) / self.slots + typical[job.kind]

    def counts(self) -> tuple[int, int]:
        """(running, waiting) jobs right now."""
        with self._cond:
            return len(self._running), len(self._queue)

    def fit_threads(self, job: Job) -> None:
        """Called by a job that shares idle cores, in its worker: every core while it runs alone and nothing
        waits, else one thread (another job started: it has a core of its own within one report)."""
        with self._cond:
            alone = self._running == [job] and not self._queue
        threads = self.slots if alone else 1
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def _work(self) -> None:
        _one_thread()  # one thread per worker: small solves, and a core for each other worker
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                job = self._queue.popleft()
                self._running.append(job)
            try:
                if job.cancelled:
                    job.error = "Cancelled before it started."
                    job.finished = time.monotonic()
                    job._done.set()
                else:
                    job._run()
            finally:
                if job.share_idle_cores:
                    _one_thread()
                with self._cond:
                    self._running.remove(job)
                    if job.started is not None and not job.error:
                        self._durations.setdefault(job.kind, deque(maxlen=10)).append(job.elapsed())

    def _watch(self) -> None:
        """Cancel jobs whose browser session has been gone for ORPHAN_SECONDS."""
        gone_since: dict[int, float] = {}
        while True:
            time.sleep(WATCH_EVERY)
            with self._cond:
                jobs = [*self._queue, *self._running]
            now = time.monotonic()
            for job in jobs:
                if job.session_id is None or self._session_alive(job.session_id):
                    gone_since.pop(id(job), None)
                elif now - gone_since.setdefault(id(job), now) >= ORPHAN_SECONDS:
                    job.stop()
            gone_since = {id(j): gone_since[id(j)] for j in jobs if id(j) in gone_since}


def _one_thread() -> None:
    """One torch thread for the calling thread. torch's count is per thread, but a thread takes the count
    last set anywhere at its first parallel operation: reading it now fixes this thread's at one."""
    torch.set_num_threads(1)
    torch.get_num_threads()


def _session_alive(session_id: str) -> bool:
    """Whether a browser session is still connected (True where Streamlit's runtime cannot tell)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True
    try:
        return bool(Runtime.instance().is_active_session(session_id))
    except Exception:  # noqa: BLE001 - a mocked runtime (AppTest) cannot tell: keep the job
        return True


@st.cache_resource
def runner() -> JobRunner:
    """The one runner shared by every session of this server."""
    return JobRunner()


def in_worker() -> bool:
    """Whether the calling thread is one of the runner's workers."""
    return threading.current_thread().name.startswith(_WORKER)


def session_id() -> str | None:
    """The current browser session's id (for the watchdog)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def waiting_text(job: Job) -> str:
    """'waiting, 2nd in the queue' or the job's progress, for a status line."""
    place = runner().place(job)
    if place:
        running, waiting = runner().counts()
        eta = runner().estimate(job)
        wait = f", about {eta:.0f} s" if eta is not None else ""
        return (
            f"Waiting: place {place} of {waiting} in the queue{wait} ({running} job(s) running on this "
            "server)."
        )
    return f"{job.message} ({job.elapsed():.0f} s)"


# --------------------------------------------------------------------------- the app's job kinds
@dataclass
class TrainingLive:
    """What a training job shows while it runs: the latest progress and the loss history."""

    progress: Any = None
    history: list = field(default_factory=list)
    installed: bool = False  # the page made the finished model the session's model
    preview: tuple | None = None  # (step, generated points) from the model so far


PREVIEW_POINTS, PREVIEW_TOL = 400, 1e-3  # a cheap decode of fixed latents: enough to see the shape form


def start_training(X, basis, schedule, config, data_info: dict, data_title: str, sampler=None) -> Job:
    """Train a network in the queue (``training.train``); Stop finishes early with a usable model.
    ``sampler`` trains on fresh draws of a built-in dataset instead of X."""
    from inflow_core import training

    config.check()
    live = TrainingLive()

    def work(job: Job):
        def on_progress(progress) -> None:
            live.progress = progress
            live.history.append((progress.step, progress.loss))
            if progress.eta is not None:
                job.report(
                    progress.elapsed / max(progress.elapsed + progress.eta, 1e-9), f"step {progress.step:,}"
                )

        def on_preview(step: int, flow) -> None:
            latents = flow.prior_samples(PREVIEW_POINTS, seed=0)  # the same draws every time
            try:
                live.preview = (step, flow.decode(latents, rtol=PREVIEW_TOL, atol=PREVIEW_TOL))
            except ValueError:  # an early model the solver cannot follow: keep training, skip this look
                pass

        return training.train(
            X,
            basis,
            schedule,
            config,
            progress=on_progress,
            stop_event=job.stop_event,
            data_info=data_info,
            sampler=sampler,
            preview=on_preview,
        )

    job = runner().submit("training", f"Training on {data_title}", work, session_id())
    job.detail = live
    return job


def start_sbc(flow, mixture, replicates: int, n: int, noise: float, solver: dict) -> Job:
    """Simulation-based calibration (``inference.sbc``) in the queue, with progress and Cancel."""
    from inflow_core import inference

    def work(job: Job):
        solver_options = dict(solver)
        method = solver_options.pop("method", None)
        try:
            return inference.sbc(
                flow,
                mixture,
                replicates=replicates,
                n=n,
                obs_noise=noise,
                progress=job.report,
                stop=job.stop_event,
                solver_method=method,
                **solver_options,
            )
        except inference.Cancelled:
            raise Cancelled from None

    # SBC solves all replicates' points in one batch (100,000 at 200 x 500): the network's matrix products
    # are ~1.7x faster on two cores, so a lone SBC run uses both.
    return runner().submit("sbc", "Simulation-based calibration", work, session_id(), share_idle_cores=True)


def start_coverage(flows: dict, n_test: int, n_boundary: int, data) -> Job:
    """The coverage experiment (``calibration.coverage_experiment``) for each named flow in turn; Cancel
    keeps the flows that finished (``job.detail`` holds them as they come)."""
    from inflow_core import calibration

    results: dict = {}

    def work(job: Job) -> dict:
        for k, (name, flow) in enumerate(flows.items()):

            def report(fraction: float, message: str, k=k, name=name) -> None:
                job.report((k + fraction) / len(flows), f"{plain(name)}: {message}")  # a markdown line

            try:
                results[name] = calibration.coverage_experiment(
                    flow,
                    n_test=n_test,
                    n_boundary=n_boundary,
                    progress=report,
                    stop_event=job.stop_event,
                    data=data,
                )
            except calibration.CalibrationCancelled:
                raise Cancelled from None
        return results

    job = runner().submit("coverage", "Coverage experiment", work, session_id())
    job.detail = results
    return job
