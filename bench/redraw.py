"""Flow page view changes in a real browser (issue 13): colour, trails and the shown coordinates re-draw the
stored trajectory, against Compute (a solve and its first draw) from the same run as the baseline.

    python bench/redraw.py [--repeats 4] [--width 1400 --height 900]

Serves the app (``streamlit run app.py``) and drives Debian's headless Chromium with Playwright on this
machine, so the server and the browser share its cores as in the browser tests. Two pages:
* circles, exact flow reducing to d = 1 (the browser test's page): Compute, then the colour (label ->
  initial angle -> initial position -> ...) and the trails (0 -> 1 -> 2 -> 1 -> 0), ``repeats`` times each;
* digits (D = 64, 500 points): Compute, then the shown eigen-coordinates: u1, u3 (from u1, u2), then
  u1, u2, u3 (a 3-D scene, WebGL: software-rendered in headless Chromium), then u1, u2 again.
A time runs from the click that picks the new value until the chart shows a new figure that has it (a new
Plotly graph, drawn, holding the picked colour title, paths trace or axis titles) and the next frame is
painted. The NFE line must stay the same through every view change (no new solve): checked, and a
failure stops the run. Target: under 1 s.

The floor under the 3-D scene, from the same run: the very figure the app sent for it, drawn by Plotly alone
(plotly.js from the plotly package) in a blank page, with no server and no Streamlit, in ``--fresh``
newly started browsers: after the app's 2-D figure (as in the app, where 2-D figures come first: Plotly's
code is warm, WebGL is not), its first draw (the browser's first WebGL scene) and a second one; and the
same for a one-point 3-D scene, WebGL's own cost.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import plotly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

TARGET_S = 1.0
IDLE = """() => !document.querySelector('[data-testid=stStatusWidget]')
    && !document.querySelector('[data-stale=true]')"""
# Mark the animation's current Plotly graph, so that the wait below knows a new one from it.
MARK = """() => { const gd = document.querySelector('.st-key-flow_animation .js-plotly-plot');
    if (gd) gd.__seen = true; }"""
# A new, drawn graph that passes ``test`` (a function of the graph), then one painted frame.
NEW_FIGURE = """async (test) => {
    const ok = new Function('gd', 'return ' + test);
    for (const end = performance.now() + 60000; ; ) {
        if (performance.now() > end) throw new Error('no new figure with ' + test + ' within 60 s');
        const gd = document.querySelector('.st-key-flow_animation .js-plotly-plot');
        if (gd && !gd.__seen && gd._fullLayout && gd.querySelector('.main-svg') && ok(gd)) break;
        await new Promise(r => requestAnimationFrame(r));
    }
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
}"""
COLOUR_TITLE = "gd._fullData.some(t => t.marker?.colorbar?.title.text.startsWith({!r}))"
PATHS = "gd._fullData.some(t => t.name === 'paths') === {}"
# Keeps the last figure spec the page parses (Streamlit's chart parses the spec it receives), for the floor.
KEEP_SPEC = """const parse = JSON.parse;
JSON.parse = function (text, ...rest) {
    if (typeof text === 'string' && text.length > 100000 && text.startsWith('{"data"')) window.__spec = text;
    return parse.call(this, text, ...rest);
};"""
# Plotly alone: draw a figure into a blank page until two frames are painted; ms.
BARE_DRAW = """async (spec) => {
    const t0 = performance.now();
    await Plotly.newPlot('g', JSON.parse(spec));
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const ms = performance.now() - t0;
    Plotly.purge('g');
    return ms;
}"""
ONE_POINT_SCENE = '{"data": [{"type": "scatter3d", "x": [0], "y": [0], "z": [0]}], "layout": {"height": 500}}'


def settle(page) -> None:
    page.wait_for_function(IDLE, timeout=120_000)
    page.wait_for_timeout(1_000)


def nfe_line(page) -> str:
    """The solve's line: solver, NFE and wall time (the same solve shows the same line)."""
    text = page.get_by_text("field evaluations").first.inner_text()
    return re.search(r"Solver:.*?wall time [0-9.]+ s", text).group(0)


def compute(page, url: str) -> float:
    """Open the page, press Compute, and time the press until the animation is drawn."""
    page.goto(url)
    button = page.get_by_role("button", name="Compute the flow")
    button.wait_for(timeout=120_000)
    settle(page)
    start = time.monotonic()
    button.click()
    page.evaluate(NEW_FIGURE, "true")
    elapsed = time.monotonic() - start
    settle(page)
    return elapsed


def change(page, pick, test: str, solve: str) -> float:
    """Time one view change: ``pick`` makes it (its last action is the timed click)."""
    page.evaluate(MARK)
    start = pick()
    page.evaluate(NEW_FIGURE, test)
    elapsed = time.monotonic() - start
    settle(page)
    if nfe_line(page) != solve:
        raise SystemExit(f"a view change solved again: {nfe_line(page)!r} after {solve!r}")
    return elapsed


def colour_picker(page, option: str):
    def pick() -> float:
        page.get_by_role("combobox", name="Colour").click()
        page.wait_for_timeout(300)
        start = time.monotonic()
        page.get_by_role("option", name=option, exact=False).first.click()
        return start

    return pick


def trails_picker(page, step: int):
    """Move the Trails slider one step (+1 or -1) with the keyboard (each key press is one change)."""

    def pick() -> float:
        thumb = page.locator(".st-key-w-flow-trails input[type=range]")
        thumb.focus()
        start = time.monotonic()
        thumb.press("ArrowRight" if step > 0 else "ArrowLeft")
        return start

    return pick


def dims_picker(page, add: str | None, remove: str | None):
    """Add or remove one eigen-coordinate in the multiselect."""

    def pick() -> float:
        box = page.locator(".st-key-w-flow-dims")
        if add:
            box.get_by_role("combobox").click()
            page.wait_for_timeout(300)
            start = time.monotonic()
            page.get_by_role("option", name=add, exact=True).click()
            page.keyboard.press("Escape")
            page.get_by_role("heading", name="Flow").click()  # close the list: the next click must land
            return start
        start = time.monotonic()
        box.get_by_role("button", name=f"Remove {remove}").click()
        return start

    return pick


def plotly_alone(playwright, flat: str, spec: str, width: int, height: int) -> tuple[float, float]:
    """Seconds Plotly alone takes to draw ``spec`` in a newly started browser after the 2-D figure
    ``flat``: first, then again."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_content(f"<div id='g' style='width: {width - 460}px'></div>")  # about the app's chart width
    page.add_script_tag(path=str(PLOTLY_JS))
    page.evaluate(BARE_DRAW, flat)
    first, second = (page.evaluate(BARE_DRAW, spec) / 1000 for _ in range(2))
    browser.close()
    return first, second


def report(name: str, times: list[float], target: bool = True) -> None:
    worst = max(times)
    verdict = f"; {'meets' if worst < TARGET_S else 'misses'} the {TARGET_S:.0f} s target" if target else ""
    print(
        f"  {name:<34} median {statistics.median(times):.2f} s, max {worst:.2f} s ({len(times)}{verdict})   "
        + " ".join(f"{t:.2f}" for t in times),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--fresh", type=int, default=3, help="newly started browsers for the 3-D floor")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with streamlit_server("bench_redraw.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        context.add_init_script(KEEP_SPEC)
        page = context.new_page()
        print(f"Flow page view changes, headless Chromium {args.width}x{args.height}, server on this machine")

        print("circles, exact flow reducing to d = 1:")
        report("Compute (baseline: solve + draw)", [compute(page, f"{url}/flow?family=reducing&d=1")], False)
        solve = nfe_line(page)
        colours = [("angle", "initial angle"), ("position", "initial position")]
        times = [
            change(page, colour_picker(page, option), COLOUR_TITLE.format(title), solve)
            for _ in range(args.repeats)
            for option, title in colours
        ]
        report("colour", times)
        times = [
            change(page, trails_picker(page, step), PATHS.format("true" if shown else "false"), solve)
            for _ in range(args.repeats)
            for step, shown in ((+1, True), (+1, True), (-1, True), (-1, False))
        ]
        report("trails", times)

        print("digits (D = 64), exact flow reducing to d = 2:")
        report(
            "Compute (baseline: solve + draw)",
            [compute(page, f"{url}/flow?dataset=digits&n=500&family=reducing&d=2")],
            False,
        )
        solve = nfe_line(page)
        scene = "gd._fullLayout.scene?.zaxis.title.text.startsWith('u3')"
        flat = "!gd._fullLayout.scene && gd._fullLayout.yaxis.title.text.startsWith('u{}')"
        two, three = [], []
        for _ in range(args.repeats):
            dims_picker(page, None, "u2")()  # u1 alone shows u1, u2 as before: no new figure (untimed)
            settle(page)
            two.append(change(page, dims_picker(page, "u3", None), flat.format(3), solve))
            flat_spec = page.evaluate("window.__spec")
            three.append(change(page, dims_picker(page, "u2", None), scene, solve))
            spec = page.evaluate("window.__spec")
            two.append(change(page, dims_picker(page, None, "u3"), flat.format(2), solve))
        report("coordinates, 2-D (u1, u3 / u1, u2)", two)
        report("coordinates, 3-D scene (u1, u2, u3)", three)
        browser.close()

        version = re.search(r"plotly\.js v([\d.]+)", PLOTLY_JS.read_text()[:300]).group(1)
        print(
            f"the floor: Plotly alone (plotly.js {version}), no server, {args.fresh} newly started browsers, "
            "each after the app's 2-D figure (u1, u3):"
        )
        for name, figure in (("the app's 3-D figure", spec), ("a one-point 3-D scene", ONE_POINT_SCENE)):
            draws = [
                plotly_alone(playwright, flat_spec, figure, args.width, args.height)
                for _ in range(args.fresh)
            ]
            report(f"{name}, first draw", [first for first, _ in draws], False)
            report(f"{name}, drawn again", [again for _, again in draws], False)


if __name__ == "__main__":
    main()
