"""Our metrics against scikit-learn on fixed arrays, and the patient bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from core.evaluate.scores import _WeightedScorer, binary_metrics, bootstrap_ci, curves, operating_point, summarise

Y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1])
P = np.array([0.1, 0.6, 0.8, 0.4, 0.2, 0.9, 0.3, 0.7, 0.55, 0.45, 0.05, 0.35])
G = np.array(["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "f", "f"])


def test_metrics_match_sklearn():
    m = binary_metrics(Y, P)
    pred = (P >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(Y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(Y, pred))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(Y, P))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(Y, pred))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(Y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(Y, pred, pos_label=0))
    assert m["precision"] == pytest.approx(skm.precision_score(Y, pred))


def test_bootstrap_interval_contains_estimate_and_is_reproducible():
    ci = bootstrap_ci(Y, P, G, n_boot=300, seed=3)
    assert ci == bootstrap_ci(Y, P, G, n_boot=300, seed=3)
    m = binary_metrics(Y, P)
    for k in ("accuracy", "auc", "f1"):
        lo, hi = ci[k]
        assert lo <= m[k] <= hi and lo < hi


def test_bootstrap_resamples_patients_not_images():
    # two patients, each all-correct or all-wrong: a patient bootstrap can only give 0, 0.5 or 1
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    g = np.array(["x", "x", "x", "y", "y", "y"])
    ci = bootstrap_ci(y, p, g, n_boot=200, seed=0)
    assert set(np.round(ci["accuracy"], 6)) <= {0.0, 0.5, 1.0}


def test_weighted_scoring_equals_scoring_the_resampled_images():
    """A bootstrap sample scored as weights gives what scikit-learn gives on the repeated images."""
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.3).astype(int)
    p = np.round(rng.random(400) * 0.6 + 0.4 * y * rng.random(400), 2)  # many ties
    groups = rng.integers(0, 25, 400)
    score = _WeightedScorer(y, p, 0.5)
    for trial in range(40):
        weights = np.bincount(rng.integers(0, 25, 25), minlength=25)[groups]
        if trial == 0:
            weights = (y == 0).astype(int)  # one class only: AUC and sensitivity undefined
        idx = np.repeat(np.arange(400), weights)
        with np.errstate(all="ignore"):
            want = binary_metrics(y[idx], p[idx])
            got = score(weights.astype(float))
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-12, nan_ok=True), (trial, k)


def test_curves_and_summary():
    c = curves(Y, P)
    assert c.roc["fpr"][0] == 0 and c.roc["tpr"][-1] == 1
    assert sum(c.calibration["count"]) == len(Y)
    s = summarise(Y, P, G, n_boot=100)
    assert s["n"] == 12 and s["n_patients"] == 6 and s["n_positive"] == 6
    assert set(s["ci"]) >= {"auc", "f1", "accuracy", "balanced_accuracy", "sensitivity", "specificity"}
    conf = s["confusion"]
    assert conf["tp"] + conf["fn"] == 6 and conf["tn"] + conf["fp"] == 6


def test_operating_point():
    op = operating_point(tn=8, fp=2, fn=1, tp=4)
    assert op == {"sensitivity": 0.8, "specificity": 0.8, "ppv": 4 / 6, "npv": 8 / 9}
