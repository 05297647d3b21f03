"""Classification metrics with patient-resampled bootstrap intervals, and curve points."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn import metrics as skm

from core.modality import DECISION_THRESHOLD

METRIC_NAMES = (
    "accuracy",
    "f1",
    "auc",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
    "precision",
)


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) for binary labels."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    tn = int(np.sum((y_true == 0) & (y_pred == 0)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    return tn, fp, fn, tp


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def operating_point(tn: int, fp: int, fn: int, tp: int) -> dict[str, float]:
    """Sensitivity, specificity, PPV and NPV from a confusion matrix (NaN when undefined)."""
    return {
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
    }


def _from_counts(tn: float, fp: float, fn: float, tp: float, auc: float) -> dict[str, float]:
    sens = _ratio(tp, tp + fn)
    spec = _ratio(tn, tn + fp)
    return {
        "accuracy": _ratio(tp + tn, tn + fp + fn + tp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "auc": auc,
        "balanced_accuracy": float(np.nanmean([sens, spec]))
        if not (np.isnan(sens) and np.isnan(spec))
        else float("nan"),
        "sensitivity": sens,
        "specificity": spec,
        "precision": _ratio(tp, tp + fp),
    }


def binary_metrics(
    y_true: np.ndarray, p_positive: np.ndarray, threshold: float = DECISION_THRESHOLD
) -> dict[str, float]:
    """Accuracy, F1, AUC, balanced accuracy, sensitivity, specificity and precision."""
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_positive, dtype=float)
    y_pred = (p >= threshold).astype(int)
    auc = float(skm.roc_auc_score(y_true, p)) if len(set(y_true.tolist())) == 2 else float("nan")
    return _from_counts(*confusion(y_true, y_pred), auc)


class _WeightedScorer:
    """Every metric of :func:`binary_metrics` for a multiset of the same images.

    A patient bootstrap sample holds each image 0, 1, 2, … times; scoring it as weights on
    the original images, sorted once, gives the same numbers as scoring the concatenated
    sample (the AUC as the Mann–Whitney statistic, ties counted as half), in O(n) per sample
    instead of a sort and scikit-learn's checks.
    """

    def __init__(self, y_true: np.ndarray, p: np.ndarray, threshold: float):
        order = np.argsort(p, kind="stable")
        self.order = order
        self.pos = y_true[order] == 1
        self.pred = p[order] >= threshold
        sorted_p = p[order]
        self.tie = np.concatenate([[0], np.cumsum(sorted_p[1:] != sorted_p[:-1])])
        self.n_ties = int(self.tie[-1]) + 1 if len(p) else 0

    def __call__(self, weights: np.ndarray) -> dict[str, float]:
        w = weights[self.order]
        wp, wn = np.where(self.pos, w, 0.0), np.where(self.pos, 0.0, w)
        tp, fn = wp[self.pred].sum(), wp[~self.pred].sum()
        fp, tn = wn[self.pred].sum(), wn[~self.pred].sum()
        n_pos, n_neg = tp + fn, fp + tn
        auc = float("nan")
        if n_pos > 0 and n_neg > 0:
            pos_t = np.bincount(self.tie, wp, self.n_ties)
            neg_t = np.bincount(self.tie, wn, self.n_ties)
            below = np.cumsum(neg_t) - neg_t  # negatives scored strictly lower
            auc = float(np.dot(pos_t, below + 0.5 * neg_t) / (n_pos * n_neg))
        return _from_counts(tn, fp, fn, tp, auc)


def bootstrap_ci(
    y_true: np.ndarray,
    p_positive: np.ndarray,
    groups: np.ndarray,
    n_boot: int = 1000,
    seed: int = 42,
    threshold: float = DECISION_THRESHOLD,
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals, resampling whole patients (``groups``) with replacement.

    Patches of one patient are correlated; resampling patches would make the intervals
    far too narrow.
    """
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_positive, dtype=float)
    groups = np.asarray(groups)
    uniq, inverse = np.unique(groups, return_inverse=True)
    score = _WeightedScorer(y_true, p, threshold)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {k: [] for k in METRIC_NAMES}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        weights = np.bincount(pick, minlength=len(uniq)).astype(float)[inverse]
        with np.errstate(all="ignore"):
            m = score(weights)
        for k in METRIC_NAMES:
            samples[k].append(m[k])
    out = {}
    for k, vals in samples.items():
        arr = np.asarray(vals, float)
        arr = arr[~np.isnan(arr)]
        out[k] = (
            (float(np.percentile(arr, 2.5)), float(np.percentile(arr, 97.5)))
            if len(arr)
            else (float("nan"), float("nan"))
        )
    return out


@dataclass(frozen=True)
class Curves:
    roc: dict  # fpr, tpr, thresholds
    pr: dict  # recall, precision, thresholds
    calibration: dict  # mean_predicted, fraction_positive, count

    def to_dict(self) -> dict:
        return asdict(self)


def _thin(*arrays: np.ndarray, max_points: int = 400) -> list[list[float]]:
    n = len(arrays[0])
    idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int)) if n else np.array([], int)
    return [[round(float(v), 5) for v in np.asarray(a)[idx]] for a in arrays]


def curves(y_true: np.ndarray, p_positive: np.ndarray, bins: int = 10) -> Curves:
    """ROC, precision–recall and calibration (reliability) curve points."""
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_positive, dtype=float)
    fpr, tpr, thr = skm.roc_curve(y_true, p)
    thr = np.where(np.isfinite(thr), thr, 1.0)
    fpr, tpr, thr = _thin(fpr, tpr, thr)
    prec, rec, pthr = skm.precision_recall_curve(y_true, p)
    rec, prec, pthr = _thin(rec[:-1], prec[:-1], pthr)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    mean_pred, frac_pos, count = [], [], []
    for b in range(bins):
        sel = which == b
        if sel.any():
            mean_pred.append(round(float(p[sel].mean()), 5))
            frac_pos.append(round(float(y_true[sel].mean()), 5))
            count.append(int(sel.sum()))
    return Curves(
        roc={"fpr": fpr, "tpr": tpr, "thresholds": thr},
        pr={"recall": rec, "precision": prec, "thresholds": pthr},
        calibration={"mean_predicted": mean_pred, "fraction_positive": frac_pos, "count": count},
    )


def brier_score(y_true: np.ndarray, p_positive: np.ndarray) -> float:
    return float(np.mean((np.asarray(p_positive, float) - np.asarray(y_true, float)) ** 2))


def summarise(y_true, p_positive, groups, n_boot: int = 1000, seed: int = 42) -> dict:
    """Metrics, their intervals and the counts, as stored in cards and printed by the CLIs."""
    y_true = np.asarray(y_true).astype(int)
    m = binary_metrics(y_true, p_positive)
    tn, fp, fn, tp = confusion(y_true, np.asarray(p_positive) >= DECISION_THRESHOLD)
    return {
        "n": int(len(y_true)),
        "n_patients": int(len(np.unique(groups))),
        "n_positive": int(y_true.sum()),
        **{k: round(v, 4) for k, v in m.items()},
        "brier": round(brier_score(y_true, p_positive), 4),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "ci": {
            k: [round(a, 4), round(b, 4)]
            for k, (a, b) in bootstrap_ci(y_true, p_positive, groups, n_boot, seed).items()
        },
    }
