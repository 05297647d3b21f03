"""Training-time augmentation, in NumPy with an explicit random generator (reproducible).

* both modalities: the 8 flips/90° rotations (tissue and lesions have no up or left);
* histopathology: H&E stain jitter in the haematoxylin–eosin–DAB colour space (Tellez et al.
  2018, "Whole-slide mitosis detection in H&E breast histology using PHH3 as a reference to
  train distilled stain-invariant convolutional networks"), then brightness and contrast
  jitter — the colour varies far more between patients' slides than within one, and a
  model that learns one lab's stain fails on the next patient;
* mammography, mini-MIAS regions: crop jitter around the lesion (a random square of
  80–100% of the region's side at a random offset) and a mild gamma change;
* mammography, film lesions (CBIS-DDSM): the model's square cut again from a context
  square around it with its side scaled by 0.8–1.25 (log-uniform) and its centre moved by
  up to a tenth of the side, then gamma 0.8–1.25, contrast ±15% and brightness ±0.05 — the
  settings chosen by patient-grouped cross-validation (``docs/experiments.md``).
"""

from __future__ import annotations

import numpy as np

from core.imaging.preprocess import to_model_input
from core.modality import MAMMO


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


# Ruifrok & Johnston's stain vectors, as in skimage.color (rgb_from_hed / hed_from_rgb).
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], np.float32)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED).astype(np.float32)
_LOG_EPS = np.float32(np.log(1e-6))


def hed_jitter(x: np.ndarray, rng: np.random.Generator, sigma: float = 0.05) -> np.ndarray:
    """Scale and shift each image's H, E and D stain concentrations by a random amount.

    The colour deconvolution is skimage's ``rgb2hed``/``hed2rgb`` in float32, without
    clipping negative concentrations, so that ``sigma=0`` returns the image unchanged.
    """
    n = len(x)
    stains = (np.log(np.maximum(x, 1e-6)) / _LOG_EPS) @ HED_FROM_RGB
    alpha = rng.uniform(1 - sigma, 1 + sigma, (n, 1, 1, 3)).astype(np.float32)
    beta = (rng.uniform(-sigma, sigma, (n, 1, 1, 3)) * np.array([0.1, 0.1, 0.01])).astype(np.float32)
    rgb = np.exp(((stains * alpha + beta) * _LOG_EPS) @ RGB_FROM_HED)
    return np.clip(rgb, 0, 1).astype(np.float32)


def augment_histo(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = hed_jitter(dihedral(x, rng), rng)
    return np.clip(he_colour_jitter(x, rng), 0.0, 1.0).astype(np.float32)


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


def intensity_jitter(
    x: np.ndarray,
    rng: np.random.Generator,
    gamma: tuple[float, float] = (0.8, 1.25),
    contrast: float = 0.15,
    brightness: float = 0.05,
) -> np.ndarray:
    """Gamma (log-uniform), contrast about each image's mean and brightness; clipped to [0, 1]."""
    n = len(x)
    g = np.exp(rng.uniform(np.log(gamma[0]), np.log(gamma[1]), (n, 1, 1, 1))).astype(np.float32)
    x = np.power(np.clip(x, 0.0, 1.0), g)
    c = (1.0 + rng.uniform(-contrast, contrast, (n, 1, 1, 1))).astype(np.float32)
    b = rng.uniform(-brightness, brightness, (n, 1, 1, 1)).astype(np.float32)
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - m) * c + m + b, 0.0, 1.0).astype(np.float32)


def jitter_square(
    context: np.ndarray,
    margin: float,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.8, 1.25),
    shift: float = 0.10,
) -> np.ndarray:
    """The model's square cut again from its ``context`` (``margin`` × the square, centred on it).

    The side is scaled log-uniformly within ``scale`` and the centre moved by up to
    ``shift`` × the side in x and y; the cut stays inside the context.
    """
    size = context.shape[0]
    base = size / margin
    side = base * float(np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))))
    side = min(side, size)
    cx = size / 2 + float(rng.uniform(-shift, shift)) * side
    cy = size / 2 + float(rng.uniform(-shift, shift)) * side
    s = max(int(round(side)), 2)
    x0 = int(np.clip(round(cx - s / 2), 0, size - s))
    y0 = int(np.clip(round(cy - s / 2), 0, size - s))
    return context[y0 : y0 + s, x0 : x0 + s]


def augment_film_lesions(contexts: list[np.ndarray], margin: float, rng: np.random.Generator) -> np.ndarray:
    """One augmented (N, 50, 50, 1) batch from film lesions' context squares (see module notes)."""
    crops = np.stack([to_model_input(jitter_square(c, margin, rng), MAMMO) for c in contexts])
    return intensity_jitter(dihedral(crops, rng), rng)
