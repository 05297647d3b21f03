"""From a mark on a whole mammogram to the square region the model sees.

The mammography model was trained on lesion regions framed like the mini-MIAS crops
(:mod:`core.data.mammo`): a square centred on the lesion whose side is about four times
the lesion's radius, never smaller than ``FILM_MIN_SIDE`` pixels of a 512-pixel film. A
user marks the lesion on the film either with a click (its centre; the radius comes from a
slider) or with a box drawn around it (centre = the box's centre, radius = half its
longer side). This module turns either mark into that square and crops it with
:func:`crop_square`, so a marked film reaches the model framed exactly as
the training data were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Square side / lesion radius, as in core.data.mammo's framing of annotated lesions.
FILM_MIN_SIDE = 64  # the smallest lesion square on a 512-px film, in pixels
SIDE_PER_RADIUS = 4.0
# Images whose longer side exceeds this are offered the region step by default: the
# lesion crops of mini-MIAS are mostly 128–264 px, its whole films 512 px.
WHOLE_FILM_MIN_SIDE = 256
DEFAULT_RADIUS_FRACTION = 20.0 / 512.0  # the median mini-MIAS lesion radius on a 512-px film


@dataclass(frozen=True)
class LesionSquare:
    """A square region in the image's pixel frame: centre (cx, cy) and side, in pixels."""

    cx: float
    cy: float
    side: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the square."""
        half = self.side / 2.0
        return (self.cx - half, self.cy - half, self.cx + half, self.cy + half)


def crop_square(pixels: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
    """A side×side region centred on (cx, cy); parts outside the image are black."""
    h, w, c = pixels.shape
    half = side / 2.0
    x0, y0 = int(round(cx - half)), int(round(cy - half))
    s = max(int(round(side)), 1)
    out = np.zeros((s, s, c), np.float32)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + s, w), min(y0 + s, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = pixels[sy0:sy1, sx0:sx1]
    return out


def looks_like_whole_film(height: int, width: int) -> bool:
    """True when the image is large enough to be a whole film rather than a lesion crop."""
    return max(height, width) > WHOLE_FILM_MIN_SIDE


def default_radius(height: int, width: int) -> float:
    """A typical lesion radius for a film of this size (the mini-MIAS median, scaled)."""
    return max(height, width) * DEFAULT_RADIUS_FRACTION


def side_for_radius(radius: float, height: int, width: int) -> float:
    """The square's side for a lesion radius: 4 × radius, at least the training minimum.

    The minimum is ``FILM_MIN_SIDE`` on a 512-px film and scales with the film's size.
    """
    minimum = FILM_MIN_SIDE * max(height, width) / 512.0
    return float(max(SIDE_PER_RADIUS * max(radius, 0.0), minimum))


def _clamp_centre(x: float, y: float, height: int, width: int) -> tuple[float, float]:
    return float(np.clip(x, 0, width - 1)), float(np.clip(y, 0, height - 1))


def region_from_click(x: float, y: float, radius: float, height: int, width: int) -> LesionSquare:
    """The region for a click on the lesion's centre and a lesion radius (pixels)."""
    cx, cy = _clamp_centre(x, y, height, width)
    return LesionSquare(cx, cy, side_for_radius(radius, height, width))


def region_from_box(x0: float, y0: float, x1: float, y1: float, height: int, width: int) -> LesionSquare:
    """The region for a box drawn around the lesion (corners in any order)."""
    left, right = sorted((float(x0), float(x1)))
    top, bottom = sorted((float(y0), float(y1)))
    cx, cy = _clamp_centre((left + right) / 2.0, (top + bottom) / 2.0, height, width)
    radius = max(right - left, bottom - top) / 2.0
    return LesionSquare(cx, cy, side_for_radius(radius, height, width))


def crop_region(pixels: np.ndarray, region: LesionSquare) -> np.ndarray:
    """The region's pixels (side × side × C); parts beyond the film are black."""
    return crop_square(pixels, region.cx, region.cy, region.side)


__all__ = [
    "DEFAULT_RADIUS_FRACTION",
    "LesionSquare",
    "SIDE_PER_RADIUS",
    "WHOLE_FILM_MIN_SIDE",
    "crop_region",
    "default_radius",
    "looks_like_whole_film",
    "region_from_box",
    "region_from_click",
    "side_for_radius",
]
