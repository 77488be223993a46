"""Background training: a worker thread per job that never calls Streamlit, and a server-wide cap.

The worker only writes plain attributes of its ``TrainingJob`` (latest progress, loss history,
result or error); the Train page polls them from a fragment. Each session holds at most one job
(kept in its session state); ``MAX_CONCURRENT_JOBS`` bounds the jobs running in the whole server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

import inflow_core as ic
from inflow_core import training
from inflow_core.training import Progress, TrainConfig, TrainResult

MAX_CONCURRENT_JOBS = 2


class ServerBusy(ValueError):
    """Too many training jobs are running on this server."""


@dataclass
class TrainingJob:
    """A training run in a background thread; its fields are written by the worker, read by the page."""

    config: TrainConfig
    data_title: str
    schedule_text: str
    stop_event: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    history: list[tuple[int, float]] = field(default_factory=list)
    result: TrainResult | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        """Ask the worker to finish early; it still returns a usable (EMA) model."""
        self.stop_event.set()

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress
        self.history.append((progress.step, progress.loss))

    def _run(self, X: np.ndarray, basis: ic.EigenBasis, schedule: ic.Schedule, data_info: dict,
             sampler: Callable[[int], np.ndarray] | None) -> None:
        try:
            self.result = training.train(X, basis, schedule, self.config, progress=self._on_progress,
                                            stop_event=self.stop_event, data_info=data_info, sampler=sampler)
        except ValueError as err:  # bad settings or a diverged run: the message says what to change
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - the worker must always report back to the page
            self.error = f"Training failed unexpectedly: {type(err).__name__}: {err}"


class JobRegistry:
    """All training jobs of this server process, to enforce the concurrency cap."""

    def __init__(self, cap: int = MAX_CONCURRENT_JOBS):
        self.cap = cap
        self._lock = threading.Lock()
        self._jobs: list[TrainingJob] = []

    def running(self) -> int:
        with self._lock:
            self._jobs = [job for job in self._jobs if job.running]
            return len(self._jobs)

    def start(self, X: np.ndarray, basis: ic.EigenBasis, schedule: ic.Schedule, config: TrainConfig,
              data_info: dict, data_title: str,
              sampler: Callable[[int], np.ndarray] | None = None) -> TrainingJob:
        """Start a job in a daemon thread, or raise ServerBusy when the server is at its cap.

        ``sampler`` (see ``training.train``) trains on fresh draws of a built-in dataset instead of X."""
        config.check()
        job = TrainingJob(config, data_title, schedule.describe())
        with self._lock:
            self._jobs = [j for j in self._jobs if j.running]
            if len(self._jobs) >= self.cap:
                raise ServerBusy(f"{len(self._jobs)} training jobs are already running on this server (the "
                                 f"limit is {self.cap}); wait for one to finish or use the exact flow.")
            job.thread = threading.Thread(target=job._run, args=(X, basis, schedule, data_info, sampler),
                                          name="inflow-training", daemon=True)
            self._jobs.append(job)
            job.thread.start()
        return job


@st.cache_resource
def registry() -> JobRegistry:
    """The one registry shared by every session of this server."""
    return JobRegistry()
