"""Exports of the Flow page: trajectories as CSV and the animation as a standalone, self-playing HTML page."""

import io
import json

import numpy as np
import pandas as pd

import inflow_core as ic
from explorer import adapters
from inflow_core import viz


def small_result(direction: str = "inflate"):
    X, labels = ic.datasets.load("moons", n=200, seed=0)
    basis = ic.EigenBasis.fit(X)
    schedule = ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=1)
    flow = adapters.exact_flow(X, basis, schedule, rtol=1e-5, atol=1e-5)
    return adapters.flow_result(
        f"test|{direction}", flow, "moons|200", X, labels, direction, 50, 30, 0, "gaussian"
    )


def test_trajectories_csv_has_every_frame_and_particle():
    result = small_result()
    table = pd.read_csv(io.BytesIO(adapters.trajectories_csv(result)))
    assert list(table.columns) == ["frame", "t", "particle", "u1", "u2"]
    assert len(table) == 30 * 50
    last = table[table.frame == 29][["u1", "u2"]].to_numpy()
    np.testing.assert_allclose(last, result.states[-1], rtol=1e-5, atol=1e-6)
    assert table.t.iloc[0] == 0.0 and np.isclose(table.t.max(), result.times[-1])


def test_html_export_is_standalone_and_plays_on_open():
    fig = adapters.animation_figure(small_result("generate"), [0, 1], "position")
    html = fig.to_html(include_plotlyjs=True, auto_play=True, animation_opts=viz.animation.play_options())
    assert "<script" in html and "Plotly.animate" in html and "addFrames" in html
    assert 'src="https://cdn.plot.ly' not in html and len(html) > 3_000_000  # plotly.js inlined: offline
    assert len(fig.frames) == 30


def test_animation_payload_stays_under_10_mb_at_the_largest_settings():
    frames, coords, dims = 150, 3, 64  # the Flow page's maxima: 150 frames, 3-D view, digits' 64 dims
    n = min(3000, viz.animation.payload_particles(frames, coords))
    states = np.random.default_rng(0).standard_normal((frames, n, coords)).astype(np.float32)
    variances = np.full((frames, dims), 0.5)
    fig = viz.flow.flow_animation(
        np.linspace(0, 7, frames),
        states,
        states[0, :, 0],
        "initial position",
        ["u1", "u2", "u3"],
        variances,
        variances,
        trail_index=np.arange(10),
    )
    assert len(fig.frames) == frames
    assert len(fig.to_json()) < 10e6


def test_gif_export_has_every_frame_of_the_first_two_shown_coordinates():
    from PIL import Image

    result = small_result()
    data = adapters.animation_gif(result, [0, 1], "label", title="moons", source="Exact: test")
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.n_frames == len(result.times) == 30


def test_round_trip_far_above_the_tolerance_is_explained():
    adaptive = ic.SolverOptions("dopri5", 1e-5, 1e-5)
    assert "far above the tolerance" in adapters._round_trip_text("x", "max 1e-2", 1e-2, adaptive)
    assert adapters._round_trip_text("x", "max 1e-4", 1e-4, adaptive) == "x: max 1e-4"
    euler = ic.SolverOptions("euler", step_size=0.1)
    assert adapters._round_trip_text("x", "max 1e-2", 1e-2, euler) == "x: max 1e-2"  # no tolerance to compare


def test_the_animation_figure_is_built_once_per_result_and_view():
    """A class pressing Compute together shares one figure: equal results (other objects, same content)
    and the same view give the same figure object; another view builds its own."""
    result = small_result()
    twin = adapters.FlowResult(**{name: getattr(result, name) for name in result.__dataclass_fields__})
    twin.states = result.states.copy()
    first, megabytes = adapters.animation_view(result, [0, 1], "angle", 3, "title", 500)
    assert adapters.animation_view(twin, [0, 1], "angle", 3, "title", 500)[0] is first
    assert 0 < megabytes == len(first.to_json()) / 1e6
    assert adapters.animation_view(result, [0, 1], "position", 3, "title", 500)[0] is not first
    twin.states = result.states + 1.0  # other frames: another figure
    assert adapters.animation_view(twin, [0, 1], "angle", 3, "title", 500)[0] is not first
    # Its dict form, what st.plotly_chart serialises, is computed once and equals a fresh build's.
    assert first.to_dict() is first.to_dict()
    fresh = adapters.animation_figure(result, [0, 1], "angle", 3, title="title", height=500)
    assert json.loads(first.to_json()) == json.loads(fresh.to_json())


def test_the_round_trip_checks_a_named_subset_of_the_particles():
    """The round trip (the solver's error) decodes at most ROUND_TRIP_POINTS particles, and says so."""
    X, labels = ic.datasets.load("moons", n=400, seed=0)
    basis = ic.EigenBasis.fit(X)
    flow = adapters.exact_flow(X, basis, ic.Schedule.isotropic(basis.eigenvalues), rtol=1e-5, atol=1e-5)
    result = adapters.flow_result(
        "test|subset", flow, "moons|400", X, labels, "inflate", 300, 10, 0, "gaussian"
    )
    assert f"({adapters.ROUND_TRIP_POINTS} of the 300 particles)" in result.round_trip
    assert "max |error|" in result.round_trip
    small = small_result()  # 50 particles: all of them, no subset named
    assert "of the" not in small.round_trip and "max |error|" in small.round_trip


def test_the_gif_title_is_the_data_title_as_written_and_the_figure_title_is_escaped():
    """Plotly reads a few HTML tags, so the figure gets the data's title escaped; Pillow draws text as it
    is, so the GIF gets it unescaped (it showed "&amp;lt;" for a file named with "<")."""
    basis = ic.EigenBasis.fit(np.random.default_rng(0).standard_normal((50, 2)))
    schedule = ic.Schedule.isotropic(basis.eigenvalues)
    name = "a <b>&</b> b.csv"
    figure = adapters.animation_title("inflate", name, schedule)
    gif = adapters.animation_title("inflate", name, schedule, plotly=False)
    assert figure == ("Inflating: a &lt;b&gt;&amp;&lt;/b&gt; b.csv", schedule.describe())
    assert gif == ("Inflating: a <b>&</b> b.csv", schedule.describe())
