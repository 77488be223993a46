"""A class of N students on one server: the app served on one core, N browser-free clients on the other.

    python bench/classroom.py [--sizes 1,10,20,30] [--scenarios same,same-warm,different] [--timeout 600]
                              [--option runner.postScriptGC=false ...]

For each scenario and class size a fresh server (``streamlit run app.py``, pinned to core 0 with taskset)
receives N websocket clients (bench/st_client.py, one connection each, in this process pinned to core 1).
All clients open their link at once; once every page is complete they all press **Compute the flow**
together (the worst moment of a lesson), and each waits for the flow animation (the ``flow_animation``
Plotly chart with frames) to arrive.

Scenarios:
  same        every client opens lesson step 1's link (?lesson=1&page=flow): one solve, shared by all
              through the server-wide single-flight cache;
  same-warm   the same after one client has opened the link and pressed Compute before class (the
              pre-warm the README advises): every press is a cache hit;
  different   client i opens ?dataset=..&n=..&seed=..&page=flow with its own built-in dataset, size and
              seed: N solves through the job runner's queue.

Figures per run: open (connect until the first complete script run), click -> chart (the press until the
chart with frames arrives), link -> chart (the two added: following the link and pressing at once),
each as p50 / p95 / max; failed clients (timeout, dropped connection, missing chart, link not applied),
exception elements and error boxes; how many clients saw "Waiting: place k of m in the queue" and how
many waited without it; server CPU seconds (utime + stime from /proc) and peak memory (VmHWM). The row
"1" is the baseline from the same run: the same links, one student at a time, on its own fresh server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.st_client import StreamlitClient  # noqa: E402
from inflow_core import datasets  # noqa: E402

SERVER_CORE, CLIENT_CORE = 0, 1
CLASS = 30  # the class of issue 15, whose links the baseline covers when no other size is asked
LESSON_LINK = "lesson=1&page=flow"
BUTTON, CHART = "compute_flow", "flow_animation"
SIZES_N, SEEDS = (500, 1000, 1500), (0, 1)  # every built-in dataset allows these sizes (digits: 1,797)
STARTUP_S, STOP_S = 120.0, 15.0
WAIT_SLACK_S = 2.0  # spinner time without a status line that counts as waiting unseen
PLACE = "Waiting: place"
_RUNNING = re.compile(r"^running \((\d+) s\)")


@dataclass(frozen=True)
class Link:
    """A link a student opens, and what the page must show once it has applied the link."""

    query: str
    expect_query: tuple[str, ...]  # parameters the address bar must then hold
    expect_text: str | None = None  # text the page must show


@dataclass
class Outcome:
    """What one client measured and saw."""

    link: Link
    open_s: float | None = None
    click_s: float | None = None
    failure: str | None = None
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saw_place: bool = False
    unseen_s: float = 0.0  # seconds the spinner was up before any status line (place or "running")

    @property
    def failed(self) -> bool:
        return bool(self.failure or self.exceptions or self.errors)

    @property
    def waited_unseen(self) -> bool:
        """Whether the client waited without being told why: its spinner ("Integrating the flow...") was
        up more than WAIT_SLACK_S with neither "Waiting: place k of m" nor its job's "running (E s)" line.
        A job shows one of them a quarter of a second after it is queued; a session waiting for another
        session's identical solve shows neither."""
        return self.unseen_s > WAIT_SLACK_S


@dataclass
class Run:
    """One class on one fresh server."""

    scenario: str
    size: int
    outcomes: list[Outcome]
    cpu_s: float
    peak_mb: float
    wall_s: float  # the whole run, server start to stop
    load: tuple[float, float]  # 1-minute load average at the start and the end


# --------------------------------------------------------------------------- links
HOME = Link("", ("page=home",))


def lesson_links(count: int) -> list[Link]:
    return [Link(LESSON_LINK, ("page=flow", "dataset=circles"), "Lesson, step 1 of")] * count


def different_links(count: int) -> list[Link]:
    """``count`` distinct built-in datasets x sizes x seeds, datasets varying fastest so that a small class
    already covers every dataset."""
    combos = [(name, n, seed) for seed in SEEDS for n in SIZES_N for name in datasets.REGISTRY]
    if count > len(combos):
        raise SystemExit(f"only {len(combos)} different settings are defined; ask for at most that many")
    return [
        Link(
            f"dataset={name}&n={n}&seed={seed}&page=flow",
            ("page=flow", f"dataset={name}", f"n={n}", f"seed={seed}"),
        )
        for name, n, seed in combos[:count]
    ]


# --------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process before exec: the kernel sends it SIGTERM if this bench dies, even by
    SIGKILL, so no server outlives its bench (prctl PR_SET_PDEATHSIG; Linux only, like taskset)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    """``streamlit run app.py`` on 127.0.0.1, pinned to SERVER_CORE; stopped on leaving the ``with``."""

    def __init__(self, pin: bool, options: tuple[str, ...] = ()):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="classroom-server-", suffix=".log", delete=False)
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        for option in options:  # "section.name=value" -> --section.name value
            name, value = option.split("=", 1)
            command += [f"--{name}", value]
        if pin:
            command = ["taskset", "-c", str(SERVER_CORE), *command]  # taskset execs: the pid is Python's
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    def __enter__(self) -> Server:
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=5) as r:
                    if r.status == 200:
                        return
            time.sleep(0.5)
        raise RuntimeError(f"the server did not answer within {STARTUP_S:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process, all its threads."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        """Peak resident memory of the server since it started (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_S)
        self.log.close()


# --------------------------------------------------------------------------- the class
async def open_page(client: StreamlitClient, outcome: Outcome) -> None:
    try:
        outcome.open_s = await client.open()
        missing = [p for p in outcome.link.expect_query if p not in client.query_string.split("&")]
        if missing:
            outcome.failure = f"the link was not applied: {', '.join(missing)} not in {client.query_string}"
        elif outcome.link.expect_text and not client.seen(outcome.link.expect_text):
            outcome.failure = f"the page does not show {outcome.link.expect_text!r}"
    except Exception as err:  # noqa: BLE001 - one broken client is a figure, not the end of the run
        outcome.failure = client.failure or f"{type(err).__name__}: {err}"


async def press(client: StreamlitClient, outcome: Outcome) -> None:
    try:
        outcome.click_s = await client.click(BUTTON, CHART)
    except Exception as err:  # noqa: BLE001 - as in open_page
        outcome.failure = client.failure or f"{type(err).__name__}: {err}"
    outcome.saw_place = bool(client.seen(PLACE))
    shown = next((c.at for c in client.spinners if c.text), None)
    if shown is not None:
        gone = next((c.at for c in client.spinners if not c.text and c.at > shown), np.inf)
        line = next((c.at for c in client.texts if PLACE in c.text or _RUNNING.match(c.text)), np.inf)
        outcome.unseen_s = max(0.0, min(gone, line, time.perf_counter() - client.started) - shown)


async def lesson(port: int, links: list[Link], timeout: float, press_compute: bool = True) -> list[Outcome]:
    """All clients open their links together, then (once every page is complete) all press at once."""
    clients = [StreamlitClient(port, link.query, timeout) for link in links]
    outcomes = [Outcome(link) for link in links]
    try:
        await asyncio.gather(*(open_page(c, o) for c, o in zip(clients, outcomes, strict=True)))
        ready = [(c, o) for c, o in zip(clients, outcomes, strict=True) if not o.failure]
        if press_compute:
            await asyncio.gather(*(press(c, o) for c, o in ready))
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    for client, outcome in zip(clients, outcomes, strict=True):
        outcome.exceptions, outcome.errors = client.exceptions, client.errors
    return outcomes


def run_class(
    scenario: str,
    links: list[Link],
    timeout: float,
    pin: bool,
    warm: Link | None = None,
    one_at_a_time: bool = False,
    options: tuple[str, ...] = (),
) -> Run:
    """One fresh server, whose home page the teacher opens before class (untimed: the first run imports
    the app and computes the home animation); ``warm``: one client also opens that link and presses
    Compute before class (untimed); ``one_at_a_time``: the baseline, each link by a lone client in turn."""
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    with Server(pin, options) as server:
        try:
            before = [(HOME, False)] + ([(warm, True)] if warm else [])
            for link, press_compute in before:
                warmed = asyncio.run(lesson(server.port, [link], timeout, press_compute))[0]
                if warmed.failed:
                    raise RuntimeError(
                        f"opening {link.query or 'the home page'} before class failed: "
                        f"{warmed.failure or warmed.exceptions or warmed.errors}"
                    )
            cpu = server.cpu_seconds()
            groups = [[link] for link in links] if one_at_a_time else [links]
            outcomes = [o for group in groups for o in asyncio.run(lesson(server.port, group, timeout))]
            cpu = server.cpu_seconds() - cpu
        except BaseException:
            print(f"server log (last lines):\n{server.log_tail()}", file=sys.stderr)
            raise
        peak = server.peak_mb()
    return Run(
        scenario,
        1 if one_at_a_time else len(links),
        outcomes,
        cpu,
        peak,
        time.perf_counter() - start,
        (load_start, os.getloadavg()[0]),
    )


# --------------------------------------------------------------------------- the report
def quantiles(values: list[float | None]) -> str:
    done = np.array([v for v in values if v is not None])
    if not len(done):
        return f"{'-':>20}"
    p50, p95 = np.percentile(done, [50, 95])
    return f"{p50:6.2f} {p95:6.2f} {done.max():6.2f}"


HEADER = (
    f"{'N':>3} {'ok':>3} {'fail':>4} {'exc':>3} {'open p50/p95/max s':>20}  {'click->chart':>20}  "
    f"{'link->chart':>20}  {'place':>5} {'unseen':>6} {'CPU s':>6} {'peak MB':>7} {'wall s':>6} "
    f"{'load':>9}"
)


def row(run: Run) -> str:
    out = run.outcomes
    link_s = [o.open_s + o.click_s if o.open_s is not None and o.click_s is not None else None for o in out]
    return (
        f"{run.size:>3} {sum(not o.failed for o in out):>3} {sum(o.failed for o in out):>4} "
        f"{sum(len(o.exceptions) for o in out):>3} {quantiles([o.open_s for o in out]):>20}  "
        f"{quantiles([o.click_s for o in out]):>20}  {quantiles(link_s):>20}  "
        f"{sum(o.saw_place for o in out):>5} {sum(o.waited_unseen for o in out):>6} {run.cpu_s:>6.1f} "
        f"{run.peak_mb:>7.0f} {run.wall_s:>6.0f} {run.load[0]:>4.1f}>{run.load[1]:<4.1f}"
    )


def notes(run: Run, shown: int = 10) -> list[str]:
    """The first ``shown`` failures, a summary of the clients that waited unseen, and (for distinct links)
    the three slowest."""
    failures = [
        f"    client {i} ({o.link.query}): {what[:300]}"
        for i, o in enumerate(run.outcomes)
        for what in ([o.failure] if o.failure else []) + o.exceptions + o.errors
    ]
    lines = failures[:shown]
    if len(failures) > shown:
        lines.append(f"    ... and {len(failures) - shown} more")
    unseen = [o.unseen_s for o in run.outcomes if o.waited_unseen]
    if unseen:
        lines.append(
            f"    {len(unseen)} client(s) waited without a status line, the spinner alone up "
            f"{min(unseen):.1f}-{max(unseen):.1f} s"
        )
    if len({o.link for o in run.outcomes}) > 1:
        slow = sorted((o for o in run.outcomes if o.click_s is not None), key=lambda o: -o.click_s)[:3]
        slowest = (f"{o.link.query.removesuffix('&page=flow')} {o.click_s:.1f} s" for o in slow)
        lines.append("    slowest: " + ", ".join(slowest))
    return lines


def p95_click(run: Run) -> float:
    """p95 of click -> chart; a client without a chart counts as infinitely slow."""
    return float(np.percentile([np.inf if o.click_s is None else o.click_s for o in run.outcomes], 95))


def verdict(runs: dict[tuple[str, int], Run]) -> list[str]:
    """Issue 15's acceptance figures for the largest class."""
    lines = []
    for scenario in ("same", "same-warm"):
        big = max((k for k in runs if k[0] == scenario), default=None, key=lambda k: k[1])
        if big and big[1] > 1:
            p95 = p95_click(runs[big])
            lines.append(
                f"{big[1]} students, {scenario}: p95 click -> chart {p95:.2f} s (target <= 2 s): "
                f"{'met' if p95 <= 2 else 'NOT met'}"
            )
    big = max((k for k in runs if k[0] == "different"), default=None, key=lambda k: k[1])
    if big and big[1] > 1:
        run = runs[big]
        checks = {
            "no exception": sum(len(o.exceptions) for o in run.outcomes) == 0,
            "no failed client": not any(o.failed for o in run.outcomes),
            "every waiting client shown its place": not any(o.waited_unseen for o in run.outcomes),
            f"p95 click -> chart {p95_click(run):.1f} s <= 60 s": p95_click(run) <= 60,
            f"server memory {run.peak_mb:.0f} MB < 2 GB": run.peak_mb < 2048,
        }
        lines.append(
            f"{big[1]} students, different: "
            + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in checks.items())
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,20,30", help="class sizes; 1 is the one-at-a-time baseline")
    parser.add_argument("--scenarios", default="same,same-warm,different")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds any one wait may take")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="a Streamlit config option for the server, e.g. runner.postScriptGC=false",
    )
    args = parser.parse_args()
    # A plain kill ends the bench through its finally blocks, which stop the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    scenarios = args.scenarios.split(",")
    unknown = set(scenarios) - {"same", "same-warm", "different"}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if any("=" not in option for option in args.option):
        raise SystemExit("--option takes SECTION.NAME=VALUE")
    pin = {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0)
    if pin:
        os.sched_setaffinity(0, {CLIENT_CORE})  # this process is the clients; the server gets SERVER_CORE
    largest = max(sizes) if max(sizes) > 1 else CLASS  # the baseline alone covers a whole class's links
    print(
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, "
        f"{'server on core 0, clients on core 1' if pin else 'NOT pinned (needs cores 0 and 1)'}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        f"{', server options ' + ' '.join(args.option) if args.option else ''}"
    )
    runs: dict[tuple[str, int], Run] = {}
    for scenario in scenarios:
        make = different_links if scenario == "different" else lesson_links
        warm = lesson_links(1)[0] if scenario == "same-warm" else None
        print(
            f"\n{scenario}: {make(1)[0].query if scenario != 'different' else 'own dataset, n, seed'}"
            f"{', pre-warmed' if warm else ''}"
        )
        print(HEADER)
        for size in sizes:
            # The baseline: the largest class's links (the lesson's one link), one student at a time.
            links = (make(largest) if scenario == "different" else make(1)) if size == 1 else make(size)
            run = run_class(
                scenario, links, args.timeout, pin, warm, one_at_a_time=size == 1, options=tuple(args.option)
            )
            runs[scenario, size] = run
            print(row(run), flush=True)
            for line in notes(run):
                print(line)
    print()
    for line in verdict(runs):
        print(line)
    print(
        f"finished {datetime.now().astimezone():%H:%M %Z}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
