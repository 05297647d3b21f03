"""Pictures of a region analysis: the probability map, the overlay, the truth and the panels.

Plain RGB arrays from :mod:`core.imaging.pictures`; the Region page and ``python -m
core.region`` both use them, so both show one ramp and one no-data pattern.
"""

from __future__ import annotations

import numpy as np

from core.imaging.pictures import colourise, hatch_no_data
from core.region.mosaic import Mosaic, label_map
from core.region.tiles import RegionResult, as_float_rgb


def heatmap_rgb(result: RegionResult) -> np.ndarray:
    """The probability map alone: ramp on tissue, white on background, hatched grey for no data."""
    return hatch_no_data(result.valid, colourise(result.probability))


def overlay_rgb(
    image: np.ndarray, result: RegionResult, opacity: float = 0.45, threshold: float | None = None
) -> np.ndarray:
    """The image with the probability map blended on top.

    With ``threshold`` only pixels at or above it are coloured (the rest show the image).
    """
    base = as_float_rgb(image)
    prob = result.probability
    show = np.isfinite(prob)
    if threshold is not None:
        show &= np.nan_to_num(prob, nan=-1.0) >= threshold
    out = base.copy()
    out[show] = (1 - opacity) * base[show] + opacity * colourise(prob[show])
    return hatch_no_data(result.valid, out)


def truth_rgb(mosaic: Mosaic) -> np.ndarray:
    """The patch labels on the probability ramp (IDC = 1, no IDC = 0), holes hatched."""
    return hatch_no_data(mosaic.valid, colourise(label_map(mosaic)))


def mosaic_panels(mosaic: Mosaic, result: RegionResult) -> list[tuple[str, np.ndarray]]:
    """Slide, truth and prediction pictures for a side-by-side comparison."""
    slide = hatch_no_data(mosaic.valid, mosaic.image.astype(np.float32) / 255.0)
    return [
        (f"patient {mosaic.patient}: slide mosaic", slide),
        ("truth: patch labels (red = IDC)", truth_rgb(mosaic)),
        ("prediction: IDC probability", heatmap_rgb(result)),
        ("overlay", overlay_rgb(mosaic.image, result)),
    ]
