"""Whole-slide results and complete-slide detection."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score, roc_auc_score

from core.data.histo import complete_patients, find_patches, slide_grid
from core.evaluate.slides import per_slide, slide_summary


def _arrays():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.array(["a", "b", "c"]), [40, 60, 30])
    y = (rng.random(len(groups)) < 0.4).astype(int)
    p = np.clip(0.35 * y + rng.random(len(groups)) * 0.7, 0, 1)
    return y, p, groups


def test_per_slide_metrics_match_scikit_learn():
    y, p, groups = _arrays()
    rows = {r.patient: r for r in per_slide(y, p, groups, ["a", "b", "c", "absent"])}
    assert set(rows) == {"a", "b", "c"}
    for pid, r in rows.items():
        sel = groups == pid
        pred = (p[sel] >= 0.5).astype(int)
        assert r.n == sel.sum() and r.n_positive == y[sel].sum()
        assert r.auc == pytest.approx(roc_auc_score(y[sel], p[sel]), abs=1e-4)
        assert r.balanced_accuracy == pytest.approx(balanced_accuracy_score(y[sel], pred), abs=1e-4)
        assert r.f1 == pytest.approx(f1_score(y[sel], pred), abs=1e-4)
        assert r.sensitivity == pytest.approx(recall_score(y[sel], pred), abs=1e-4)
        assert r.specificity == pytest.approx(recall_score(1 - y[sel], 1 - pred), abs=1e-4)


def test_mean_is_over_slides_and_pooled_is_over_their_patches():
    y, p, groups = _arrays()
    s = slide_summary(y, p, groups, ["a", "c"])
    assert [r["patient"] for r in s["slides"]] == ["a", "c"]
    assert s["mean"]["auc"] == pytest.approx(np.mean([r["auc"] for r in s["slides"]]), abs=1e-4)
    sel = np.isin(groups, ["a", "c"])
    assert s["pooled"]["n"] == sel.sum()
    assert s["pooled"]["auc"] == pytest.approx(roc_auc_score(y[sel], p[sel]), abs=1e-4)


def test_a_slide_of_one_class_has_no_auc():
    y = np.array([1, 1, 1, 0])
    rows = per_slide(y, np.array([0.9, 0.2, 0.7, 0.1]), np.array(["s", "s", "s", "t"]), ["s"])
    assert rows[0].auc is None and rows[0].specificity is None and rows[0].sensitivity == pytest.approx(2 / 3, abs=1e-4)


def test_grid_density_separates_a_whole_slide_from_a_sample():
    rng = np.random.default_rng(0)
    full = {(x, y) for x in range(1, 2001, 50) for y in range(1, 1501, 50)}
    assert slide_grid("full", full).complete
    sample = {c for c in full if rng.random() < 0.09}
    assert not slide_grid("sample", sample).complete
    holed = {c for c in full if rng.random() < 0.9}  # a tenth of the patches missing inside the tissue
    assert not slide_grid("holed", holed).complete


def _provenance_kinds(histo_dir) -> dict[str, str]:
    """Patient → 'complete' or 'sampled', from the data set's own PROVENANCE.md table."""
    text = (histo_dir.parent / "PROVENANCE.md").read_text()
    return dict(re.findall(r"^\| (\d+) \| (complete|sampled) \|", text, flags=re.M))


def test_complete_slides_are_told_from_the_real_patch_grid(histo_dir):
    kinds = _provenance_kinds(histo_dir)
    found = set(complete_patients(find_patches(histo_dir)))
    listed = {p for p, k in kinds.items() if k == "complete"}
    assert listed and listed <= found  # every slide the carrier lists as complete is found complete
    # a dense grid is rare among the ~9% samples: at most a few of them look whole
    assert len(found - listed) <= 0.02 * len(kinds)
