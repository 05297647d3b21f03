"""Suggest a modality from the image itself, so a wrong choice can be flagged.

The heuristic rests on one fact about the two kinds of image:

* **H&E histopathology** is stained: haematoxylin (blue-purple nuclei) and eosin (pink
  cytoplasm). Almost every patch has many clearly coloured pixels whose hue lies in the
  pink–purple band (here 240°–360° or 0°–30°).
* **Mammograms** are grey: one channel, or three equal channels.

So: the fraction of pixels with a chroma (max − min of R, G, B) above ``CHROMA_MIN``
decides. Above ``COLOUR_FRACTION_MIN`` the image is colour; it is suggested as histology
when most of those colour pixels have an H&E hue, and flagged as neither when they do not
(a photograph, say). Below it the image is grey and suggested as a mammogram, unless it is
almost all near-white — a patch of empty slide background, which says nothing either way.
On the project's data, 99% of IDC patches have over 2.5% colour pixels and no mini-MIAS
image has any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHROMA_MIN = 0.08
COLOUR_FRACTION_MIN = 0.02
HE_HUE_FRACTION_MIN = 0.5
BLANK_BRIGHTNESS = 0.8
BLANK_FRACTION = 0.9


@dataclass(frozen=True)
class ModalityGuess:
    modality: str | None  # "histo", "mammo", or None when the image fits neither clearly
    colour_fraction: float  # share of pixels with visible colour
    he_hue_fraction: float  # share of those with an H&E (pink–purple) hue
    reason: str  # one sentence for the user


def _hue_degrees(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(-1), rgb.min(-1)
    d = np.maximum(mx - mn, 1e-6)
    hue = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4))
    return hue * 60.0


def guess_modality(pixels: np.ndarray) -> ModalityGuess:
    """Suggest ``histo`` or ``mammo`` for (H, W, C) pixels in [0, 1] (C = 1 or 3)."""
    pixels = np.asarray(pixels, np.float32)
    if pixels.shape[2] == 1:
        rgb = np.repeat(pixels, 3, axis=2)
    else:
        rgb = pixels[..., :3]
    chroma = rgb.max(-1) - rgb.min(-1)
    coloured = chroma > CHROMA_MIN
    colour_fraction = float(coloured.mean())
    if colour_fraction >= COLOUR_FRACTION_MIN:
        hue = _hue_degrees(rgb[coloured])
        he = (hue >= 240.0) | (hue <= 30.0)
        he_fraction = float(he.mean())
        if he_fraction >= HE_HUE_FRACTION_MIN:
            return ModalityGuess(
                "histo",
                colour_fraction,
                he_fraction,
                f"The image is stained pink–purple like H&E ({colour_fraction:.0%} coloured pixels).",
            )
        return ModalityGuess(
            None,
            colour_fraction,
            he_fraction,
            "The image is in colour but not in H&E tones; it looks like neither a stained patch nor a mammogram.",
        )
    brightness = rgb.mean(-1)
    if float((brightness > BLANK_BRIGHTNESS).mean()) > BLANK_FRACTION:
        return ModalityGuess(
            None,
            colour_fraction,
            0.0,
            "The image is almost blank and white (like empty slide background); it cannot be told apart.",
        )
    return ModalityGuess("mammo", colour_fraction, 0.0, "The image is grey, like a mammogram.")


__all__ = ["ModalityGuess", "guess_modality"]
