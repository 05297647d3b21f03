"""How much explanation methods agree with each other on one image.

Two matrices over the methods: the Spearman rank correlation of their importance maps and
the overlap of their top-10 % pixels (|A ∩ B| / k with k = 10 % of the pixels). Importance
is |attribution| for signed methods and the attribution itself for unsigned ones, the same
quantity the display heatmap shows, so a method that marks strong evidence *against* the
class still counts as pointing at the same place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from core.explain.methods.base import Explanation
from core.explain.metrics.faithfulness import pixel_order

TOP_FRACTION = 0.10


@dataclass(frozen=True)
class Agreement:
    methods: tuple[str, ...]
    spearman: np.ndarray  # (M, M) rank correlation, 1 on the diagonal
    top10_overlap: np.ndarray  # (M, M) in [0, 1], 1 on the diagonal


def importance(explanation: Explanation) -> np.ndarray:
    """The map's importance per pixel: |attribution| if signed, else the attribution."""
    a = np.asarray(explanation.attribution, np.float64)
    return np.abs(a) if explanation.signed else a


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two maps (0 when either is constant)."""
    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def top_overlap(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION, seed: int = 0) -> float:
    """Share of the top ``fraction`` pixels of ``a`` that are also in the top of ``b``."""

    k = max(1, int(round(fraction * np.size(a))))
    top_a = pixel_order(a, seed)[:k]
    top_b = pixel_order(b, seed)[:k]
    return float(len(np.intersect1d(top_a, top_b)) / k)


def agreement(explanations: Mapping[str, Explanation], seed: int = 0) -> Agreement:
    """Pairwise Spearman and top-10 % overlap of the methods' importance maps."""
    return agreement_of_maps({n: importance(e) for n, e in explanations.items()}, seed=seed)


def agreement_of_maps(importances: Mapping[str, np.ndarray], seed: int = 0) -> Agreement:
    """:func:`agreement` from importance maps already computed (e.g. read back from a batch run)."""
    names = tuple(importances)
    maps = [np.asarray(importances[n], np.float64) for n in names]
    m = len(names)
    rho, overlap = np.eye(m), np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            rho[i, j] = rho[j, i] = spearman(maps[i], maps[j])
            overlap[i, j] = overlap[j, i] = top_overlap(maps[i], maps[j], seed=seed)
    return Agreement(names, rho, overlap)
