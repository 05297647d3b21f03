"""What the Compare page says of each method (core.explain.compare): summary and sanity check."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain.compare import jsonable, run_sanity, summarise_methods
from core.modality import HISTO


def test_sanity_runs_the_randomisation_cascade_per_method():
    from core.model.classifier import Classifier
    from core.model.network import build_model

    clf = Classifier(build_model(HISTO, seed=1), HISTO)
    x = np.random.default_rng(0).random((1, 50, 50, 3)).astype(np.float32)
    out = run_sanity(clf, x, ["gradcam", "saliency"], seed=0)
    for m in ("gradcam", "saliency"):
        s = out[m]
        assert s["layers"][0] == "logits" and len(s["spearman"]) == len(s["layers"])
        assert isinstance(s["passed"], bool) and s["images"] == 1
    assert run_sanity(clf, x[:0], ["gradcam"]) == {}


def test_jsonable_rounds_and_drops_nan():
    assert jsonable({"a": np.float32(0.123456789), "b": [np.nan, np.int64(3)], "c": np.ones(2)}) == {
        "a": 0.12346,
        "b": [None, 3],
        "c": [1.0, 1.0],
    }


def test_method_summary_says_whether_a_method_beats_the_random_map():
    per = {
        "good": {
            "deletion_auc": [0.2, 0.3],
            "random_deletion_auc": [0.5, 0.5],
            "insertion_auc": [0.8, 0.7],
            "random_insertion_auc": [0.5, 0.5],
            "seconds": [0.1, 0.3],
        },
        "bad": {
            "deletion_auc": [0.6, 0.7],
            "random_deletion_auc": [0.5, 0.5],
            "insertion_auc": [0.4, None],
            "random_insertion_auc": [0.5, 0.5],
            "seconds": [0.2],
        },
    }
    good, bad = summarise_methods(per)
    assert good.beats_random_deletion and good.beats_random_insertion
    assert good.median_seconds == pytest.approx(0.2) and good.mean_deletion_auc == pytest.approx(0.25)
    assert bad.beats_random_deletion is False and bad.beats_random_insertion is False
    assert bad.mean_insertion_auc == pytest.approx(0.4)  # missing scores are left out, not counted as zero
