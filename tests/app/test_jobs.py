"""The one job runner (queue, caps, cancel, orphaned sessions) and the one result cache (single flight)."""

import threading
import time

import numpy as np
import pytest

from explorer import jobs
from explorer.adapters import ResultCache


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_queue_runs_in_order_within_its_slots_and_reports_places():
    runner = jobs.JobRunner(slots=1, session_alive=lambda sid: True)
    gate = threading.Event()
    first = runner.submit("flow", "first", lambda job: gate.wait(10) and "first done")
    wait_until(lambda: first.running)
    second = runner.submit("flow", "second", lambda job: "second done")
    third = runner.submit("flow", "third", lambda job: "third done")
    assert (runner.place(first), runner.place(second), runner.place(third)) == (0, 1, 2)
    assert runner.counts() == (1, 2)
    gate.set()
    assert third.wait(10) and [j.result for j in (first, second, third)] == [
        "first done",
        "second done",
        "third done",
    ]
    assert second.started >= first.finished and third.started >= second.finished


def test_a_job_that_shares_idle_cores_uses_them_only_while_alone():
    """At each progress report, the sharing job's torch thread count follows the queue: every core while it
    runs alone, one as soon as another job runs beside it; its worker is back at one thread when it ends,
    and the other worker keeps one throughout."""
    torch = pytest.importorskip("torch")
    runner = jobs.JobRunner(slots=2, session_alive=lambda sid: True)
    seen, step, gate = [], threading.Event(), threading.Event()

    def wide(job):
        job.report(0.0, "alone")
        seen.append(torch.get_num_threads())
        step.wait(10)
        job.report(0.5, "another job runs")
        seen.append(torch.get_num_threads())
        gate.wait(10)
        job.report(1.0, "done")
        seen.append(torch.get_num_threads())

    sharing = runner.submit("sbc", "wide", wide, share_idle_cores=True)
    wait_until(lambda: len(seen) == 1)
    beside = runner.submit(
        "flow", "beside", lambda job: step.set() or gate.wait(10) and torch.get_num_threads()
    )
    wait_until(lambda: len(seen) == 2)
    gate.set()
    assert beside.wait(10) and sharing.wait(10) and not sharing.error
    assert seen[:2] == [2, 1] and seen[2] in (1, 2)  # the last depends on which job finished first
    assert beside.result == 1
    # Alone from start to end: two threads throughout; afterwards both workers run with one.
    seen.clear()
    step.set()
    assert runner.submit("sbc", "alone", wide, share_idle_cores=True).wait(10)
    assert seen == [2, 2, 2]
    after = [runner.submit("flow", f"after {i}", lambda job: torch.get_num_threads()) for i in range(4)]
    assert all(job.wait(10) for job in after) and [job.result for job in after] == [1] * 4


def test_kind_cap_refuses_with_a_message_and_frees_after_finish():
    runner = jobs.JobRunner(slots=2, kind_caps={"training": 1}, session_alive=lambda sid: True)
    gate = threading.Event()
    running = runner.submit("training", "train", lambda job: gate.wait(10))
    with pytest.raises(jobs.ServerBusy, match="limit is 1"):
        runner.submit("training", "again", lambda job: None)
    other = runner.submit("coverage", "other kind", lambda job: "ok")  # other kinds are not capped
    assert other.wait(10) and other.result == "ok"
    gate.set()
    assert running.wait(10)
    assert runner.submit("training", "after", lambda job: "ok").wait(10)


def test_cancel_and_errors_are_reported_not_raised():
    runner = jobs.JobRunner(slots=1, session_alive=lambda sid: True)

    def loop(job):
        while True:
            job.check()
            time.sleep(0.01)

    job = runner.submit("coverage", "loop", loop)
    wait_until(lambda: job.running)
    job.stop()
    assert job.wait(10) and job.cancelled and job.error == "Cancelled."
    failing = runner.submit("flow", "bad", lambda job: 1 / 0)
    assert failing.wait(10) and "ZeroDivisionError" in failing.error
    with pytest.raises(ValueError, match="too stiff"):
        runner.run("flow", "refused", lambda job: (_ for _ in ()).throw(ValueError("too stiff")))


def test_a_closed_session_releases_its_slot(monkeypatch):
    """The watchdog stops a job whose browser session is gone (tested with short clocks)."""
    monkeypatch.setattr(jobs, "WATCH_EVERY", 0.05)
    monkeypatch.setattr(jobs, "ORPHAN_SECONDS", 0.2)
    alive = {"tab": True}
    runner = jobs.JobRunner(slots=1, session_alive=lambda sid: alive[sid])

    def train(job):
        while not job.stop_event.wait(0.01):
            pass
        return "stopped early"

    job = runner.submit("training", "train", train, session_id="tab")
    time.sleep(0.5)
    assert job.running  # its session is alive: it keeps running
    alive["tab"] = False  # the tab is closed
    assert job.wait(5) and job.result == "stopped early"
    assert runner.counts() == (0, 0)


def test_ten_concurrent_identical_requests_compute_once():
    cache = ResultCache()
    calls, barrier = [], threading.Barrier(10)

    def solve():
        calls.append(1)
        time.sleep(0.3)  # a solve in progress while the other nine ask for the same thing
        return object()

    results = [None] * 10

    def request(i):
        barrier.wait()
        results[i] = cache.get_or_compute(("flow", "same settings"), solve)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and cache.computed == 1
    assert all(r is results[0] for r in results)


def test_cache_shares_errors_without_keeping_them_and_stays_in_budget():
    cache = ResultCache(max_bytes=10_000, max_entries=100)
    with pytest.raises(ValueError):
        cache.get_or_compute("bad", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert cache.peek("bad") is None
    assert cache.get_or_compute("bad", lambda: 1) == 1  # an error is never cached
    for i in range(5):
        cache.get_or_compute(("big", i), lambda: np.zeros(500))  # 4 kB each
    assert cache.peek(("big", 4)) is not None and cache.peek(("big", 0)) is None


def test_a_waiting_job_gets_an_estimate_from_recent_run_times():
    runner = jobs.JobRunner(slots=1, session_alive=lambda sid: True)
    gate = threading.Event()
    runner.submit("flow", "warm", lambda job: time.sleep(0.2)).wait(10)  # one finished: 0.2 s typical
    blocker = runner.submit("flow", "running", lambda job: gate.wait(10))
    wait_until(lambda: blocker.running)
    first = runner.submit("flow", "first", lambda job: None)
    second = runner.submit("other", "second", lambda job: None)
    assert runner.estimate(second) is None  # no "other" job has finished yet
    assert runner.estimate(first) == pytest.approx(0.2, abs=0.1)
    third = runner.submit("flow", "third", lambda job: None)
    gate.set()
    assert third.wait(10)
