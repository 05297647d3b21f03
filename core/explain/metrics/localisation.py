"""Does a map point at the lesion the radiologist boxed? Relevance mass and the pointing game.

Both compare a map with a known lesion box in the model input's pixels (for CBIS-DDSM crops
the box is the annotation, mapped into the crop by :func:`core.imaging.lesion.box_in_input`):

* **relevance mass** (Arras et al. 2022, "CLEVR-XAI"): the share of the map's positive
  importance that falls inside the box — 1 when all of it does; a map spread evenly scores
  the box's share of the image;
* **pointing game** (Zhang et al. 2018, "Top-down neural attention by excitation backprop"):
  whether the map's largest value lies inside the box.

Signed maps are scored on their positive part (evidence *for* the explained class); maps
with no positive value score 0 and miss. A seeded random map, scored the same way, is the
reference: its expected relevance mass is the box's area share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Localisation:
    relevance_mass: float  # in [0, 1]
    pointing_hit: bool
    box_share: float  # the box's share of the image: a uniform map's relevance mass


def box_mask(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """(H, W) bool mask of the pixels whose centres lie in ``box`` = (x0, y0, x1, y1)."""
    h, w = shape
    x0, y0, x1, y1 = box
    ys, xs = np.arange(h) + 0.5, np.arange(w) + 0.5
    return ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]


def localisation(attribution: np.ndarray, box: tuple[float, float, float, float]) -> Localisation:
    """Relevance mass and pointing game of one (H, W) map against a box in its pixels."""
    a = np.nan_to_num(np.asarray(attribution, np.float64))
    inside = box_mask(a.shape, box)
    positive = np.clip(a, 0.0, None)
    total = positive.sum()
    mass = float(positive[inside].sum() / total) if total > 0 else 0.0
    hit = bool(total > 0 and inside.flat[int(np.argmax(positive))])
    return Localisation(mass, hit, float(inside.mean()))
