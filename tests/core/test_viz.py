"""The figure layer: frames and traces, fixed axes, equal aspect where circles are drawn, one palette,
and no Streamlit."""

import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.colors as pc
import pytest
from plotly_json import plotly_array

import inflow_core as ic
from inflow_core.reduction import Neighbourhood, VarianceProfile
from inflow_core.viz import calibration, data, flow, reduction, schedule, style, training, uncertainty

RNG = np.random.default_rng(0)
TIMES = np.linspace(0.0, 2.0, 7)


def walk(states: np.ndarray, labels: np.ndarray | None = None, **kwargs):
    """A flow animation of ``states`` (K, N, d), coloured by ``labels`` or by the first coordinate."""
    colors, title = (labels, "label") if labels is not None else (states[0, :, 0], "initial position")
    axis_titles = ["a", "b", "c"][: states.shape[2]]
    return flow.flow_animation(TIMES[: len(states)], states, colors, title, axis_titles, **kwargs)


def propagation(n_points: int = 3):
    means = RNG.standard_normal((len(TIMES), n_points, 2))
    covs = np.tile(np.diag([0.2, 0.05]), (len(TIMES), n_points, 1, 1))
    samples = RNG.standard_normal((len(TIMES), n_points, 40, 2))
    background = RNG.standard_normal((len(TIMES), 50, 2))
    return uncertainty.propagation_animation(TIMES, means, covs, samples, 2.0, background)


def coverage_table() -> pd.DataFrame:
    radii = np.array([0.5, 1.0, 2.0])
    table = pd.DataFrame({"radius": radii, "nominal": [12.0, 39.0, 86.0], "initial": [12.0, 39.5, 86.2]})
    for column in ("after_round_trip", "after_generation", "data_inside"):
        table[column], table[f"{column}_se"] = table["initial"] + 0.3, 0.2
    return table


def ring(radius: float = 1.0) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    return radius * np.c_[np.cos(angles), np.sin(angles)]


@pytest.fixture(scope="module")
def figures() -> dict:
    """One figure from every Plotly builder, in the settings that use the most colours."""
    states2, states3 = RNG.standard_normal((7, 60, 2)), RNG.standard_normal((7, 60, 3))
    digits, variances = np.arange(60) % 10, np.abs(RNG.standard_normal((7, 8))) + 0.1
    basis = ic.EigenBasis.fit(RNG.standard_normal((200, 12)) * np.arange(1, 13))
    times = np.linspace(0, 1, 5)
    profile = VarianceProfile(
        times,
        np.abs(RNG.standard_normal((5, 12))),
        np.ones((5, 12)),
        np.full(5, 3.0),
        np.full(5, 2.5),
        np.arange(12) < 2,
    )
    tables = {f"flow {k}": coverage_table() for k in range(3)}
    return {
        "animation, ten classes, linked, trails": walk(
            states2,
            digits,
            variances=variances,
            predicted_variances=variances,
            kept=np.arange(8) < 2,
            trail_index=np.arange(3),
        ),
        "animation, per-dimension legend": walk(
            states2, variances=variances[:, :4], predicted_variances=variances[:, :4]
        ),
        "animation, 3-D angle": flow.flow_animation(
            TIMES, states3, states3[0, :, 0], "initial angle (deg)", ["a", "b", "c"]
        ),
        "predicted vs measured": flow.predicted_vs_measured(TIMES, variances, variances * 1.1),
        "data preview, classes": data.data_preview(states2[0], digits, ["x", "y"]),
        "data preview, continuous 3-D": data.data_preview(states3[0], None, ["x", "y", "z"]),
        "eigen spectrum": data.eigen_spectrum(basis.eigenvalues, kept=2),
        "schedule": schedule.schedule_curves(ic.Schedule.reducing(basis.eigenvalues, dims_to_keep=2)),
        "loss": training.loss_curve([(0, 12.0), (10, 9.0), (20, 8.5)], start_loss=12.0),
        "pick": uncertainty.pick_figure(states2[0], [0, 1], np.array([1, 2]), ["x", "y"]),
        "propagation": propagation(),
        "pre-image": uncertainty.preimage_figure(ring(), ring(2.0), states2[0], states2[1], ["x", "y"]),
        "reliability": calibration.reliability_figure(tables),
        "residual": calibration.residual_figure(tables),
        "boundaries": calibration.boundaries_figure(
            [ring(r) for r in (1, 2, 3)], [1, 2, 3], states2[0], ["x", "y"]
        ),
        "embedding, classes": reduction.embedding_scatter(states2[0], digits, "t", "u", selected=3),
        "embedding, no labels": reduction.embedding_scatter(states2[0], None, "t", "u"),
        "image grid": reduction.image_grid(RNG.random((6, 8, 8)), 3, [str(k) for k in range(6)]),
        "profiles": reduction.profiles(RNG.random((3, 5)), ["a", "b", "c"]),
        "neighbourhood": reduction.neighbourhood_bars(
            {n: Neighbourhood(0.9, 0.8, None, 10) for n in ("flow", "PCA", "UMAP")}
        ),
        "variance through flow": reduction.variance_through_flow(profile),
    }


def hex_of(colour: str) -> str:
    """``#rgb``, ``#rrggbb`` or ``rgb(a)(...)`` as upper-case ``#RRGGBB`` (opacity dropped)."""
    if colour.startswith("rgb"):
        r, g, b = (int(float(v)) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
        return f"#{r:02X}{g:02X}{b:02X}"
    if len(colour) == 4:
        return "#" + "".join(c * 2 for c in colour[1:]).upper()
    return colour.upper()


def scale_of(scale) -> list:
    return [
        [round(float(p), 6), hex_of(c)]
        for p, c in (pc.get_colorscale(scale) if isinstance(scale, str) else scale)
    ]


def colours_in(node, found: set, scales: list) -> None:
    """Collect every colour string (and colour scale) in a figure's trace / shape JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "colorscale":
                scales.append(scale_of(value))
            elif key in ("color", "fillcolor") and isinstance(value, str):
                found.add(value)
            elif key in ("color", "fillcolor") and isinstance(value, list) and isinstance(value[0], str):
                found.update(value)
            elif key in ("color", "fillcolor"):  # numbers: drawn through the colour scale beside them
                assert "colorscale" in node, f"numeric colours without a colour scale: {node}"
            else:
                colours_in(value, found, scales)
    elif isinstance(node, list):
        for item in node:
            colours_in(item, found, scales)


def figure_colours(fig) -> tuple[set, list]:
    found, scales = set(), []
    spec = fig.to_plotly_json()
    colours_in(
        [spec["data"], [f["data"] for f in spec.get("frames", [])], spec["layout"].get("shapes", [])],
        found,
        scales,
    )
    if "plot_bgcolor" in spec["layout"]:
        found.add(spec["layout"]["plot_bgcolor"])
    return found, scales


def test_every_colour_of_every_builder_comes_from_the_style(figures):
    allowed = {hex_of(c) for c in style.CLASS_COLOURS + style.NEUTRALS}
    allowed_scales = [scale_of(s) for s in (style.SEQUENTIAL, style.CYCLIC, style.INK)]
    used = set()
    for name, fig in figures.items():
        found, scales = figure_colours(fig)
        outside = {c for c in found if c != style.TRANSPARENT and hex_of(c) not in allowed}
        assert not outside, f"{name} draws colours outside the style: {outside}"
        assert all(s in allowed_scales for s in scales), f"{name} uses a colour scale outside the style"
        used |= {hex_of(c) for c in found}
    # The collector does see the colours: all ten digit classes and the greys show up.
    assert {hex_of(style.class_colour(k)) for k in range(10)} | {style.GREY, style.GREY_LIGHT} <= used


def test_the_palette_is_okabe_ito_then_tol_muted_all_distinct():
    assert style.PALETTE == (
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
        "#000000",
    )
    assert len(set(style.CLASS_COLOURS)) == len(style.CLASS_COLOURS) == 17
    assert [style.class_colour(k) for k in range(8)] == list(style.PALETTE)
    assert style.class_colour(17) == style.class_colour(0)
    assert style.YELLOW not in style.LINE_COLOURS and set(style.LINE_COLOURS) <= set(style.PALETTE)


def test_gif_colours_are_the_animation_colours():
    labels = np.array([4, 0, 9, 4])
    rgb, legend = flow.particle_rgb(labels, "label")
    fig = walk(RNG.standard_normal((2, 4, 2)), labels)
    assert [(t.name, style.rgb(t.marker.color)) for t in fig.data[:3]] == legend
    assert tuple(rgb[2]) == style.rgb(style.class_colour(2))


def test_flow_animation_has_a_frame_per_time_and_moves_only_particles_and_cursors():
    states = RNG.standard_normal((7, 30, 2)).astype(np.float32)
    variances = np.abs(RNG.standard_normal((7, 3))) + 0.1
    fig = walk(
        states,
        np.arange(30) % 3,
        variances=variances,
        predicted_variances=variances,
        trail_index=np.array([0, 5]),
    )
    # 3 classes, the rings, the paths, 3 x 2 variance curves, 2 PR curves, 2 time cursors.
    assert len(fig.data) == 3 + 1 + 1 + 6 + 2 + 2
    assert len(fig.frames) == 7 and len(fig.layout.sliders[0].steps) == 7
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    last = fig.frames[-1]
    assert list(last.traces) == [0, 1, 2, 3, 13, 14]
    assert np.allclose(plotly_array(last.data[0].x), states[-1, ::3, 0])
    assert list(last.data[-1].x) == [TIMES[-1]] * 2
    assert all(f.layout.to_plotly_json() == {} for f in fig.frames)  # no frame moves the axes


def test_animation_axes_are_fixed_over_all_frames():
    states = (RNG.standard_normal((7, 30, 2)) * np.linspace(1, 5, 7)[:, None, None]).astype(np.float32)
    fig = walk(states)
    ranges = style.fixed_ranges(states)
    assert list(fig.layout.xaxis.range) == ranges[0] and fig.layout.xaxis.autorange is False
    assert list(fig.layout.yaxis.range) == ranges[1] and fig.layout.yaxis.autorange is False
    assert ranges[0][0] < states[..., 0].min() and ranges[0][1] > states[..., 0].max()
    fig3 = walk(RNG.standard_normal((7, 30, 3)))
    assert fig3.layout.scene.aspectmode == "cube" and fig3.layout.scene.zaxis.autorange is False


def test_animation_draws_two_or_three_coordinates():
    with pytest.raises(ValueError, match="2 or 3"):
        walk(RNG.standard_normal((7, 30, 4)))


def test_propagation_animation_frames_carry_ellipses_and_samples_on_fixed_equal_axes():
    fig = propagation(n_points=3)
    assert len(fig.frames) == len(TIMES) and len(fig.layout.sliders[0].steps) == len(TIMES)
    names = [t.name for t in fig.frames[-1].data]
    assert names == ["data", "Monte Carlo", "linearised ellipse", "mean"]
    assert sum(v is None for v in fig.frames[-1].data[2].x) == 3  # three ellipses in one trace
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1


@pytest.mark.parametrize("name", ["propagation", "pre-image", "boundaries", "pick", "data preview, classes"])
def test_circles_are_drawn_round(figures, name):
    fig = figures[name]
    layout = fig.layout.to_plotly_json()
    yaxes = [key for key in layout if key.startswith("yaxis")]
    assert yaxes
    for key in yaxes:
        # Each panel's y axis is scaled to its own x axis, one to one.
        own_x = layout[key].get("anchor", "x")
        assert layout[key].get("scaleanchor") == own_x and layout[key].get("scaleratio", 1) == 1, key


def test_preimage_figure_has_a_filled_region_in_each_panel():
    fig = uncertainty.preimage_figure(ring(), ring(3.0), ring(), ring(), ["x1", "x2"], ("latent", "data"))
    assert [t.fill for t in fig.data] == [None, "toself", None, "toself"]
    assert [a.text for a in fig.layout.annotations] == ["latent", "data"]


def test_calibration_legends_name_each_flow_once_and_key_the_shapes_in_their_title():
    """Three flows with three measured columns each made nine legend entries per figure, which took most
    of a projector's figure height: the legend names each flow once (a click shows or hides all its
    curves) and its title keys the columns' markers or dashes."""
    tables = {f"flow {k}": coverage_table() for k in range(3)}
    without_data = {"flow 0": coverage_table().drop(columns=["data_inside", "data_inside_se"])}
    for build, key in (
        (calibration.reliability_figure, "● round trip\u2003○ generation\u2003■ encoded data"),
        (calibration.residual_figure, "— round trip\u2003··· generation\u2003–·– encoded data"),
    ):
        fig = build(tables)
        flows = [t for t in fig.data if t.name != "perfect calibration"]
        assert len(flows) == 9
        assert [t.name for t in flows if t.showlegend is not False] == list(tables)
        assert [t.legendgroup for t in flows] == [f"flow {k}" for k in range(3) for _ in range(3)]
        assert fig.layout.legend.title.text == key
        assert build(without_data).layout.legend.title.text == key.rsplit("\u2003", 1)[0]


def test_builders_show_the_titles_their_caller_passes():
    title = "Chosen by the page"
    figures = [
        uncertainty.pick_figure(np.zeros((3, 2)), [0, 1], np.array([0]), ["x", "y"], title),
        calibration.reliability_figure({"f": coverage_table()}, title),
        calibration.residual_figure({"f": coverage_table()}, title),
        calibration.boundaries_figure([ring()], [1.0], np.zeros((3, 2)), ["x", "y"], title),
        training.loss_curve([(0, 2.0), (1, 1.0)], title=title),
        flow.predicted_vs_measured(TIMES, np.ones((7, 2)), np.ones((7, 2)), title),
    ]
    assert [f.layout.title.text for f in figures] == [title] * len(figures)
    untitled = uncertainty.pick_figure(np.zeros((3, 2)), [0, 1], np.array([0]), ["x", "y"])
    assert untitled.layout.title.text == ""


def test_fixed_ranges_cover_every_frame_with_padding():
    states = np.array([[[0.0, -1.0]], [[10.0, 1.0]]])
    assert style.fixed_ranges(states, pad=0.1) == [[-1.0, 11.0], [-1.2, 1.2]]


@pytest.mark.slow
def test_the_figure_layer_does_not_import_streamlit():
    code = "import sys, inflow_core.viz; assert 'plotly' in sys.modules and 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_many_dimensions_draw_as_two_groups_of_gapped_curves():
    """Beyond PER_DIM_LEGEND dimensions, the variance panel holds one measured and one predicted trace per
    group (kept, compressed) instead of two per dimension: each curve is still there, between gaps."""
    dim = flow.PER_DIM_LEGEND + 4
    variances = np.abs(RNG.standard_normal((7, dim))) + 0.1
    kept = np.arange(dim) < 2
    states = RNG.standard_normal((7, 30, 2))
    fig = walk(states, variances=variances, predicted_variances=variances * 2, kept=kept)
    panel = [t for t in fig.data if t.xaxis == "x2"]
    assert len(panel) == 4 + 1  # two groups x (measured, predicted), and the time cursor
    legend = [t.name for t in panel if t.showlegend is not False]
    assert legend == ["kept dims (2)", f"compressed dims ({dim - 2})"]
    for trace, columns, scale in zip(panel[:4], (kept, kept, ~kept, ~kept), (1, 2, 1, 2), strict=True):
        curves = np.asarray(trace.y, float).reshape(int(columns.sum()), len(TIMES) + 1)
        assert np.isnan(curves[:, -1]).all()
        assert np.allclose(curves[:, :-1], scale * variances[:, columns].T)
    assert list(panel[0].customdata[: len(TIMES)]) == [1] * len(TIMES)  # hover names dim 1
