"""Tissue scale: the µm per pixel the histopathology model expects, resampling to it, and a check.

The IDC patches were cut from whole-slide images scanned at 40× (about 0.25 µm per pixel)
and downsampled 16:1 before tiling, to an apparent magnification of 2.5× (Janowczyk &
Madabhushi 2016, J Pathol Inform 7:29; Cruz-Roa et al. 2014): about **4 µm per pixel**, so
one 50×50 patch spans about 200 µm of tissue. An image at another scale shows the model
nuclei and glands at sizes it never saw; it must be resampled first, and the user can say
the scale of an upload (``resample_to_model``).

When the user does not know, the image itself is a witness: at the model's scale a nucleus
is 2–3 px across, so H&E tissue has much of its contrast in the finest band of detail. A
copy enlarged 2× has almost none there. :func:`fine_detail` measures the share of fine-band
to middle-band contrast over the tissue; the reference (the training patches' median at a
ladder of known zooms, written into the model card) turns it into an estimated zoom
(:func:`estimate_zoom`). JPEG compression, blur and any resampling also remove fine detail,
so the estimate is a warning, never an automatic correction, and it only tells *enlarged*
(or blurred) tissue: an image coarser than the model's scale has no less fine detail than
a true one, so it cannot be told by this measure; the user's stated scale is the remedy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

from core.imaging.preprocess import resize_to, to_gray

MODEL_UM_PER_PX = 4.0
ZOOMS = (1.0, 1.41, 2.0, 2.83, 4.0)  # the reference ladder, in factors of √2
WARN_LARGER = 1.6  # an estimated zoom at or beyond this is worth a warning
TISSUE_GREY = 0.85  # grey level below which a pixel is tissue rather than the slide's white
MAX_SIDE = 2000  # the check reads at most a central square of this side


def resampled_shape(
    height: int, width: int, um_per_px: float, model_um_per_px: float = MODEL_UM_PER_PX
) -> tuple[int, int]:
    """(height, width) of an image of this scale once resampled to the model's."""
    if um_per_px <= 0:
        raise ValueError("the scale must be positive")
    factor = um_per_px / model_um_per_px
    return max(1, round(height * factor)), max(1, round(width * factor))


def resample_to_model(pixels: np.ndarray, um_per_px: float, model_um_per_px: float = MODEL_UM_PER_PX) -> np.ndarray:
    """The image at the model's scale: shrunk when its pixels are finer, enlarged when coarser."""
    h, w = resampled_shape(*pixels.shape[:2], um_per_px, model_um_per_px)
    if (h, w) == pixels.shape[:2]:
        return pixels
    return resize_to(pixels, h, w)


def fine_detail(pixels: np.ndarray) -> float:
    """Fine-band (below 3 px) over middle-band (3–9 px) grey contrast on the tissue; NaN without tissue."""
    pixels = np.asarray(pixels)
    if np.issubdtype(pixels.dtype, np.integer):  # 8-bit pictures (e.g. a rebuilt slide) to [0, 1]
        pixels = pixels.astype(np.float32) / 255.0
    g = to_gray(pixels.astype(np.float32))[..., 0]
    h, w = g.shape
    if h > MAX_SIDE or w > MAX_SIDE:
        y, x = (h - min(h, MAX_SIDE)) // 2, (w - min(w, MAX_SIDE)) // 2
        g = g[y : y + MAX_SIDE, x : x + MAX_SIDE]
    if min(g.shape) < 12:
        return float("nan")
    b3 = uniform_filter(g, 3, mode="reflect")
    b9 = uniform_filter(g, 9, mode="reflect")
    tissue = uniform_filter((g < TISSUE_GREY).astype(np.float32), 9, mode="reflect") > 0.5
    tissue[:4], tissue[-4:], tissue[:, :4], tissue[:, -4:] = False, False, False, False
    if tissue.sum() < 64:
        return float("nan")
    coarse = float(np.abs(b3 - b9)[tissue].sum())
    return float(np.abs(g - b3)[tissue].sum() / coarse) if coarse > 1e-9 else float("nan")


@dataclass(frozen=True)
class ScaleReference:
    um_per_px: float
    zooms: tuple[float, ...]
    detail: tuple[float, ...]  # the training patches' median fine_detail at each zoom

    @classmethod
    def from_card(cls, card: dict | None) -> ScaleReference | None:
        entry = (card or {}).get("tissue_scale") or {}
        if not entry.get("zooms"):
            return None
        return cls(float(entry["um_per_px"]), tuple(entry["zooms"]), tuple(entry["detail"]))


def fit_scale_reference(patches: np.ndarray, zooms: tuple[float, ...] = ZOOMS) -> ScaleReference:
    """The reference curve from (N, H, W, C) training patches at the model's scale."""
    detail = []
    for z in zooms:
        values = []
        for p in patches:
            h, w = p.shape[:2]
            values.append(fine_detail(resize_to(p, max(1, round(h * z)), max(1, round(w * z)))))
        detail.append(round(float(np.nanmedian(values)), 5))
    return ScaleReference(MODEL_UM_PER_PX, tuple(float(z) for z in zooms), tuple(detail))


def estimate_zoom(pixels: np.ndarray, reference: ScaleReference) -> float:
    """How many times larger than in the training patches the tissue looks (1 = the model's scale or finer)."""
    d = fine_detail(pixels)
    if not np.isfinite(d):
        return float("nan")
    # detail falls as the zoom grows: interpolate log-zoom on the reversed (increasing) curve
    det = np.asarray(reference.detail, float)[::-1]
    logz = np.log(np.asarray(reference.zooms, float))[::-1]
    return float(np.exp(np.interp(d, det, logz)))


@dataclass(frozen=True)
class ScaleCheck:
    zoom: float  # estimated, see estimate_zoom
    stated_um_per_px: float  # what the user said (or the model's scale by default)
    suggested_um_per_px: float  # the scale the image seems to have

    @property
    def suspicious(self) -> bool:
        return bool(np.isfinite(self.zoom) and self.zoom >= WARN_LARGER)

    def sentence(self) -> str:
        if not np.isfinite(self.zoom):
            return "The scale could not be checked: too little tissue."
        if not self.suspicious:
            return f"The tissue's fine detail is like the training patches' (estimated zoom {self.zoom:.1f}×)."
        return (
            f"The tissue looks about {self.zoom:.1f}× larger than in the model's training patches at the stated "
            f"{self.stated_um_per_px:g} µm per pixel: it may have been scanned at about "
            f"{self.suggested_um_per_px:.2g} µm per pixel (or it is blurred or heavily compressed). "
            "A map at the wrong scale flags the wrong share of tissue."
        )


def check_scale(pixels_at_model_scale: np.ndarray, stated_um_per_px: float, reference: ScaleReference) -> ScaleCheck:
    """Estimate the zoom of an image already resampled to the model's scale by the stated µm/px."""
    zoom = estimate_zoom(pixels_at_model_scale, reference)
    suggested = stated_um_per_px / zoom if np.isfinite(zoom) and zoom > 0 else float("nan")
    return ScaleCheck(zoom, float(stated_um_per_px), float(suggested))
