"""Plain-word verdicts against the random map, on hand-built scores with known answers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.explain.metrics.verdict import FAITHFUL, MARGIN, NO_BETTER, WORSE, case_summary, hot_cell, verdict


def test_verdict_follows_the_mean_gain_over_the_random_map():
    assert verdict(0.20, 0.80, 0.50, 0.50).label == FAITHFUL
    assert verdict(0.930, 0.50, 0.928, 0.50).label == NO_BETTER  # the "0.930 vs 0.928"
    assert verdict(0.978, 0.40, 0.928, 0.50).label == WORSE
    edge = verdict(0.50 - MARGIN, 0.50 + MARGIN, 0.50, 0.50)
    assert edge.label == FAITHFUL and abs(edge.gain - MARGIN) < 1e-12
    assert "worse" in verdict(0.978, 0.40, 0.928, 0.50).sentence


@dataclass(frozen=True)
class _Explanation:
    heatmap: np.ndarray


@dataclass(frozen=True)
class _Result:
    explanation: _Explanation
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float = 0.5
    random_insertion_auc: float = 0.5


def _map(y: slice, x: slice) -> np.ndarray:
    m = np.zeros((50, 50), np.float32)
    m[y, x] = 1.0
    return m


def test_hot_cell_names_the_grid_cell_in_words():
    assert hot_cell(_map(slice(40, 50), slice(0, 10))) == "the lower left"
    assert hot_cell(_map(slice(20, 30), slice(20, 30))) == "the centre"
    assert hot_cell(_map(slice(0, 5), slice(45, 50))) == "the upper right"


def test_case_summary_counts_verdicts_and_says_where_faithful_maps_agree():
    lower_left = _Explanation(_map(slice(36, 50), slice(0, 14)))
    results = {
        "a": _Result(lower_left, 0.2, 0.8),
        "b": _Result(lower_left, 0.3, 0.7),
        "c": _Result(_Explanation(_map(slice(0, 10), slice(40, 50))), 0.25, 0.75),
        "d": _Result(lower_left, 0.7, 0.3),
    }
    text = case_summary(results, {"d": "Saliency"})
    assert text.startswith("3 of 4 methods beat the random map")
    assert "2 of them agree on the lower left" in text
    assert "Worse than random: Saliency" in text


def test_case_summary_when_nothing_beats_chance():
    flat = _Explanation(np.zeros((50, 50), np.float32))
    text = case_summary({"a": _Result(flat, 0.5, 0.5)})
    assert text.startswith("0 of 1 method beat") and "better than chance" in text
