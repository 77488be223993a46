"""Animated GIF of a particle animation, drawn with Pillow: a file that plays in slides and chat apps
where an interactive Plotly page cannot go. No browser and no Plotly image export are needed.

The frame shows the particles on fixed axes (the same ranges in every frame, as in the app), the
axis titles, a title, and the animation's clock as ``t`` and a progress bar; the last frame is held
so a looping GIF pauses on the latent before it starts again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import style

MAX_FRAMES = 150
MAX_PARTICLES = 5000
_MARGIN = {"left": 64, "right": 20, "top": 44, "bottom": 92}  # pixels around the plotting area
_WHITE, _AXIS, _GRID, _TEXT = (style.rgb(c) for c in (style.WHITE, style.GREY_DARK, style.GRID, style.TEXT))


@dataclass(frozen=True)
class _Plot:
    """Where the plotting area lies in the image and which data ranges it shows."""

    x0: int
    x1: int
    y0: int
    y1: int
    ranges: list[list[float]]

    @classmethod
    def inside(cls, size: tuple[int, int], ranges: list[list[float]]) -> _Plot:
        width, height = size
        return cls(
            _MARGIN["left"], width - _MARGIN["right"], _MARGIN["top"], height - _MARGIN["bottom"], ranges
        )

    def px(self, x: np.ndarray) -> np.ndarray:
        (lo, hi), _ = self.ranges
        return self.x0 + (x - lo) / (hi - lo) * (self.x1 - self.x0)

    def py(self, y: np.ndarray) -> np.ndarray:
        _, (lo, hi) = self.ranges
        return self.y1 - (y - lo) / (hi - lo) * (self.y1 - self.y0)


def _ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick positions (1, 2 or 5 times a power of ten) inside [lo, hi]."""
    raw = (hi - lo) / max(target, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = power * min((m for m in (1, 2, 5, 10) if m * power >= raw), default=10)
    return np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step


def _label(value: float) -> str:
    return f"{value:.3g}" if value != 0 else "0"


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    entries: list[tuple[str, tuple]],
    left: int,
    top: int,
    font: ImageFont.FreeTypeFont,
) -> None:
    """Class colours on a white box in the upper left, above the particles."""
    if not entries:
        return
    width = 30 + max(draw.textlength(text, font=font) for text, _ in entries)
    draw.rectangle([left, top, left + width, top + 8 + 17 * len(entries)], fill=_WHITE, outline=_GRID)
    for i, (text, colour) in enumerate(entries):
        y = top + 12 + 17 * i
        draw.ellipse([left + 8, y - 4, left + 16, y + 4], fill=colour)
        draw.text((left + 22, y), text, fill=_TEXT, font=font, anchor="lm")


def _palette(rgb: np.ndarray, extra: list[tuple]) -> Image.Image:
    """One 256-colour palette for every frame: white, the greys of lines and anti-aliased text, the
    legend's colours, and the particle colours (exact when few, else their 256-colour quantisation).
    One palette means no colour flicker between frames, and mapping a frame onto a given palette is
    ~300x faster than finding a fresh one."""
    greys = [
        tuple(int(round(v)) for v in np.array(_TEXT) + (255 - np.array(_TEXT)) * a)
        for a in np.linspace(0.0, 1.0, 24)
    ]
    fixed = list(dict.fromkeys([_WHITE, _TEXT, _AXIS, _GRID, *greys, *extra]))
    room = 256 - len(fixed)
    colours = np.unique(rgb, axis=0)
    if len(colours) > room:
        quantised = Image.fromarray(colours[None]).quantize(room, method=Image.Quantize.MEDIANCUT)
        colours = np.array(quantised.getpalette()[: 3 * room]).reshape(-1, 3)
    entries = fixed + [tuple(int(v) for v in c) for c in colours]
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for c in entries for v in c] + [0, 0, 0] * (256 - len(entries)))
    return palette


def _fitting_font(text: str, size: int, max_width: float, smallest: int = 9) -> ImageFont.FreeTypeFont:
    """The default font at ``size``, shrunk until ``text`` fits in ``max_width`` pixels (or is smallest)."""
    font = ImageFont.load_default(size=size)
    while size > smallest and font.getlength(text) > max_width:
        size -= 1
        font = ImageFont.load_default(size=size)
    return font


def _check(times: np.ndarray, states: np.ndarray, rgb: np.ndarray, ranges: list, axis_titles: list) -> None:
    """Raise ValueError, saying what to change, for input a GIF cannot show."""
    if states.ndim != 3 or states.shape[2] != 2:
        raise ValueError(
            f"A GIF draws two coordinates: states must be (frames, particles, 2); got {states.shape}."
        )
    k, n, _ = states.shape
    if not 1 <= k <= MAX_FRAMES or not 1 <= n <= MAX_PARTICLES:
        raise ValueError(
            f"A GIF takes 1-{MAX_FRAMES} frames of 1-{MAX_PARTICLES:,} particles; got {k} "
            f"frames of {n:,}. Use fewer frames or particles."
        )
    if times.shape != (k,) or rgb.shape != (n, 3) or len(ranges) != 2 or len(axis_titles) != 2:
        raise ValueError("times must be (frames,), rgb (particles, 3), and ranges and axis_titles two each.")
    if not np.isfinite(states).all():
        raise ValueError("The trajectories hold non-finite values; there is nothing sensible to draw.")


def _draw_axes(draw: ImageDraw.ImageDraw, plot: _Plot, font: ImageFont.FreeTypeFont) -> None:
    """Grid lines, tick labels and the frame of the plotting area."""
    (xlo, xhi), (ylo, yhi) = plot.ranges
    for tick in _ticks(xlo, xhi):
        px = plot.px(tick)
        draw.line([(px, plot.y0), (px, plot.y1)], fill=_GRID)
        draw.text((px, plot.y1 + 6), _label(tick), fill=_TEXT, font=font, anchor="mt")
    for tick in _ticks(ylo, yhi):
        py = plot.py(tick)
        draw.line([(plot.x0, py), (plot.x1, py)], fill=_GRID)
        draw.text((plot.x0 - 6, py), _label(tick), fill=_TEXT, font=font, anchor="rm")
    draw.rectangle([plot.x0, plot.y0, plot.x1, plot.y1], outline=_AXIS)


def _background(
    size: tuple[int, int],
    plot: _Plot,
    axis_titles: list[str],
    title: str,
    note: str,
    font: ImageFont.FreeTypeFont,
) -> Image.Image:
    """Everything that does not move, drawn once: axes, axis titles (y rotated), title and note."""
    base = Image.new("RGB", size, _WHITE)
    draw = ImageDraw.Draw(base)
    _draw_axes(draw, plot, font)
    draw.text(((plot.x0 + plot.x1) / 2, plot.y1 + 26), axis_titles[0], fill=_TEXT, font=font, anchor="mt")
    y_title = Image.new("RGB", (int(draw.textlength(axis_titles[1], font=font)) + 4, 18), _WHITE)
    ImageDraw.Draw(y_title).text((2, 2), axis_titles[1], fill=_TEXT, font=font)
    rotated = y_title.rotate(90, expand=True)
    base.paste(rotated, (4, int((plot.y0 + plot.y1) / 2 - rotated.height / 2)))
    title_font = _fitting_font(title, 15, size[0] - plot.x0 - _MARGIN["right"])
    draw.text((plot.x0, 14), title, fill=_TEXT, font=title_font)
    note_font = _fitting_font(note, 13, plot.x1 - plot.x0 - 90)
    draw.text((plot.x0, size[1] - 32), note, fill=_TEXT, font=note_font, anchor="lb")
    return base


def _stamp_dots(
    pixels: np.ndarray, px: np.ndarray, py: np.ndarray, rgb: np.ndarray, plot: _Plot, radius: int
) -> None:
    """Stamp a disc per particle into ``pixels``, one pixel offset at a time for all particles at once
    (later particles cover earlier ones); particles outside the axis ranges are not drawn."""
    shown = np.flatnonzero((px >= plot.x0) & (px <= plot.x1) & (py >= plot.y0) & (py <= plot.y1))
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            if dx * dx + dy * dy <= radius * radius + radius:
                pixels[py[shown] + dy, px[shown] + dx] = rgb[shown]


def _draw_clock(
    draw: ImageDraw.ImageDraw,
    plot: _Plot,
    bar_y: int,
    fraction: float,
    t: float,
    font: ImageFont.FreeTypeFont,
) -> None:
    """The progress bar (filled to ``fraction``) and ``t = ...`` above its right end."""
    draw.rectangle([plot.x0, bar_y - 4, plot.x1, bar_y + 4], outline=_AXIS)
    draw.rectangle([plot.x0, bar_y - 4, plot.x0 + fraction * (plot.x1 - plot.x0), bar_y + 4], fill=_AXIS)
    draw.text((plot.x1, bar_y - 10), f"t = {t:.3g}", fill=_TEXT, font=font, anchor="rb")


def _encode(frames: list[Image.Image], frame_ms: int, hold_ms: int) -> bytes:
    """The frames as looping GIF bytes, the last one held ``hold_ms``."""
    buffer = io.BytesIO()
    durations = [frame_ms] * (len(frames) - 1) + [hold_ms]
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=1
    )
    return buffer.getvalue()


def flow_gif(
    times: np.ndarray,
    states: np.ndarray,
    rgb: np.ndarray,
    axis_titles: list[str],
    ranges: list[list[float]],
    title: str = "",
    note: str = "",
    legend: list[tuple[str, tuple]] | None = None,
    size: tuple[int, int] = (720, 600),
    frame_ms: int = 80,
    hold_ms: int = 1500,
    dot_radius: int = 3,
) -> bytes:
    """GIF bytes of ``states`` (K, N, 2) at ``times`` (K,), particle colours ``rgb`` (N, 3) uint8.

    ``ranges`` are the fixed [lo, hi] of the two axes; ``note`` a line under the plot (what the colours
    mean, how it was computed); ``legend`` optional (text, colour) entries drawn in the upper left.
    Each frame lasts ``frame_ms``, the last one ``hold_ms``.
    """
    states, times = np.asarray(states, dtype=np.float64), np.asarray(times, dtype=np.float64)
    rgb, legend = np.asarray(rgb, dtype=np.uint8), legend or []
    _check(times, states, rgb, ranges, axis_titles)
    plot, font = _Plot.inside(size, ranges), ImageFont.load_default(size=13)
    base = np.asarray(_background(size, plot, axis_titles, title, note, font))
    px, py = np.rint(plot.px(states[..., 0])).astype(int), np.rint(plot.py(states[..., 1])).astype(int)
    palette = _palette(rgb, [colour for _, colour in legend])
    span = times[-1] - times[0]
    fractions = (times - times[0]) / span if span != 0 else np.ones_like(times)
    frames = []
    for f in range(len(times)):
        pixels = base.copy()
        _stamp_dots(pixels, px[f], py[f], rgb, plot, int(dot_radius))
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        draw.rectangle([plot.x0, plot.y0, plot.x1, plot.y1], outline=_AXIS)  # dots at the edge stay inside
        _draw_legend(draw, legend, plot.x0 + 4, plot.y0 + 4, font)
        _draw_clock(draw, plot, size[1] - 22, fractions[f], times[f], font)
        frames.append(image.quantize(palette=palette, dither=Image.Dither.NONE))
    return _encode(frames, frame_ms, hold_ms)
