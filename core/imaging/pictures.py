"""One picture toolkit for the app, the command lines and the reports.

Everything that turns numbers into something to look at lives here: colour maps sampled
from Plotly's named colour scales (so the app's colour bars, its maps, the CLI's PNGs and
the reports all show one scale), overlays, the probability ramp of region maps with its
hatched no-data pattern, display resizing and PNG bytes. Pictures are float RGB in [0, 1]
unless a function says otherwise.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLORMAPS = ("Inferno", "Viridis", "Jet", "Hot", "Turbo")
DEFAULT_COLORMAP = "Inferno"

# A perceptually ordered blue → yellow → red ramp for probabilities.
_RAMP = np.array(
    [[0.0, 49, 54, 149], [0.25, 116, 173, 209], [0.5, 255, 255, 191], [0.75, 244, 109, 67], [1.0, 165, 0, 38]],
    np.float32,
)
NO_DATA_RGB = np.array([0.55, 0.55, 0.60], np.float32)  # grey with a hatch: holes in a mosaic
BACKGROUND_RGB = np.array([1.0, 1.0, 1.0], np.float32)


# ---------------------------------------------------------------------------------------
# colour maps


@lru_cache(maxsize=16)
def _lut(name: str, n: int) -> np.ndarray:
    import plotly.colors as pc

    scale = pc.get_colorscale(name)
    stops = np.array([float(s) for s, _ in scale])
    colours = []
    for _, c in scale:
        rgb = pc.hex_to_rgb(c) if c.startswith("#") else pc.unlabel_rgb(c)
        colours.append([v / 255.0 for v in rgb])
    colours = np.array(colours, np.float32)
    t = np.linspace(0.0, 1.0, n)
    lut = np.stack([np.interp(t, stops, colours[:, k]) for k in range(3)], axis=1).astype(np.float32)
    lut.setflags(write=False)
    return lut


def colormap_lut(name: str = DEFAULT_COLORMAP, n: int = 256) -> np.ndarray:
    """(n, 3) float32 RGB in [0, 1] sampled from a Plotly colour scale (e.g. 'Inferno')."""
    return _lut(name, n)


def colorscale_stops(name: str = DEFAULT_COLORMAP, n: int = 64) -> list[list]:
    """The colour map as explicit Plotly stops, ``[[t, "rgb(r,g,b)"], …]``.

    Charts get these instead of the scale's name, so what they draw is the very table the
    maps and reports are coloured with, whatever theme the chart library applies.
    """
    lut = colormap_lut(name, n)
    return [
        [i / (n - 1), f"rgb({int(round(r * 255))},{int(round(g * 255))},{int(round(b * 255))})"]
        for i, (r, g, b) in enumerate(lut)
    ]


def colorize(heatmap: np.ndarray, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(H, W) values in [0, 1] → (H, W, 3) RGB in [0, 1]."""
    lut = colormap_lut(name)
    idx = np.clip(np.nan_to_num(heatmap) * (len(lut) - 1), 0, len(lut) - 1).round().astype(int)
    return lut[idx]


def as_rgb(base: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) pixels → (H, W, 3) float32."""
    base = np.asarray(base, np.float32)
    if base.ndim == 2:
        base = base[..., None]
    return np.repeat(base, 3, axis=2) if base.shape[2] == 1 else base


def overlay(base: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Blend a [0, 1] heatmap (H, W) over a base image (H, W, 1|3) in [0, 1]."""
    return np.clip((1.0 - alpha) * as_rgb(base) + alpha * colorize(heatmap, name), 0.0, 1.0)


SIGNED_COLORMAP = "RdBu_r"  # blue (against the class) — white (0) — red (for it)


def signed_overlay(base: np.ndarray, signed: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a [−1, 1] signed map (H, W) over a base image, red for the class and blue against it."""
    return overlay(base, (np.clip(np.nan_to_num(signed), -1.0, 1.0) + 1.0) / 2.0, alpha, SIGNED_COLORMAP)


# ---------------------------------------------------------------------------------------
# the probability ramp of region maps


def colour_key(name: str = DEFAULT_COLORMAP, width: int = 600, bar: int = 18) -> np.ndarray:
    """A horizontal colour key of a map's colour scale, 0 to 1, with ticks: (H, width, 3) uint8.

    Drawn from the very table the maps are coloured with, as a picture rather than a chart,
    so it costs the browser nothing to repaint.
    """
    pad = 14
    canvas = Image.new("RGB", (width, bar + 22), "white")
    lut = (colormap_lut(name, width - 2 * pad) * 255).round().astype(np.uint8)
    canvas.paste(Image.fromarray(np.repeat(lut[None], bar, axis=0)), (pad, 0))
    draw = ImageDraw.Draw(canvas)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = pad + round(t * (width - 2 * pad - 1))
        draw.line([(x, bar), (x, bar + 4)], fill=(60, 60, 60))
        label = f"{t:g}"
        draw.text((x - 3 * len(label), bar + 6), label, fill=(40, 40, 40))
    return np.asarray(canvas)


def matrix_picture(
    matrix: np.ndarray,
    labels: list[str],
    lo: float = -1.0,
    hi: float = 1.0,
    name: str = "RdBu",
    cell: int = 58,
) -> np.ndarray:
    """A labelled square matrix as a heat map with each value written in its cell: uint8 RGB.

    Rows and columns follow ``labels``; colours come from the named Plotly scale between
    ``lo`` and ``hi`` (NaN cells stay white). A picture rather than a chart, so a page that
    shows one costs the browser no chart library.
    """
    from PIL import ImageFont

    m = np.asarray(matrix, np.float64)
    n = len(labels)
    if m.shape != (n, n):
        raise ValueError(f"a {n}×{n} matrix is needed for {n} labels, got {m.shape}")
    font = ImageFont.load_default(size=13)
    text_w = max([round(font.getlength(t)) for t in labels] + [0]) + 10
    top, left = text_w, text_w
    canvas = Image.new("RGB", (left + n * cell + 2, top + n * cell + 2), "white")
    draw = ImageDraw.Draw(canvas)
    lut = colormap_lut(name, 256)
    for i in range(n):
        for j in range(n):
            v = m[i, j]
            x, y = left + j * cell, top + i * cell
            if not np.isfinite(v):
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], outline=(220, 220, 220))
                continue
            rgb = lut[int(round(np.clip((v - lo) / (hi - lo), 0.0, 1.0) * 255))]
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=tuple(int(round(c * 255)) for c in rgb))
            dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
            draw.text(
                (x + cell / 2, y + cell / 2), f"{v:.2f}", fill="white" if dark else (20, 20, 20), font=font, anchor="mm"
            )
    for k, label in enumerate(labels):
        draw.text((left - 6, top + k * cell + cell / 2), label, fill=(20, 20, 20), font=font, anchor="rm")
        # column labels written upwards: drawn on their own strip, then turned a quarter
        strip = Image.new("RGB", (text_w, cell), "white")
        ImageDraw.Draw(strip).text((text_w - 6, cell / 2), label, fill=(20, 20, 20), font=font, anchor="rm")
        canvas.paste(strip.rotate(90, expand=True), (left + k * cell, 0))
    return np.asarray(canvas)


def colourise(values: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] → (…, 3) float RGB along the ramp (NaN → white)."""
    v = np.nan_to_num(np.clip(values, 0, 1), nan=0.0)
    rgb = np.stack([np.interp(v, _RAMP[:, 0], _RAMP[:, c]) for c in (1, 2, 3)], axis=-1) / 255.0
    rgb[~np.isfinite(values)] = 1.0
    return rgb.astype(np.float32)


def hatch_no_data(valid: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Paint no-data pixels grey with diagonal stripes so they never read as background."""
    yy, xx = np.indices(valid.shape)
    stripes = ((yy + xx) // 6) % 2 == 0
    hole = ~valid
    rgb[hole] = NO_DATA_RGB
    rgb[hole & stripes] = NO_DATA_RGB * 0.8
    return rgb


# ---------------------------------------------------------------------------------------
# display size, bytes and files


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def fit_within(pixels: np.ndarray, max_side: int = 512) -> np.ndarray:
    """Shrink (H, W, C) pixels so the longer side is at most ``max_side``, for display.

    Each output pixel is the mean of the input pixels it covers (Pillow's box filter), so a
    large picture is averaged rather than aliased. Pixels that already fit come back as
    they are.
    """
    h, w = pixels.shape[:2]
    if max(h, w) <= max_side:
        return pixels
    k = max_side / max(h, w)
    nh, nw = max(1, round(h * k)), max(1, round(w * k))
    arr = np.asarray(pixels, np.float32)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[..., None]
    chans = [
        np.asarray(Image.fromarray(np.ascontiguousarray(arr[..., c]), mode="F").resize((nw, nh), Image.Resampling.BOX))
        for c in range(arr.shape[2])
    ]
    out = np.clip(np.stack(chans, -1), 0, 1).astype(np.float32)
    return out[..., 0] if squeeze else out


def to_png(pixels: np.ndarray, scale: int = 1) -> bytes:
    """PNG bytes of (H, W, 1|3) or (H, W) pixels in [0, 1] (or uint8), upscaled ``scale``× (nearest)."""
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    im = Image.fromarray(arr if arr.dtype == np.uint8 else to_uint8(arr))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def save_png(path: str | Path, pixels: np.ndarray, scale: int = 1) -> None:
    Path(path).write_bytes(to_png(pixels, scale))


def side_by_side(panels: list[tuple[str, np.ndarray]], max_side: int = 900, gap: int = 12) -> np.ndarray:
    """Titled panels in one row, as one uint8 picture."""
    small = [(t, to_uint8(fit_within(as_rgb(p), max_side))) for t, p in panels]
    head = 24
    height = max(p.shape[0] for _, p in small) + head
    width = sum(p.shape[1] for _, p in small) + gap * (len(small) + 1)
    canvas = Image.new("RGB", (width, height + gap), "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for title, p in small:
        canvas.paste(Image.fromarray(p), (x, head))
        draw.text((x, 5), title, fill=(20, 20, 20))
        x += p.shape[1] + gap
    return np.asarray(canvas)
