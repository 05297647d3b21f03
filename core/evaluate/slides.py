"""Whole-slide results: every patch of a complete slide scored, slide by slide.

The published results on this data set (Cruz-Roa et al. 2014; Janowczyk & Madabhushi 2016)
score every patch of whole test slides. Here a slide is complete when its patch grid is
dense (:func:`core.data.histo.complete_patients`); its patches are scored like any others
and the metrics are reported per slide, as their mean over slides and pooled over the
slides' patches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.evaluate.scores import binary_metrics
from core.modality import DECISION_THRESHOLD

SLIDE_METRICS = ("auc", "balanced_accuracy", "f1", "sensitivity", "specificity", "accuracy")

# Patch-level results on whole test slides as the two papers report them.
PUBLISHED_WHOLE_SLIDE = (
    {"source": "Cruz-Roa et al. 2014", "f1": 0.7180, "balanced_accuracy": 0.8423},
    {"source": "Janowczyk & Madabhushi 2016", "f1": 0.7648, "balanced_accuracy": 0.8468},
)


@dataclass(frozen=True)
class SlideResult:
    patient: str
    n: int
    n_positive: int
    auc: float | None
    balanced_accuracy: float | None
    f1: float | None
    sensitivity: float | None
    specificity: float | None
    accuracy: float | None


def _clean(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def per_slide(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, slides: list[str], threshold: float = DECISION_THRESHOLD
) -> list[SlideResult]:
    """Metrics of each complete slide in ``slides`` that has patches in ``groups``."""
    out = []
    for pid in slides:
        sel = groups == pid
        if not sel.any():
            continue
        m = binary_metrics(y[sel], p[sel], threshold)
        out.append(SlideResult(pid, int(sel.sum()), int(y[sel].sum()), *(_clean(m[k]) for k in SLIDE_METRICS)))
    return out


def slide_summary(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, slides: list[str], threshold: float = DECISION_THRESHOLD
) -> dict:
    """Per-slide rows, their mean over slides and the metrics pooled over the slides' patches."""
    rows = per_slide(y, p, groups, slides, threshold)
    if not rows:
        return {"slides": [], "mean": None, "pooled": None}
    mean = {}
    for k in SLIDE_METRICS:
        vals = [getattr(r, k) for r in rows if getattr(r, k) is not None]
        mean[k] = round(float(np.mean(vals)), 4) if vals else None
    sel = np.isin(groups, [r.patient for r in rows])
    pooled = {k: _clean(v) for k, v in binary_metrics(y[sel], p[sel], threshold).items() if k in SLIDE_METRICS}
    pooled["n"] = int(sel.sum())
    return {"slides": [asdict(r) for r in rows], "mean": mean, "pooled": pooled}
