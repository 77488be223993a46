"""Fixtures for browser tests: a `streamlit run app.py` server on a free port and headless Chromium.

Without /usr/bin/chromium the tests skip with the reason, unless INFLOW_REQUIRE_BROWSER=1 (set by
.ci/run), where a missing browser is a failure.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts" / "browser"


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) for these tests"
    if os.environ.get("INFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (INFLOW_REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit.log"):
    """A `streamlit run app.py` server on a free port, stopped on exit; yields its URL."""
    _require_browser()
    port = _free_port()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "artifacts" / log_name, "w")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (see {ROOT / 'artifacts' / log_name})")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url():
    """Start the app once for the browser tests; stop it afterwards."""
    with streamlit_server() as url:
        yield url


@pytest.fixture
def fresh_app_url():
    """A server of its own that no browser has visited yet (Streamlit's start-up modes differ)."""
    with streamlit_server("streamlit_fresh.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1700})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def report(artifacts):
    """Print a measurement and keep it in artifacts/browser/measurements.txt, since pytest hides what
    passing tests print (the figures for bench/RESULTS.md come from there)."""
    path = artifacts / "measurements.txt"
    path.write_text("")

    def write(line: str) -> None:
        print(line)
        with path.open("a") as out:
            out.write(line + "\n")

    return write
