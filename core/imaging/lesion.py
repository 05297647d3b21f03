"""From a lesion box on a mammogram to the square region the model sees.

The shipped mammography model was trained on CBIS-DDSM mass films, each lesion framed by
one rule (chosen by patient-grouped cross-validation, see ``docs/experiments.md``): a
square centred on the lesion's box, of side :data:`BOX_SCALE` × the box's longer side, and
never smaller than :data:`MIN_SIDE_FRACTION` of the film's longer side (160 px of an
800-px film), so that small lesions keep some surrounding tissue and their absolute size
stays visible. The square is shifted to lie inside the film where it would cross an edge;
only a film smaller than the square is padded (black). The same rule frames a box the user
draws on an uploaded film, a click on a lesion's centre (with a box of
:data:`DEFAULT_BOX_FRACTION` of the film, the median CBIS-DDSM mass, unless a size is
given), and the external test's mini-MIAS lesions (box = the annotated circle's square).

The mini-MIAS readers (:mod:`core.data.mammo`) keep their own framing with
:func:`crop_square` (4 × the lesion radius), which the earlier, mini-MIAS-trained model used.
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


# The lesion square of the shipped model (see the module notes).
BOX_SCALE = 1.5
MIN_SIDE_FRACTION = 0.2
DEFAULT_BOX_FRACTION = 0.1


def side_for_box(box_side: float, height: int, width: int) -> float:
    """The square's side for a lesion box whose longer side is ``box_side`` pixels."""
    return float(max(BOX_SCALE * max(box_side, 0.0), MIN_SIDE_FRACTION * max(height, width)))


def square_for_box(x: float, y: float, w: float, h: float, height: int, width: int) -> LesionSquare:
    """The model's square for a COCO-style box (x, y, width, height) on a film of height × width."""
    return LesionSquare(x + w / 2.0, y + h / 2.0, side_for_box(max(w, h), height, width))


def _crop_window(square: LesionSquare, height: int, width: int) -> tuple[int, int, int, int, int]:
    """(side, x0, y0, sx, sy): the square's side and where its window lies inside the image."""
    s = max(int(round(square.side)), 2)
    sx, sy = min(s, width), min(s, height)
    x0 = min(max(int(round(square.cx - sx / 2.0)), 0), width - sx)
    y0 = min(max(int(round(square.cy - sy / 2.0)), 0), height - sy)
    return s, x0, y0, sx, sy


def crop_inside(pixels: np.ndarray, square: LesionSquare) -> np.ndarray:
    """The square's pixels, shifted to lie inside the image; padded (black, centred) only where it is larger."""
    h, w = pixels.shape[:2]
    s, x0, y0, sx, sy = _crop_window(square, h, w)
    region = pixels[y0 : y0 + sy, x0 : x0 + sx]
    if sx == s and sy == s:
        return region
    out = np.zeros((s, s, *pixels.shape[2:]), pixels.dtype)
    oy, ox = (s - sy) // 2, (s - sx) // 2
    out[oy : oy + sy, ox : ox + sx] = region
    return out


def box_in_input(
    box: tuple[float, float, float, float], square: LesionSquare, height: int, width: int, size: int = 50
) -> tuple[float, float, float, float]:
    """A film box (x, y, w, h) in the model input's pixels (x0, y0, x1, y1), for the crop that
    :func:`crop_inside` makes of ``square`` on a film of height × width, resized to ``size``."""
    s, x0, y0, sx, sy = _crop_window(square, height, width)
    ox, oy = x0 - (s - sx) // 2, y0 - (s - sy) // 2  # film coordinates of the crop's top-left corner
    k = size / s
    x, y, w, h = box
    clip = lambda v: float(np.clip(v, 0.0, size))  # noqa: E731
    return clip((x - ox) * k), clip((y - oy) * k), clip((x + w - ox) * k), clip((y + h - oy) * k)


def frame_box(
    box: tuple[float, float, float, float], height: int, width: int, size: int = 50
) -> tuple[LesionSquare, tuple[float, float, float, float]]:
    """The model's square for a lesion box (x, y, w, h) on a film, and the box in the input's pixels.

    One rule for every reader of film lesions (training, evaluation, the cohort scorer): the
    square of :func:`square_for_box`, and the box as :func:`box_in_input` maps it into the
    ``size``-px input cut from that square.
    """
    square = square_for_box(*box, height, width)
    return square, box_in_input(box, square, height, width, size=size)


def default_box_side(height: int, width: int) -> float:
    """A typical mass's box side on a film of this size (the CBIS-DDSM median, scaled)."""
    return DEFAULT_BOX_FRACTION * max(height, width)


def looks_like_whole_film(height: int, width: int) -> bool:
    """True when the image is large enough to be a whole film rather than a lesion crop."""
    return max(height, width) > WHOLE_FILM_MIN_SIDE


def _clamp_centre(x: float, y: float, height: int, width: int) -> tuple[float, float]:
    return float(np.clip(x, 0, width - 1)), float(np.clip(y, 0, height - 1))


def region_from_click(x: float, y: float, box_side: float, height: int, width: int) -> LesionSquare:
    """The square for a click on the lesion's centre and the lesion's size (box side, pixels)."""
    cx, cy = _clamp_centre(x, y, height, width)
    return LesionSquare(cx, cy, side_for_box(box_side, height, width))


def region_from_box(x0: float, y0: float, x1: float, y1: float, height: int, width: int) -> LesionSquare:
    """The square for a box drawn around the lesion (corners in any order)."""
    left, right = sorted((float(x0), float(x1)))
    top, bottom = sorted((float(y0), float(y1)))
    cx, cy = _clamp_centre((left + right) / 2.0, (top + bottom) / 2.0, height, width)
    return LesionSquare(cx, cy, side_for_box(max(right - left, bottom - top), height, width))


def crop_region(pixels: np.ndarray, region: LesionSquare) -> np.ndarray:
    """The region's pixels (side × side × C), by the shipped model's rule (:func:`crop_inside`)."""
    return crop_inside(pixels, region)


__all__ = [
    "BOX_SCALE",
    "DEFAULT_BOX_FRACTION",
    "FILM_MIN_SIDE",
    "LesionSquare",
    "MIN_SIDE_FRACTION",
    "SIDE_PER_RADIUS",
    "WHOLE_FILM_MIN_SIDE",
    "box_in_input",
    "crop_inside",
    "crop_region",
    "crop_square",
    "default_box_side",
    "frame_box",
    "looks_like_whole_film",
    "region_from_box",
    "region_from_click",
    "side_for_box",
    "square_for_box",
]
