"""A browser-free Streamlit session for load tests: speaks the app's websocket protocol (protobuf BackMsg
out, ForwardMsg in) the way the Streamlit 1.67 frontend does, without drawing anything.

The protocol, as read from streamlit/web/server/starlette/starlette_websocket.py and
streamlit/runtime/app_session.py:

* connect to ``ws://HOST:PORT/_stcore/stream`` with the subprotocol ``streamlit`` (the first entry of
  Sec-WebSocket-Protocol; a second and third entry would carry an XSRF token and a session id to resume).
  Without an Origin header the XSRF check does not apply. Frames are binary protobufs only.
* nothing runs until the client sends a ``BackMsg.rerun_script`` (a ``ClientState``): the first one
  carries the link's query string and an empty page name (the app's root URL).
* every script run starts with ``ForwardMsg.new_session`` (its ``page_script_hash`` is the page shown) and
  ends with ``script_finished``: ``FINISHED_EARLY_FOR_RERUN`` when the script called ``st.rerun`` or
  ``st.switch_page`` (another run follows at once), ``FINISHED_SUCCESSFULLY`` when the page is complete.
  ``page_info_changed`` carries the new query string whenever the app writes ``st.query_params``.
* elements arrive as ``delta.new_element``; a widget's id is in its proto's ``id`` field and ends with
  ``-<key>`` for a keyed widget. A button press is a ``rerun_script`` with the current query string and
  page hash and that id with ``trigger_value = true``. Widgets left out of ``widget_states`` keep their
  previous values on the server, so a client that changed nothing may send the trigger alone.
* large elements are sent whole unless the client lists their hashes in ``cached_message_hashes``: this
  client lists none, so a Plotly chart arrives as one message with its full spec (often megabytes).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# A Plotly figure with animation frames: `"frames": [{` somewhere in the spec JSON.
_FRAMES = re.compile(r'"frames"\s*:\s*\[\s*\{')


@dataclass
class Caption:
    """A text element the session was shown, with its arrival time (seconds since the last action)."""

    at: float
    text: str


@dataclass
class StreamlitClient:
    """One session over one websocket connection. ``open`` follows a link, ``click`` presses a button and
    waits for a Plotly chart with animation frames; a reader task keeps consuming messages meanwhile (as a
    browser does, so the server's send queue never fills), records what was shown and sets events."""

    port: int
    query_string: str
    timeout: float = 600.0
    page_hash: str = ""
    widget_ids: dict[str, str] = field(default_factory=dict)  # user key -> element id
    texts: list[Caption] = field(default_factory=list)  # markdown shown since the last action
    spinners: list[Caption] = field(default_factory=list)  # spinner text shown ("" = spinners gone)
    exceptions: list[str] = field(default_factory=list)  # exception elements (tracebacks in the app)
    errors: list[str] = field(default_factory=list)  # st.error boxes
    failure: str | None = None  # why the session broke, if it did
    received_bytes: int = 0

    def __post_init__(self) -> None:
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._t0 = time.perf_counter()
        self._finished = asyncio.Event()
        self._chart = asyncio.Event()
        self._chart_key: str | None = None
        self.chart_at: float | None = None

    # ------------------------------------------------------------------ actions
    async def open(self) -> float:
        """Connect and send the first run with the link's query string; return the seconds until that run
        (and any ``st.switch_page`` / ``st.rerun`` it chains) finished successfully."""
        self._t0 = time.perf_counter()
        # ping_interval=None: a browser answers pings but never sends them, and a server busy solving may
        # answer late; max_size=None: a chart with frames is one message of several megabytes.
        self._ws = await asyncio.wait_for(
            websockets.connect(
                f"ws://127.0.0.1:{self.port}/_stcore/stream",
                subprotocols=["streamlit"],
                max_size=None,
                ping_interval=None,
                open_timeout=self.timeout,
            ),
            self.timeout,
        )
        self._reader = asyncio.create_task(self._read())
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_name = ""
        msg.rerun_script.context_info.url = f"http://127.0.0.1:{self.port}/"
        await self._send(msg)
        await self._wait(self._finished, "the first run to finish")
        return time.perf_counter() - self._t0

    async def click(self, key: str, chart_key: str) -> float:
        """Press the button with user key ``key``; return the seconds until the Plotly chart with user key
        ``chart_key`` arrives with animation frames. Then wait for the run to finish, untimed."""
        if key not in self.widget_ids:
            raise RuntimeError(f"no widget with key {key!r} on the page")
        self._chart_key = chart_key
        self._finished.clear()
        self._chart.clear()
        self.texts.clear()
        self.spinners.clear()
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_script_hash = self.page_hash
        widget = msg.rerun_script.widget_states.widgets.add()
        widget.id, widget.trigger_value = self.widget_ids[key], True
        self._t0 = time.perf_counter()
        await self._send(msg)
        await self._wait(self._chart, f"the chart {chart_key!r}")
        seconds = self.chart_at
        await self._wait(self._finished, "the run to finish after the chart")
        return seconds

    async def close(self) -> None:
        """Close the connection (the server ends the session) and stop the reader."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # ------------------------------------------------------------------ internals
    async def _send(self, msg: BackMsg) -> None:
        await asyncio.wait_for(self._ws.send(msg.SerializeToString()), self.timeout)

    async def _wait(self, event: asyncio.Event, what: str) -> None:
        try:
            await asyncio.wait_for(event.wait(), self.timeout)
        except TimeoutError:
            self.failure = self.failure or f"timed out after {self.timeout:.0f} s waiting for {what}"
            raise
        if self.failure:
            raise RuntimeError(self.failure)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self.received_bytes += len(raw)
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
            self.failure = self.failure or "the server closed the connection"
        except Exception as err:  # noqa: BLE001 - any read error ends the session; the waiters report it
            self.failure = self.failure or f"{type(err).__name__}: {err}"
        finally:  # wake the waiters; they see the failure
            self._finished.set()
            self._chart.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind in ("new_session", "script_finished") and self.spinners and self.spinners[-1].text:
            # A run's end takes its spinners away: the clearing delta itself is dropped from the send queue
            # when the script reruns at once (st.rerun right after the spinner).
            self.spinners.append(Caption(time.perf_counter() - self._t0, ""))
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string  # the browser's address bar
        elif kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self._finished.set()
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_transient":
            # st.spinner is a transient element, sent after half a second and cleared by an empty one.
            elements = msg.delta.new_transient.elements
            texts = [e.spinner.text for e in elements if e.WhichOneof("type") == "spinner"]
            self.spinners.append(Caption(time.perf_counter() - self._t0, " | ".join(texts)))

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        at = time.perf_counter() - self._t0
        if kind == "markdown":
            self.texts.append(Caption(at, element.markdown.body))
        elif kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            self.errors.append(element.alert.body)
        elif kind == "plotly_chart":
            chart = element.plotly_chart
            if (
                self._chart_key
                and user_key(chart.id) == self._chart_key
                and not self._chart.is_set()
                and _FRAMES.search(chart.spec)
            ):
                self.chart_at = at
                self._chart.set()
        widget = getattr(element, kind, None)
        widget_id = getattr(widget, "id", "") if widget is not None else ""
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            key = user_key(widget_id)
            if key:
                self.widget_ids[key] = widget_id

    def seen(self, text: str) -> list[Caption]:
        """The markdown shown since the last action that contains ``text``."""
        return [c for c in self.texts if text in c.text]

    @property
    def started(self) -> float:
        """perf_counter() at the last action (the times recorded are seconds since then)."""
        return self._t0


def user_key(element_id: str) -> str | None:
    """The user key of an element id ``$$ID-<hash>-<key>`` (None for an unkeyed element), as Streamlit's
    ``user_key_from_element_id`` splits it."""
    key = element_id.split("-", maxsplit=2)[-1]
    return None if key == "None" or element_id.count("-") < 2 else key
