"""Verdicts in plain words: is a map faithful, no better than random, or worse than random?

A map's *gain* over the random map of the same image is the mean of two differences, each
oriented so that positive is better:

    gain = ((random deletion AUC − deletion AUC) + (insertion AUC − random insertion AUC)) / 2

The map is **faithful** when gain ≥ :data:`MARGIN`, **worse than random** when gain ≤
−:data:`MARGIN`, and **no better than random** in between. The margin is in AUC units on
curves that run from 0 to 1: 0.02 is about the spread of a random map's own scores between
two seeds on these 50×50 inputs, so a smaller difference is not told apart from chance.

The case summary puts the verdicts together and says where the faithful maps agree: the
cell of a 3×3 grid over the input (e.g. "lower left") holding the most importance in most of
them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

MARGIN = 0.02
FAITHFUL = "faithful"
NO_BETTER = "no better than random"
WORSE = "worse than random"

_ROWS = ("upper", "middle", "lower")
_COLS = ("left", "centre", "right")


@dataclass(frozen=True)
class Verdict:
    label: str  # FAITHFUL, NO_BETTER or WORSE
    gain: float  # mean improvement over the random map (see module notes)

    @property
    def sentence(self) -> str:
        sign = "better" if self.gain >= 0 else "worse"
        return f"{self.label} ({abs(self.gain):.3f} AUC {sign} than a random map on average)"


def verdict(
    deletion_auc: float, insertion_auc: float, random_deletion_auc: float, random_insertion_auc: float
) -> Verdict:
    """The verdict for one map from its deletion/insertion AUCs and the random map's."""
    gain = ((random_deletion_auc - deletion_auc) + (insertion_auc - random_insertion_auc)) / 2.0
    if not np.isfinite(gain):
        return Verdict(NO_BETTER, 0.0)
    label = FAITHFUL if gain >= MARGIN else WORSE if gain <= -MARGIN else NO_BETTER
    return Verdict(label, float(gain))


def verdict_of(result) -> Verdict:
    """The verdict for a ``MethodResult`` (or anything with the four AUC attributes)."""
    return verdict(result.deletion_auc, result.insertion_auc, result.random_deletion_auc, result.random_insertion_auc)


def hot_cell(heatmap: np.ndarray) -> str:
    """The cell of a 3×3 grid over the map with the most importance, in words ("lower left")."""
    h, w = heatmap.shape
    ys, xs = np.linspace(0, h, 4).round().astype(int), np.linspace(0, w, 4).round().astype(int)
    sums = np.array([[heatmap[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].mean() for j in range(3)] for i in range(3)])
    i, j = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return "the centre" if (i, j) == (1, 1) else f"the {_ROWS[i]} {_COLS[j]}"


def case_summary(results: dict, labels: dict[str, str] | None = None) -> str:
    """One paragraph for the case: how many maps beat the random map, and where they agree."""
    labels = labels or {}
    if not results:
        return "No explanation method was run."
    verdicts = {name: verdict_of(r) for name, r in results.items()}
    faithful = [n for n, v in verdicts.items() if v.label == FAITHFUL]
    worse = [labels.get(n, n) for n, v in verdicts.items() if v.label == WORSE]
    total = len(results)
    parts = [f"{len(faithful)} of {total} method{'s' if total != 1 else ''} beat the random map"]
    if faithful:
        cells = Counter(hot_cell(np.asarray(results[n].explanation.heatmap, np.float32)) for n in faithful)
        cell, count = cells.most_common(1)[0]
        if len(faithful) == 1:
            parts.append(f"it puts most importance in {cell} of the input")
        elif count > len(faithful) / 2:
            parts.append(f"{count} of them agree on {cell} of the input")
        else:
            parts.append("they do not agree on one area of the input")
    text = "; ".join(parts) + "."
    if worse:
        text += f" Worse than random: {', '.join(worse)} — do not read those maps."
    if not faithful:
        text += " No map here explains this prediction better than chance."
    return text
