"""Animated GIF of a particle animation, drawn with Pillow: a file that plays in slides and chat apps
where an interactive Plotly page cannot go. No browser and no Plotly image export are needed.

The frame shows the particles on fixed axes (the same ranges in every frame, as in the app), the
axis titles, a title, and the animation's clock as ``t`` and a progress bar; the last frame is held
so a looping GIF pauses on the latent before it starts again.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_FRAMES = 150
MAX_PARTICLES = 5000
_MARGIN = {"left": 64, "right": 20, "top": 44, "bottom": 92}  # pixels around the plotting area
_AXIS, _GRID, _TEXT = (90, 90, 90), (232, 232, 232), (30, 30, 30)


def _ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round tick positions (1, 2 or 5 times a power of ten) inside [lo, hi]."""
    raw = (hi - lo) / max(target, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = power * min((m for m in (1, 2, 5, 10) if m * power >= raw), default=10)
    return np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step


def _label(value: float) -> str:
    return f"{value:.3g}" if value != 0 else "0"


def _draw_legend(draw: ImageDraw.ImageDraw, entries: list[tuple[str, tuple]], left: int, top: int,
                 font: ImageFont.FreeTypeFont) -> None:
    """Class colours on a white box in the upper left, above the particles."""
    if not entries:
        return
    width = 30 + max(draw.textlength(text, font=font) for text, _ in entries)
    draw.rectangle([left, top, left + width, top + 8 + 17 * len(entries)], fill="white", outline=_GRID)
    for i, (text, colour) in enumerate(entries):
        y = top + 12 + 17 * i
        draw.ellipse([left + 8, y - 4, left + 16, y + 4], fill=colour)
        draw.text((left + 22, y), text, fill=_TEXT, font=font, anchor="lm")


def _palette(rgb: np.ndarray, extra: list[tuple]) -> Image.Image:
    """One 256-colour palette for every frame: white, the greys of lines and anti-aliased text, the
    legend's colours, and the particle colours (exact when few, else their 256-colour quantisation).
    One palette means no colour flicker between frames, and mapping a frame onto a given palette is
    ~300x faster than finding a fresh one."""
    greys = [tuple(int(round(v)) for v in np.array(_TEXT) + (255 - np.array(_TEXT)) * a)
             for a in np.linspace(0.0, 1.0, 24)]
    fixed = list(dict.fromkeys([(255, 255, 255), _TEXT, _AXIS, _GRID, *greys, *extra]))
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


def flow_gif(times: np.ndarray, states: np.ndarray, rgb: np.ndarray, axis_titles: list[str],
             ranges: list[list[float]], title: str = "", note: str = "",
             legend: list[tuple[str, tuple]] | None = None,
             size: tuple[int, int] = (720, 600), frame_ms: int = 80, hold_ms: int = 1500,
             dot_radius: int = 3) -> bytes:
    """GIF bytes of ``states`` (K, N, 2) at ``times`` (K,), particle colours ``rgb`` (N, 3) uint8.

    ``ranges`` are the fixed [lo, hi] of the two axes; ``note`` a line under the plot (what the colours
    mean, how it was computed); ``legend`` optional (text, colour) entries drawn in the upper left.
    Each frame lasts ``frame_ms``, the last one ``hold_ms``.
    """
    states = np.asarray(states, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    rgb = np.asarray(rgb, dtype=np.uint8)
    if states.ndim != 3 or states.shape[2] != 2:
        raise ValueError(f"A GIF draws two coordinates: states must be (frames, particles, 2); got "
                         f"{states.shape}.")
    k, n, _ = states.shape
    if not 1 <= k <= MAX_FRAMES or not 1 <= n <= MAX_PARTICLES:
        raise ValueError(f"A GIF takes 1-{MAX_FRAMES} frames of 1-{MAX_PARTICLES:,} particles; got {k} "
                         f"frames of {n:,}. Use fewer frames or particles.")
    if times.shape != (k,) or rgb.shape != (n, 3) or len(ranges) != 2 or len(axis_titles) != 2:
        raise ValueError("times must be (frames,), rgb (particles, 3), and ranges and axis_titles two each.")
    if not np.isfinite(states).all():
        raise ValueError("The trajectories hold non-finite values; there is nothing sensible to draw.")

    width, height = size
    x0, x1 = _MARGIN["left"], width - _MARGIN["right"]
    y0, y1 = _MARGIN["top"], height - _MARGIN["bottom"]
    (xlo, xhi), (ylo, yhi) = ranges
    font = ImageFont.load_default(size=13)
    title_font = _fitting_font(title, 15, width - x0 - _MARGIN["right"])

    # Everything that does not move is drawn once; each frame copies it and adds particles and clock.
    base = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(base)
    for tick in _ticks(xlo, xhi):
        px = x0 + (tick - xlo) / (xhi - xlo) * (x1 - x0)
        draw.line([(px, y0), (px, y1)], fill=_GRID)
        draw.text((px, y1 + 6), _label(tick), fill=_TEXT, font=font, anchor="mt")
    for tick in _ticks(ylo, yhi):
        py = y1 - (tick - ylo) / (yhi - ylo) * (y1 - y0)
        draw.line([(x0, py), (x1, py)], fill=_GRID)
        draw.text((x0 - 6, py), _label(tick), fill=_TEXT, font=font, anchor="rm")
    draw.rectangle([x0, y0, x1, y1], outline=_AXIS)
    draw.text(((x0 + x1) / 2, y1 + 26), axis_titles[0], fill=_TEXT, font=font, anchor="mt")
    y_title = Image.new("RGB", (int(draw.textlength(axis_titles[1], font=font)) + 4, 18), "white")
    ImageDraw.Draw(y_title).text((2, 2), axis_titles[1], fill=_TEXT, font=font)
    rotated = y_title.rotate(90, expand=True)
    base.paste(rotated, (4, int((y0 + y1) / 2 - rotated.height / 2)))
    draw.text((x0, 14), title, fill=_TEXT, font=title_font)
    draw.text((x0, height - 32), note, fill=_TEXT, font=_fitting_font(note, 13, x1 - x0 - 90), anchor="lb")

    px = np.rint(x0 + (states[..., 0] - xlo) / (xhi - xlo) * (x1 - x0)).astype(int)
    py = np.rint(y1 - (states[..., 1] - ylo) / (yhi - ylo) * (y1 - y0)).astype(int)
    # Dots are stamped with numpy, one pixel offset of a disc at a time for all particles at once (later
    # particles cover earlier ones); particles outside the axis ranges are not drawn.
    r = int(dot_radius)
    disc = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if dx * dx + dy * dy <= r * r + r]
    base_pixels = np.asarray(base)
    palette = _palette(rgb, [colour for _, colour in legend or []])
    bar_y = height - 22
    frames = []
    for f in range(k):
        pixels = base_pixels.copy()
        shown = np.flatnonzero((px[f] >= x0) & (px[f] <= x1) & (py[f] >= y0) & (py[f] <= y1))
        for dx, dy in disc:
            pixels[py[f, shown] + dy, px[f, shown] + dx] = rgb[shown]
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        draw.rectangle([x0, y0, x1, y1], outline=_AXIS)  # dots at the edge stay inside the frame
        _draw_legend(draw, legend or [], x0 + 4, y0 + 4, font)
        fraction = (times[f] - times[0]) / (times[-1] - times[0]) if k > 1 and times[-1] != times[0] else 1.0
        draw.rectangle([x0, bar_y - 4, x1, bar_y + 4], outline=_AXIS)
        draw.rectangle([x0, bar_y - 4, x0 + fraction * (x1 - x0), bar_y + 4], fill=_AXIS)
        draw.text((x1, bar_y - 10), f"t = {times[f]:.3g}", fill=_TEXT, font=font, anchor="rb")
        frames.append(image.quantize(palette=palette, dither=Image.Dither.NONE))

    buffer = io.BytesIO()
    durations = [frame_ms] * (k - 1) + [hold_ms]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, disposal=1)
    return buffer.getvalue()
