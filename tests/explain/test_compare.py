"""The method comparison behind the Compare page (core.explain.compare)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import DataError
from core.explain.compare import _pick, compare, main, test_images
from core.modality import HISTO

test_images.__test__ = False  # a function under test, not a pytest test


def test_pick_balances_classes_and_is_seeded():
    labels = np.array([0] * 30 + [1] * 5)
    idx = _pick(labels, 10, seed=3)
    assert len(idx) == 10 and len(set(idx.tolist())) == 10
    assert labels[idx].sum() == 5  # every positive, then negatives fill up
    assert np.array_equal(idx, _pick(labels, 10, seed=3))
    even = np.array([0] * 10 + [1] * 10)
    assert even[_pick(even, 6, 0)].sum() == 3
    assert len(_pick(labels, 100, 0)) == 35


def test_images_come_only_from_the_cards_test_patients(histo_dir):
    patients = sorted(p.name for p in histo_dir.iterdir() if p.is_dir())[:2]
    card = {"split": {"patients": {"test": patients}}}
    x, y, ids, boxes = test_images("histo", histo_dir, card, n=6, seed=0)
    assert boxes is None  # histopathology patches carry no lesion box
    assert x.shape == (6, 50, 50, 3) and x.dtype == np.float32
    assert all(i.split("_")[0] in patients for i in ids)
    assert set(y.tolist()) <= {0, 1}
    with pytest.raises(DataError):
        test_images("histo", histo_dir, {"split": {"patients": {"test": ["no-such-patient"]}}}, n=2)


def test_compare_collects_scores_agreement_and_sanity():
    from core.model.classifier import Classifier
    from core.model.network import build_model

    clf = Classifier(build_model(HISTO, seed=1), HISTO)
    x = np.random.default_rng(0).random((2, 50, 50, 3)).astype(np.float32)
    out = compare(clf, x, ["a", "b"], ["gradcam", "saliency"], seed=0, sanity_images=1)
    for m in ("gradcam", "saliency"):
        rec = out["per_method"][m]
        assert len(rec["deletion_auc"]) == len(rec["insertion_auc"]) == len(rec["seconds"]) == 2
        assert all(0.0 <= v <= 1.0 for v in rec["deletion_auc"] + rec["insertion_auc"])
        s = out["sanity"][m]
        assert s["layers"][0] == "logits" and len(s["spearman"]) == len(s["layers"])
        assert isinstance(s["passed"], bool)
    assert np.asarray(out["agreement"]["spearman_mean"]).shape == (2, 2)
    assert [p["id"] for p in out["predictions"]] == ["a", "b"]


@pytest.mark.slow
def test_cli_writes_the_pages_json(mammo_weights, cbis_films_dir, tmp_path):
    out = tmp_path / "mammo.compare.json"
    rc = main(
        [
            "--modality",
            "mammo",
            "--data",
            str(cbis_films_dir),
            "--n",
            "2",
            "--methods",
            "gradcam,ig",
            "--sanity-images",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    data = json.loads(out.read_text())
    card = json.loads(mammo_weights.with_suffix(".json").read_text())
    assert data["weights_sha256"] == card["weights"]["sha256"]
    # CBIS-DDSM lesions carry their box: every map is also scored on localisation
    assert {"relevance_mass", "pointing_hit"} <= set(data["per_method"]["gradcam"])
    assert data["methods"] == ["gradcam", "ig"] and data["n_images"] == 2
    assert data["labels"] == {"gradcam": "Grad-CAM", "ig": "Integrated Gradients"}
    assert len(data["per_method"]["ig"]["insertion_auc"]) == 2
    assert data["sanity"]["gradcam"]["images"] == 1


def test_cli_reports_an_unknown_method(mammo_weights, mammo_dir, capsys):
    assert main(["--modality", "mammo", "--data", str(mammo_dir), "--methods", "magic"]) == 2
    assert "unknown explanation method" in capsys.readouterr().err


def test_method_summary_says_whether_a_method_beats_the_random_map():
    from core.explain.compare import summarise_methods

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
