"""Training-time augmentation, in NumPy with an explicit random generator (reproducible).

* both modalities: the 8 flips/90° rotations (tissue and lesions have no up or left);
* histopathology: H&E colour jitter — per-channel stain gain, brightness and contrast —
  for the colour variation between labs and scanners;
* mammography: crop jitter around the lesion (a random square of 80–100% of the region's
  side at a random offset) and a mild gamma change.
"""

from __future__ import annotations

import numpy as np

from .decode import to_model_input
from .modality import MAMMO


def dihedral(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply one of the 8 flips/rotations to each image of a (N, H, W, C) batch."""
    out = x.copy()
    transpose = rng.random(len(x)) < 0.5
    out[transpose] = out[transpose].transpose(0, 2, 1, 3)
    flip_h = rng.random(len(x)) < 0.5
    out[flip_h] = out[flip_h][:, :, ::-1]
    flip_v = rng.random(len(x)) < 0.5
    out[flip_v] = out[flip_v][:, ::-1]
    return out


def he_colour_jitter(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    n = len(x)
    gain = 1.0 + strength * rng.uniform(-0.08, 0.08, (n, 1, 1, 3))
    shift = strength * rng.uniform(-0.05, 0.05, (n, 1, 1, 1))
    contrast = 1.0 + strength * rng.uniform(-0.15, 0.15, (n, 1, 1, 1))
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - mean) * contrast + mean + shift, 0, 1) * gain


def augment_histo(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(he_colour_jitter(dihedral(x, rng), rng), 0.0, 1.0).astype(np.float32)


def jitter_crop(region: np.ndarray, rng: np.random.Generator, min_scale: float = 0.8) -> np.ndarray:
    h, w = region.shape[:2]
    side = min(h, w)
    s = max(int(round(side * rng.uniform(min_scale, 1.0))), 2)
    y0 = int(rng.integers(0, h - s + 1))
    x0 = int(rng.integers(0, w - s + 1))
    return region[y0 : y0 + s, x0 : x0 + s]


def augment_mammo(regions: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    crops = np.stack([to_model_input(jitter_crop(r, rng), MAMMO) for r in regions])
    gamma = rng.uniform(0.8, 1.25, (len(crops), 1, 1, 1))
    return dihedral(np.power(crops, gamma), rng).astype(np.float32)
