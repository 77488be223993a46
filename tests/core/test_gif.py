"""The GIF export: frames, timing, where the particles land and in which colours, and bad input."""

import io

import numpy as np
import pytest
from PIL import Image

from inflow_core.viz import flow, gif

RANGES = [[-1.0, 1.0], [-1.0, 1.0]]
SIZE = (400, 360)


def frames_of(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for k in range(image.n_frames):
        image.seek(k)
        frames.append(image.convert("RGB").copy())
    return frames


def plot_pixel(x: float, y: float) -> tuple[int, int]:
    """Where a point of data coordinates (x, y) lands in the image, by the module's own margins."""
    m = gif._MARGIN
    px = m["left"] + (x - RANGES[0][0]) / 2 * (SIZE[0] - m["right"] - m["left"])
    py = SIZE[1] - m["bottom"] - (y - RANGES[1][0]) / 2 * (SIZE[1] - m["bottom"] - m["top"])
    return round(px), round(py)


def test_one_frame_per_time_with_the_last_one_held_and_looping():
    times = np.linspace(0.0, 2.0, 12)
    states = np.zeros((12, 3, 2))
    data = gif.flow_gif(
        times,
        states,
        np.full((3, 3), 200, np.uint8),
        ["u1", "u2"],
        RANGES,
        size=SIZE,
        frame_ms=50,
        hold_ms=900,
    )
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.size == SIZE and image.n_frames == 12
    assert image.info["loop"] == 0
    durations = []
    for k in range(image.n_frames):
        image.seek(k)
        durations.append(image.info["duration"])
    assert durations[:-1] == [50] * 11 and durations[-1] == 900


def test_particles_move_to_their_coordinates_in_their_colours():
    # Two particles swap corners between the first and the last frame.
    states = np.array([[[-0.5, -0.5], [0.5, 0.5]], [[0.5, 0.5], [-0.5, -0.5]]])
    red, blue = (213, 94, 0), (0, 114, 178)
    frames = frames_of(
        gif.flow_gif(
            np.array([0.0, 1.0]),
            states,
            np.array([red, blue], np.uint8),
            ["u1", "u2"],
            RANGES,
            size=SIZE,
            dot_radius=4,
        )
    )
    low, high = plot_pixel(-0.5, -0.5), plot_pixel(0.5, 0.5)
    # GIF palettes may move a colour by a few levels.
    assert np.allclose(frames[0].getpixel(low), red, atol=8)
    assert np.allclose(frames[0].getpixel(high), blue, atol=8)
    assert np.allclose(frames[1].getpixel(low), blue, atol=8)
    assert np.allclose(frames[1].getpixel(high), red, atol=8)
    assert np.allclose(frames[0].getpixel(plot_pixel(0.25, -0.25)), (255, 255, 255), atol=8)  # empty


def test_class_colours_are_exact_and_particles_outside_the_ranges_are_not_drawn():
    rgb, legend = flow.particle_rgb(np.arange(10), "label")
    states = np.zeros((3, 10, 2))
    states[:, :, 0] = np.linspace(-0.9, 0.9, 10)
    states[:, :, 1] = -0.8  # below the legend box in the upper left
    states[:, 9] = [5.0, 5.0]  # far outside the ranges: left out, not smeared onto the margin
    frames = frames_of(
        gif.flow_gif(np.arange(3.0), states, rgb, ["u1", "u2"], RANGES, size=SIZE, legend=legend)
    )
    for i in range(9):
        assert frames[2].getpixel(plot_pixel(states[2, i, 0], -0.8)) == tuple(int(v) for v in rgb[i])
    without = frames_of(
        gif.flow_gif(np.arange(3.0), states[:, :9], rgb[:9], ["u1", "u2"], RANGES, size=SIZE, legend=legend)
    )
    assert np.array_equal(np.asarray(frames[2]), np.asarray(without[2]))


def test_bad_input_gives_clear_errors():
    colours = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match="two coordinates"):
        gif.flow_gif(np.zeros(2), np.zeros((2, 2, 3)), colours, ["u1", "u2"], RANGES)
    with pytest.raises(ValueError, match="frames"):
        gif.flow_gif(
            np.zeros(gif.MAX_FRAMES + 1), np.zeros((gif.MAX_FRAMES + 1, 2, 2)), colours, ["u1", "u2"], RANGES
        )
    with pytest.raises(ValueError, match="non-finite"):
        gif.flow_gif(np.zeros(2), np.full((2, 2, 2), np.nan), colours, ["u1", "u2"], RANGES)
    with pytest.raises(ValueError, match="rgb"):
        gif.flow_gif(np.zeros(2), np.zeros((2, 2, 2)), np.zeros((3, 3), np.uint8), ["u1", "u2"], RANGES)


def test_colours_match_the_plotly_animation():
    rgb, legend = flow.particle_rgb(np.array([7, 2, 7]), "label")
    # Classes take the Okabe-Ito colours in sorted order, as the animation's legend does.
    assert [text for text, _ in legend] == ["label 2", "label 7"]
    assert tuple(rgb[1]) == (0xE6, 0x9F, 0x00) and tuple(rgb[0]) == tuple(rgb[2]) == (0x56, 0xB4, 0xE9)
    rgb, legend = flow.particle_rgb(np.array([-3.0, 0.0, 5.0]), "initial position (coordinate 1)")
    # Continuous colours span the scale from the data's minimum to its maximum (Cividis ends).
    assert legend == [] and tuple(rgb[0]) == (0x00, 0x22, 0x4E) and tuple(rgb[2]) == (0xFE, 0xE8, 0x38)
