"""Deletion and insertion scores of an attribution map (Petsiuk et al. 2018).

Deletion removes pixels in the order the map ranks them, most important first, and
follows the target's probability down; insertion starts from the removed image and puts
the pixels back in the same order, following the probability up. Each curve has
``steps + 1`` points over the fraction of pixels changed (0 … 1) and its area (trapezoid
rule) is the score: **low deletion AUC and high insertion AUC mean a faithful map**. The
same scores for a seeded random ranking (:func:`random_map`) are the reference line: a map
that does no better than random tells nothing about the model.

"Removed" means taken from a Gaussian blur of the image (σ = 5 px) for both curves, as in
Petsiuk et al.'s insertion. A blur removes the fine structure the model reads (nuclei,
texture, edges) without adding colours it never saw, such as black squares on H&E.

Pixels are ranked by the raw attribution, so for signed maps the evidence *for* the
target goes first and the evidence against it last. Ties (flat Grad-CAM areas, LIME
superpixels) are broken by a seeded random jitter rather than by raster order.

All ``steps + 1`` images of a curve go through the model as one batch.

Reference:
    Petsiuk, Das & Saenko, RISE: Randomized Input Sampling for Explanation of Black-box
    Models, BMVC 2018 (https://arxiv.org/abs/1806.07421).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.explain.methods.base import BLUR_SIGMA, blur

STEPS = 50

Predict = Callable[[np.ndarray], np.ndarray]  # (N, H, W, C) → (N, K) probabilities


@dataclass(frozen=True)
class Faithfulness:
    """One deletion or insertion curve and its area."""

    kind: str  # "deletion" or "insertion"
    auc: float  # area under the curve, in [0, 1]
    fractions: np.ndarray  # (steps + 1,) fraction of pixels changed
    curve: np.ndarray  # (steps + 1,) probability of the target class


def pixel_order(attribution: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices from most to least important (ties broken at random, seeded)."""
    values = np.asarray(attribution, np.float64).ravel()
    jitter = np.random.default_rng([seed, 1]).random(values.size)  # not random_map's stream
    return np.lexsort((jitter, -values))


def random_map(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A seeded random (H, W) map: the reference an informative map must beat."""
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _curve_images(image: np.ndarray, start: np.ndarray, end: np.ndarray, order: np.ndarray, steps: int) -> np.ndarray:
    """(steps + 1, H, W, C): ``start`` with the first k·n/steps ranked pixels taken from ``end``."""
    h, w = image.shape[:2]
    rank = np.empty(h * w, np.int64)
    rank[order] = np.arange(h * w)
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(np.int64)
    changed = (rank.reshape(1, h, w) < counts[:, None, None])[..., None]  # (steps+1, H, W, 1)
    return np.where(changed, end[None], start[None]).astype(np.float32)


def deletion_insertion(
    predict: Predict,
    image: np.ndarray,
    attribution: np.ndarray,
    target: int,
    steps: int = STEPS,
    seed: int = 0,
) -> tuple[Faithfulness, Faithfulness]:
    """Deletion and insertion curves of one (H, W) map for one (H, W, C) image, one model call.

    Raises:
        ValueError: the map's shape is not the image's (H, W), or steps < 1.
    """
    image = np.asarray(image, np.float32)
    if attribution.shape != image.shape[:2]:
        raise ValueError(f"map shape {attribution.shape} differs from image shape {image.shape[:2]}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    removed = blur(image[None], BLUR_SIGMA)[0]
    order = pixel_order(attribution, seed)
    deletion = _curve_images(image, image, removed, order, steps)
    insertion = _curve_images(image, removed, image, order, steps)
    p = predict(np.concatenate([deletion, insertion]))[:, int(target)]
    fractions = np.linspace(0.0, 1.0, steps + 1)
    return (
        Faithfulness("deletion", float(np.trapezoid(p[: steps + 1], fractions)), fractions, p[: steps + 1]),
        Faithfulness("insertion", float(np.trapezoid(p[steps + 1 :], fractions)), fractions, p[steps + 1 :]),
    )


def deletion(
    predict: Predict, image: np.ndarray, attribution: np.ndarray, target: int, steps: int = STEPS, seed: int = 0
) -> Faithfulness:
    """Deletion curve (lower AUC = more faithful)."""
    return deletion_insertion(predict, image, attribution, target, steps, seed)[0]


def insertion(
    predict: Predict, image: np.ndarray, attribution: np.ndarray, target: int, steps: int = STEPS, seed: int = 0
) -> Faithfulness:
    """Insertion curve (higher AUC = more faithful)."""
    return deletion_insertion(predict, image, attribution, target, steps, seed)[1]
